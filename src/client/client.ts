// The typed client of the JSON gateway: one method per API call, over keep-alive HTTP, failing over between
// endpoints as etcd's clientv3 does. A request goes to the next endpoint when the current one cannot be reached
// (nothing was sent) or answers that it cannot serve (no leader, stopping, unhealthy, leader changed: nothing
// was applied). A write whose outcome is unknown (sent, then the connection or the time ran out) is never sent
// again, since a retried put could apply twice: it fails with ErrTimeout. Reads have no such risk and move on.

import { HEALTH_PATH, METHOD_PATHS, type Method, type Requests, type Responses } from '../protocol/api.js';
import type { HealthResponse } from '../protocol/cluster.js';
import { ConclaveError, type ErrorCode } from '../protocol/errors.js';
import { decodeError, decodeHealth, decodeResponse, encodeRequest, parseJsonBody } from '../protocol/json.js';
import type { RangeRequest, RequestOp, ResponseHeader, TxnRequest } from '../protocol/kv.js';
import { clientLimits } from '../limits.js';
import { Agents, attempt, type Attempt } from './http.js';
import { keyRange, toBytes, type Bytes, type RangeShape } from './keys.js';
import { KeptLease } from './lease.js';
import { watchStream, type WatchBatch, type WatchOptions } from './watch.js';

export interface ClientOptions {
  /** Client URLs of members (http or https, no path); requests start at the one that last worked. */
  readonly endpoints: readonly string[];
  /** Time one request may take on one endpoint (clientLimits.requestTimeoutMs by default). */
  readonly requestTimeoutMs?: number;
  /** Time to connect to one endpoint (clientLimits.dialTimeoutMs by default). */
  readonly dialTimeoutMs?: number;
  /** Largest response body read (clientLimits.maxResponseBytes by default). */
  readonly maxResponseBytes?: number;
}

export interface CallOptions {
  /** Send to this endpoint only, with no failover (it need not be one of the client's endpoints). */
  readonly endpoint?: string;
}

export interface Result<M extends Method> {
  readonly header: ResponseHeader;
  readonly response: Responses[M];
}

export type GetOptions = RangeShape & Omit<RangeRequest, 'key' | 'rangeEnd'>;
export interface PutOptions {
  readonly lease?: number;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}
export type DeleteOptions = RangeShape & { readonly prevKv?: boolean };

/** Errors by which a member says it did not act on the request and another member may. */
const REFUSED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ErrNoLeader', 'ErrStopped', 'ErrUnhealthy', 'ErrLeaderChanged']);

function isReadOnlyOp(op: RequestOp): boolean {
  if ('requestRange' in op) return true;
  if ('requestTxn' in op) return isReadOnlyTxn(op.requestTxn);
  return false;
}

function isReadOnlyTxn(txn: TxnRequest): boolean {
  return txn.success.every(isReadOnlyOp) && txn.failure.every(isReadOnlyOp);
}

/** Requests that change nothing, so that sending one twice is harmless. */
export function isReadOnly<M extends Method>(method: M, request: Requests[M]): boolean {
  switch (method) {
    case 'range':
    case 'status':
    case 'memberList':
    // Renewing a lease twice is renewing it once.
    case 'leaseKeepAlive':
    case 'leaseTimeToLive':
    case 'leaseLeases':
      return true;
    case 'txn':
      return isReadOnlyTxn(request as TxnRequest);
    default:
      return false;
  }
}

function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConclaveError('ErrInvalidField', `endpoint "${endpoint}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConclaveError('ErrInvalidField', `endpoint "${endpoint}" is not http or https`);
  return `${url.protocol}//${url.host}`;
}

interface Exchange {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly readOnly: boolean;
  readonly endpoint?: string;
  /** What the request is, for error details. */
  readonly what: string;
  /** Statuses whose body is the answer rather than an error. */
  readonly accept: (status: number) => boolean;
}

export class Client {
  readonly endpoints: readonly string[];
  readonly #agents = new Agents();
  readonly #requestTimeoutMs: number;
  readonly #dialTimeoutMs: number;
  readonly #maxResponseBytes: number;
  /** Index in `endpoints` of the one that last answered. */
  #current = 0;

  constructor(options: ClientOptions) {
    if (options.endpoints.length === 0) throw new ConclaveError('ErrInvalidField', 'a client needs at least one endpoint');
    this.endpoints = [...new Set(options.endpoints.map(normalizeEndpoint))];
    this.#requestTimeoutMs = options.requestTimeoutMs ?? clientLimits.requestTimeoutMs;
    this.#dialTimeoutMs = options.dialTimeoutMs ?? clientLimits.dialTimeoutMs;
    this.#maxResponseBytes = options.maxResponseBytes ?? clientLimits.maxResponseBytes;
  }

  /** The endpoint requests go to first: the one that last answered. */
  get currentEndpoint(): string {
    return this.endpoints[this.#current] ?? this.endpoints[0] ?? '';
  }

  async call<M extends Method>(method: M, request: Requests[M], options: CallOptions = {}): Promise<Result<M>> {
    const body = await this.#exchange({
      method: 'POST',
      path: METHOD_PATHS[method],
      body: JSON.stringify(encodeRequest(method, request)),
      readOnly: isReadOnly(method, request),
      endpoint: options.endpoint,
      what: method,
      accept: (status) => status === 200,
    });
    return decodeResponse(method, body.value);
  }

  get(key: Bytes, options: GetOptions = {}): Promise<Result<'range'>> {
    const { rangeEnd, prefix, fromKey, ...rest } = options;
    return this.range({ ...rest, ...keyRange(key, { rangeEnd, prefix, fromKey }) });
  }

  range(request: RangeRequest): Promise<Result<'range'>> {
    return this.call('range', request);
  }

  put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<Result<'put'>> {
    return this.call('put', { key: toBytes(key), value: toBytes(value), ...options });
  }

  delete(key: Bytes, options: DeleteOptions = {}): Promise<Result<'deleteRange'>> {
    const { prevKv, ...shape } = options;
    return this.call('deleteRange', { ...keyRange(key, shape), prevKv });
  }

  txn(request: TxnRequest): Promise<Result<'txn'>> {
    return this.call('txn', request);
  }

  compact(revision: number, physical = false): Promise<Result<'compact'>> {
    return this.call('compact', { revision, physical });
  }

  memberList(): Promise<Result<'memberList'>> {
    return this.call('memberList', { linearizable: true });
  }

  memberAdd(peerUrls: readonly string[], isLearner = false): Promise<Result<'memberAdd'>> {
    return this.call('memberAdd', { peerUrls, isLearner });
  }

  memberRemove(id: string): Promise<Result<'memberRemove'>> {
    return this.call('memberRemove', { id });
  }

  memberPromote(id: string): Promise<Result<'memberPromote'>> {
    return this.call('memberPromote', { id });
  }

  /** Grants a lease of `ttlSeconds` (raised to the cluster's minimum); `id` 0 lets the cluster choose it. */
  leaseGrant(ttlSeconds: number, id = 0): Promise<Result<'leaseGrant'>> {
    return this.call('leaseGrant', id === 0 ? { ttl: ttlSeconds } : { ttl: ttlSeconds, id });
  }

  /** Revokes a lease: its keys are deleted, in one revision. */
  leaseRevoke(id: number): Promise<Result<'leaseRevoke'>> {
    return this.call('leaseRevoke', { id });
  }

  /** Renews a lease once; the answer's TTL is 0 when the lease does not exist. */
  leaseKeepAliveOnce(id: number): Promise<Result<'leaseKeepAlive'>> {
    return this.call('leaseKeepAlive', { id });
  }

  /** Seconds a lease has left (-1 when it does not exist), and its keys with `keys`. */
  leaseTimeToLive(id: number, keys = false): Promise<Result<'leaseTimeToLive'>> {
    return this.call('leaseTimeToLive', keys ? { id, keys } : { id });
  }

  leaseLeases(): Promise<Result<'leaseLeases'>> {
    return this.call('leaseLeases', {});
  }

  /**
   * Grants a lease and keeps it alive (a renewal every TTL/3) until close() or revoke(); it emits `lost` once it
   * is gone or can no longer be known to live (see lease.ts).
   */
  async lease(ttlSeconds: number, options: { id?: number } = {}): Promise<KeptLease> {
    const sentAt = performance.now();
    const { response } = await this.leaseGrant(ttlSeconds, options.id ?? 0);
    return new KeptLease(response.id, response.ttl, {
      keepAliveOnce: async (id) => (await this.leaseKeepAliveOnce(id)).response.ttl,
      revoke: (id) => this.leaseRevoke(id),
    }, sentAt);
  }

  /** The status of one member, asked of that member only. */
  status(endpoint: string): Promise<Result<'status'>> {
    return this.call('status', {}, { endpoint });
  }

  /** GET /health of one member (etcd answers 503 with the same body when unhealthy). */
  async health(endpoint: string): Promise<HealthResponse> {
    const body = await this.#exchange({
      method: 'GET',
      path: HEALTH_PATH,
      readOnly: true,
      endpoint,
      what: 'health check',
      accept: (status) => status === 200 || status === 503,
    });
    try {
      return decodeHealth(body.value);
    } catch (error) {
      // A 503 that is not a health body is an ordinary error answer.
      if (body.status === 503) throw decodeError(body.status, body.value);
      throw error;
    }
  }

  /**
   * Watches a key, a range or a prefix: an async iterator of each revision's events, resuming on another endpoint
   * from the next revision when a stream breaks (see watch.ts). Break out of the loop, or abort `signal`, to end it.
   */
  watch(key: Bytes, options: WatchOptions = {}): AsyncGenerator<WatchBatch> {
    return watchStream({ endpoints: () => this.#rotation(), dialTimeoutMs: this.#dialTimeoutMs }, key, options);
  }

  close(): void {
    this.#agents.destroy();
  }

  /** Endpoints in the order to try them: the current one first, then the others in their given order. */
  #rotation(): string[] {
    const start = this.#current;
    return this.endpoints.map((_, i) => this.endpoints[(start + i) % this.endpoints.length] ?? '');
  }

  #remember(endpoint: string): void {
    const index = this.endpoints.indexOf(endpoint);
    if (index >= 0) this.#current = index;
  }

  async #exchange(exchange: Exchange): Promise<{ status: number; value: unknown }> {
    const order = exchange.endpoint === undefined ? this.#rotation() : [normalizeEndpoint(exchange.endpoint)];
    const failures: string[] = [];
    let refusal: ConclaveError | undefined;
    for (const endpoint of order) {
      const outcome: Attempt = await attempt(this.#agents, endpoint, {
        method: exchange.method,
        path: exchange.path,
        body: exchange.body,
        requestTimeoutMs: this.#requestTimeoutMs,
        dialTimeoutMs: this.#dialTimeoutMs,
        maxResponseBytes: this.#maxResponseBytes,
      });
      switch (outcome.kind) {
        case 'unreachable':
          failures.push(`${endpoint} (${outcome.reason})`);
          continue;
        case 'lost':
          if (!exchange.readOnly) {
            throw new ConclaveError('ErrTimeout', `${exchange.what} sent to ${endpoint}: ${outcome.reason}; it may or may not have been applied, so it was not sent again`);
          }
          failures.push(`${endpoint} (${outcome.reason})`);
          continue;
        case 'tooLarge':
          throw new ConclaveError('ErrResponseTooLarge', `${exchange.what} from ${endpoint}: ${outcome.reason}`);
        case 'answered':
          break;
      }
      const value = parseAnswer(outcome.status, outcome.text);
      if (exchange.accept(outcome.status) && value.ok) {
        this.#remember(endpoint);
        return { status: outcome.status, value: value.body };
      }
      const error = value.ok ? decodeError(outcome.status, value.body) : value.error;
      if (REFUSED.has(error.code) || (exchange.readOnly && error.code === 'ErrTimeout')) {
        refusal = error;
        failures.push(`${endpoint} (${error.message})`);
        continue;
      }
      // A definite answer, even an error: this endpoint works.
      this.#remember(endpoint);
      throw error;
    }
    // Members that answered but could not serve say more than ones that could not be reached.
    if (refusal !== undefined) throw refusal;
    throw new ConclaveError('ErrUnreachable', failures.join(', '));
  }
}

type Parsed = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly error: ConclaveError };

function parseAnswer(status: number, text: string): Parsed {
  try {
    return { ok: true, body: parseJsonBody(text) };
  } catch (error) {
    if (status === 200 && error instanceof ConclaveError) return { ok: false, error };
    // An error status with a body that is not JSON (a proxy's page, say): decodeError reads the text.
    return { ok: true, body: text };
  }
}
