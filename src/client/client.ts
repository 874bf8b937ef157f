// The typed client of the JSON gateway: one method per API call, over keep-alive HTTP, failing over between
// endpoints as etcd's clientv3 does, and (with `discover`, which connect() turns on) learning the members from the
// endpoints it was given and sending writes and linearizable reads to the leader (routing.ts).
//
// A request goes to the next endpoint when the current one cannot be reached (nothing was sent) or answers that it
// cannot serve (no leader, stopping, unhealthy, leader changed: nothing was applied). Reads have no risk in being
// sent again and move on after a timeout too. A key-value write carries a request ID of the client's; when its
// outcome is unknown (sent, then the connection or the time ran out) it is sent again, with the same ID, to the next
// endpoint, up to clientLimits.maxWriteRetries times: the state machine deduplicates the ID (src/state/dedup.ts), so
// it applies at most once. Other writes (membership changes) carry no ID and are never sent twice: ErrTimeout.
// Every call takes an AbortSignal and a deadline; an aborted call fails with ErrCanceled, and says whether a write
// may have been applied.

import { HEALTH_PATH, METHOD_PATHS, WAITING_METHODS, type Method, type Requests, type Responses } from '../protocol/api.js';
import type { HealthResponse, Member } from '../protocol/cluster.js';
import { ConclaveError, type ErrorCode } from '../protocol/errors.js';
import { decodeError, decodeHealth, decodeResponse, encodeRequest, parseJsonBody } from '../protocol/json.js';
import type { KeyValue, RangeRequest, RequestOp, ResponseHeader, TxnRequest } from '../protocol/kv.js';
import { REQUEST_ID_HEADER, RETRY_SINCE_HEADER, type ClientRequest } from '../protocol/request-id.js';
import { clientLimits } from '../limits.js';
import { Agents, attempt, type Attempt } from './http.js';
import { keyRange, toBytes, type Bytes, type RangeShape } from './keys.js';
import { KeptLease } from './lease.js';
import { acquireLock, campaign, observeElection, type HeldLock, type Leadership, type RecipeOptions } from './recipes.js';
import { serviceRange } from '../protocol/registry-record.js';
import { registryEventsOf, type RegistryBatch } from './registry.js';
import { Router, type Topology } from './routing.js';
import { TxnBuilder } from './txn.js';
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
  /**
   * Learn the other members from the member list and send writes and linearizable reads to the leader (default:
   * false for `new Client`, which talks to the endpoints given as etcdctl does; true for connect()).
   */
  readonly discover?: boolean;
  /** Times a write whose outcome is unknown is sent again with its request ID (clientLimits.maxWriteRetries). */
  readonly maxWriteRetries?: number;
}

/** What every call takes besides its request. */
export interface CallOptions {
  /** Send to this endpoint only, with no failover (it need not be one of the client's endpoints). */
  readonly endpoint?: string;
  /** Aborting it ends the call: ErrCanceled (a write already sent may have been applied: the error says so). */
  readonly signal?: AbortSignal;
  /** Deadline of the whole call, retries included: ErrTimeout when it passes. */
  readonly timeoutMs?: number;
}

export interface Result<M extends Method> {
  readonly header: ResponseHeader;
  readonly response: Responses[M];
}

type Signals = Pick<CallOptions, 'signal' | 'timeoutMs'>;
export type GetOptions = RangeShape & Omit<RangeRequest, 'key' | 'rangeEnd'> & Signals;
export interface PutOptions extends Signals {
  readonly lease?: number;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}
export type DeleteOptions = RangeShape & { readonly prevKv?: boolean } & Signals;

/** Errors by which a member says it did not act on the request and another member may. */
const REFUSED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ErrNoLeader', 'ErrStopped', 'ErrUnhealthy', 'ErrLeaderChanged']);

/** Methods whose request the state machine deduplicates by the client's request ID. */
const DEDUPLICATED: ReadonlySet<Method> = new Set<Method>(['put', 'deleteRange', 'txn', 'compact', 'putSequential', 'registryRegister', 'registryDeregister', 'workerAllocate', 'workerRelease', 'segmentReserve']);

/**
 * Writes that are harmless to send again, so that a lost one goes to the next endpoint: a lock or campaign finds
 * the waiter key of its lease (one per lease and name), an unlock deletes a key that is never created again,
 * proclaim and resign are guarded by the leader's create revision, and renewing a lease twice is renewing it once.
 * A keepalive is not a read, though: one lost on a member that stalls is applied when the member resumes, seconds
 * later, so its outcome is unknown, never "not sent" (a registry soak recorded such renewals as not sent).
 */
const RESENDABLE: ReadonlySet<Method> = new Set<Method>(['lock', 'unlock', 'campaign', 'proclaim', 'resign', 'leaseKeepAlive']);


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
    case 'leaseTimeToLive':
    case 'leaseLeases':
    case 'leader':
    case 'observe':
    case 'registryList':
      return true;
    case 'txn':
      return isReadOnlyTxn(request as TxnRequest);
    default:
      return false;
  }
}

/** Requests the leader serves without forwarding: writes and linearizable reads. */
function prefersLeader<M extends Method>(method: M, request: Requests[M]): boolean {
  if (method === 'range') return (request as RangeRequest).serializable !== true;
  if (method === 'memberList') return (request as Requests['memberList']).linearizable === true;
  return method !== 'status';
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

function splitSignals<T extends Signals>(options: T): [Omit<T, keyof Signals>, Signals] {
  const { signal, timeoutMs, ...rest } = options;
  return [rest, { signal, timeoutMs }];
}

interface Exchange {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly readOnly: boolean;
  /** A write that is harmless to send again (see RESENDABLE). */
  readonly resendable?: boolean;
  /** Time one attempt may take, instead of the client's requestTimeoutMs (see WAITING_METHODS). */
  readonly attemptTimeoutMs?: number;
  /** The request ID it carries, for the writes the state machine deduplicates. */
  readonly client?: ClientRequest;
  readonly toLeader: boolean;
  readonly endpoint?: string;
  /** What the request is, for error details. */
  readonly what: string;
  /** Statuses whose body is the answer rather than an error. */
  readonly accept: (status: number) => boolean;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

interface Answer {
  readonly status: number;
  readonly value: unknown;
  readonly endpoint: string;
}

/** A waiting call's attempt: its own wait and the usual time on top, or (no wait of its own) no bound in effect. */
function waitingAttemptMs(request: { timeoutMs?: number }, requestTimeoutMs: number): number {
  const waitMs = request.timeoutMs ?? 0;
  return waitMs === 0 ? clientLimits.waitingCallTimeoutMs : Math.min(clientLimits.waitingCallTimeoutMs, waitMs + requestTimeoutMs);
}

/** A nonce per client and a counter: IDs unique across clients (random) and within one (the counter). */
function requestIdSource(): () => string {
  const nonce = globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 16);
  let sequence = 0;
  return () => `${nonce}.${(sequence++).toString(36)}`;
}

export class Client {
  readonly #agents = new Agents();
  readonly #requestTimeoutMs: number;
  readonly #dialTimeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #maxWriteRetries: number;
  readonly #router: Router;
  readonly #nextRequestId = requestIdSource();

  constructor(options: ClientOptions) {
    if (options.endpoints.length === 0) throw new ConclaveError('ErrInvalidField', 'a client needs at least one endpoint');
    this.#requestTimeoutMs = options.requestTimeoutMs ?? clientLimits.requestTimeoutMs;
    this.#dialTimeoutMs = options.dialTimeoutMs ?? clientLimits.dialTimeoutMs;
    this.#maxResponseBytes = options.maxResponseBytes ?? clientLimits.maxResponseBytes;
    this.#maxWriteRetries = options.maxWriteRetries ?? clientLimits.maxWriteRetries;
    this.#router = new Router({
      seeds: [...new Set(options.endpoints.map(normalizeEndpoint))],
      discover: options.discover === true,
      fetchTopology: (endpoints) => this.#fetchTopology(endpoints),
    });
  }

  /** The endpoints requests may go to: the given ones, and with `discover` the members' client URLs first. */
  get endpoints(): readonly string[] {
    return this.#router.endpoints;
  }

  /** The endpoint requests go to first: the one that last answered. */
  get currentEndpoint(): string {
    return this.#router.current;
  }

  /** The leader's client URL, when `discover` found it. */
  get leaderEndpoint(): string | null {
    return this.#router.leader;
  }

  /** Learns the members and the leader now (with `discover`; a no-op without). */
  sync(): Promise<void> {
    return this.#router.refresh();
  }

  async call<M extends Method>(method: M, request: Requests[M], options: CallOptions = {}): Promise<Result<M>> {
    const readOnly = isReadOnly(method, request);
    if (options.endpoint === undefined) await this.#router.ready();
    const answer = await this.#exchange({
      method: 'POST',
      path: METHOD_PATHS[method],
      body: JSON.stringify(encodeRequest(method, request)),
      readOnly,
      resendable: RESENDABLE.has(method),
      attemptTimeoutMs: WAITING_METHODS.has(method) ? waitingAttemptMs(request as { timeoutMs?: number }, this.#requestTimeoutMs) : undefined,
      client: !readOnly && DEDUPLICATED.has(method) ? { id: this.#nextRequestId() } : undefined,
      toLeader: prefersLeader(method, request),
      endpoint: options.endpoint,
      what: method,
      accept: (status) => status === 200,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
    const result = decodeResponse(method, answer.value);
    this.#router.answered(answer.endpoint, result.header);
    return result;
  }

  get(key: Bytes, options: GetOptions = {}): Promise<Result<'range'>> {
    const [{ rangeEnd, prefix, fromKey, ...rest }, signals] = splitSignals(options);
    return this.call('range', { ...rest, ...keyRange(key, { rangeEnd, prefix, fromKey }) }, signals);
  }

  range(request: RangeRequest, options: CallOptions = {}): Promise<Result<'range'>> {
    return this.call('range', request, options);
  }

  put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<Result<'put'>> {
    const [fields, signals] = splitSignals(options);
    return this.call('put', { key: toBytes(key), value: toBytes(value), ...fields }, signals);
  }

  delete(key: Bytes, options: DeleteOptions = {}): Promise<Result<'deleteRange'>> {
    const [{ prevKv, ...shape }, signals] = splitSignals(options);
    return this.call('deleteRange', { ...keyRange(key, shape), prevKv }, signals);
  }

  /**
   * A transaction: with no request, a typed builder (`client.txn().if(...).then(...).else(...).commit()`, see
   * txn.ts); with one, sends it as it is.
   */
  txn(): TxnBuilder<[], [], CallOptions>;
  txn(request: TxnRequest, options?: CallOptions): Promise<Result<'txn'>>;
  txn(request?: TxnRequest, options: CallOptions = {}): TxnBuilder<[], [], CallOptions> | Promise<Result<'txn'>> {
    if (request === undefined) return new TxnBuilder<[], [], CallOptions>((built, callOptions) => this.call('txn', built, callOptions));
    return this.call('txn', request, options);
  }

  compact(revision: number, physical = false, options: CallOptions = {}): Promise<Result<'compact'>> {
    return this.call('compact', { revision, physical }, options);
  }

  memberList(options: CallOptions = {}): Promise<Result<'memberList'>> {
    return this.call('memberList', { linearizable: true }, options);
  }

  memberAdd(peerUrls: readonly string[], isLearner = false, options: CallOptions = {}): Promise<Result<'memberAdd'>> {
    return this.call('memberAdd', { peerUrls, isLearner }, options);
  }

  memberRemove(id: string, options: CallOptions = {}): Promise<Result<'memberRemove'>> {
    return this.call('memberRemove', { id }, options);
  }

  memberPromote(id: string, options: CallOptions = {}): Promise<Result<'memberPromote'>> {
    return this.call('memberPromote', { id }, options);
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

  /** Creates `prefix` + a sequence number the cluster assigns (strictly increasing; see docs/api.md). */
  putSequential(prefix: Bytes, value: Bytes, options: { lease?: number; onePerLease?: boolean } & Signals = {}): Promise<Result<'putSequential'>> {
    const [fields, signals] = splitSignals(options);
    return this.call('putSequential', { prefix: toBytes(prefix), value: toBytes(value), ...fields }, signals);
  }

  /** Waits until this client holds the lock `name` (recipes.ts); resolves with its key and fencing token. */
  lock(name: Bytes, options: RecipeOptions = {}): Promise<HeldLock> {
    return acquireLock(this, name, options);
  }

  /** Waits until this candidate leads the election `name` with `value` (recipes.ts). */
  campaign(name: Bytes, value: Bytes, options: RecipeOptions = {}): Promise<Leadership> {
    return campaign(this, name, value, options);
  }

  /** The leader of the election `name`: ErrElectionNoLeader when there is none. */
  leader(name: Bytes, options: CallOptions = {}): Promise<Result<'leader'>> {
    return this.call('leader', { name: toBytes(name) }, options);
  }

  /** The leaders of the election `name` as they change, the current one first (see recipes.ts). */
  observe(name: Bytes, options: { signal?: AbortSignal } = {}): AsyncGenerator<{ header: ResponseHeader; kv: KeyValue }> {
    return observeElection(this, name, options);
  }

  /** Registers (or re-registers, updating it) an instance of a service under a lease. */
  registryRegister(request: Requests['registryRegister'], options: CallOptions = {}): Promise<Result<'registryRegister'>> {
    return this.call('registryRegister', request, options);
  }

  registryDeregister(service: string, instance: string, options: CallOptions = {}): Promise<Result<'registryDeregister'>> {
    return this.call('registryDeregister', { service, instance }, options);
  }

  /** The instances of a service at one revision (the header's): passing ones carrying every tag asked for, unless `includeUnhealthy`. */
  registryList(service: string, filter: Omit<Requests['registryList'], 'service'> = {}, options: CallOptions = {}): Promise<Result<'registryList'>> {
    return this.call('registryList', { service, ...filter }, options);
  }

  /** Registrations, updates, health changes and deregistrations of a service's instances, as they happen (see registry.ts). */
  async *registryWatch(service: string, options: { startRevision?: number; signal?: AbortSignal } = {}): AsyncGenerator<RegistryBatch> {
    const range = serviceRange(service);
    for await (const batch of this.watch(range.key, { rangeEnd: range.rangeEnd, prevKv: true, ...options })) yield registryEventsOf(batch);
  }

  /** The lowest free worker ID of a pool of `workerCount` (default 1024), bound to a lease. */
  workerAllocate(pool: string, lease: number, workerCount?: number, options: CallOptions = {}): Promise<Result<'workerAllocate'>> {
    return this.call('workerAllocate', workerCount === undefined ? { pool, lease } : { pool, lease, workerCount }, options);
  }

  workerRelease(pool: string, workerId: number, lease: number, options: CallOptions = {}): Promise<Result<'workerRelease'>> {
    return this.call('workerRelease', { pool, workerId, lease }, options);
  }

  /** A block [start, start + count) of a named counter, in one write. */
  segmentReserve(name: string, count: number, options: CallOptions = {}): Promise<Result<'segmentReserve'>> {
    return this.call('segmentReserve', { name, count }, options);
  }

  /** The status of one member, asked of that member only. */
  status(endpoint: string, options: Signals = {}): Promise<Result<'status'>> {
    return this.call('status', {}, { ...options, endpoint });
  }

  /** GET /health of one member (etcd answers 503 with the same body when unhealthy). */
  async health(endpoint: string, options: Signals = {}): Promise<HealthResponse> {
    const body = await this.#exchange({
      method: 'GET',
      path: HEALTH_PATH,
      readOnly: true,
      toLeader: false,
      endpoint,
      what: 'health check',
      accept: (status) => status === 200 || status === 503,
      ...options,
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
    return watchStream({ endpoints: () => this.#router.order(false), dialTimeoutMs: this.#dialTimeoutMs }, key, options);
  }

  close(): void {
    this.#agents.destroy();
  }

  /** The member list and the leader, from the first of `endpoints` that knows the leader (or the first that answers). */
  async #fetchTopology(endpoints: readonly string[]): Promise<Topology | null> {
    let withoutLeader: Topology | null = null;
    for (const endpoint of endpoints) {
      try {
        const pinned = { readOnly: true, toLeader: false, endpoint, method: 'POST', accept: (status: number) => status === 200 } as const;
        const list = await this.#exchange({ ...pinned, path: METHOD_PATHS.memberList, body: '{}', what: 'member list' });
        const status = await this.#exchange({ ...pinned, path: METHOD_PATHS.status, body: '{}', what: 'status' });
        const members = decodeResponse('memberList', list.value).response.members;
        const { header, response } = decodeResponse('status', status.value);
        const urlsOf = (member: Member | undefined) => (member?.clientUrls ?? []).flatMap((url) => (URL.canParse(url) ? [normalizeEndpoint(url)] : []));
        const leader = urlsOf(members.find((member) => member.id === response.leader))[0] ?? null;
        const topology = { endpoints: members.flatMap((member) => urlsOf(member)), leaderEndpoint: leader, term: Math.max(header.raftTerm, response.raftTerm) };
        // A member that does not know the leader (restarting, or cut off) may be alone in that: ask the next.
        if (leader !== null) return topology;
        withoutLeader ??= topology;
      } catch {
        continue;
      }
    }
    return withoutLeader;
  }

  async #exchange(exchange: Exchange): Promise<Answer> {
    const deadline = exchange.timeoutMs === undefined ? undefined : AbortSignal.timeout(exchange.timeoutMs);
    const signals = [exchange.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    const order = exchange.endpoint === undefined ? this.#router.order(exchange.toLeader) : [normalizeEndpoint(exchange.endpoint)];
    // The revision known before the first attempt: a retry tells the state machine the first applied at or after it.
    const sinceRevision = this.#router.revisionSeen;
    let client = exchange.client;
    const failures: string[] = [];
    let refusal: ConclaveError | undefined;
    let sends = 0;
    let retries = 0;
    /** Whether a write went out and its outcome is unknown. */
    let maybeApplied = false;
    const unknownOutcome = (reason: string): ConclaveError => {
      const how = client === undefined ? '; sending it again is harmless' : ` with request ID ${client.id}, so it applied at most once`;
      const times = sends > 1 ? ` (sent ${sends} times${how})` : '';
      return new ConclaveError('ErrTimeout', `${exchange.what}: ${reason}; it may or may not have been applied${times}`);
    };
    /** After a write was lost: whether to send it again (with its ID, marked as a retry; a resendable one as it is). */
    const retry = (): boolean => {
      if ((client === undefined && exchange.resendable !== true) || retries >= this.#maxWriteRetries || exchange.endpoint !== undefined) return false;
      retries++;
      if (client !== undefined) client = { id: client.id, retrySinceRevision: sinceRevision };
      return true;
    };
    for (let position = 0; position < order.length; position++) {
      const endpoint = order[position] as string;
      const headers: Record<string, string> = {};
      if (client !== undefined) headers[REQUEST_ID_HEADER] = client.id;
      if (client?.retrySinceRevision !== undefined) headers[RETRY_SINCE_HEADER] = String(client.retrySinceRevision);
      const outcome: Attempt = await attempt(this.#agents, endpoint, {
        method: exchange.method,
        path: exchange.path,
        body: exchange.body,
        headers,
        signal,
        requestTimeoutMs: exchange.attemptTimeoutMs ?? this.#requestTimeoutMs,
        dialTimeoutMs: this.#dialTimeoutMs,
        maxResponseBytes: this.#maxResponseBytes,
      });
      if (outcome.kind !== 'aborted' && outcome.kind !== 'unreachable') sends++;
      switch (outcome.kind) {
        case 'aborted': {
          const fate = exchange.readOnly ? 'a read, so nothing changed' : maybeApplied || outcome.sent ? 'it was sent and may or may not have been applied' : 'it was not sent, so it was not applied';
          if (exchange.signal?.aborted === true) throw new ConclaveError('ErrCanceled', `${exchange.what} was canceled: ${fate}`);
          throw new ConclaveError('ErrTimeout', `${exchange.what} did not complete within its ${exchange.timeoutMs ?? 0} ms: ${fate}`);
        }
        case 'unreachable':
          failures.push(`${endpoint} (${outcome.reason})`);
          this.#router.failed(endpoint);
          continue;
        case 'lost':
          failures.push(`${endpoint} (${outcome.reason})`);
          this.#router.failed(endpoint);
          if (exchange.readOnly) continue;
          maybeApplied = true;
          if (!retry()) throw client === undefined ? new ConclaveError('ErrTimeout', `${exchange.what} sent to ${endpoint}: ${outcome.reason}; it may or may not have been applied, so it was not sent again`) : unknownOutcome(failures.join(', '));
          // Around the endpoints again if need be: the retry bound ends it.
          if (position === order.length - 1) position = -1;
          continue;
        case 'tooLarge':
          throw new ConclaveError('ErrResponseTooLarge', `${exchange.what} from ${endpoint}: ${outcome.reason}`);
        case 'answered':
          break;
      }
      const value = parseAnswer(outcome.status, outcome.text);
      if (exchange.accept(outcome.status) && value.ok) {
        this.#router.answered(endpoint);
        return { status: outcome.status, value: value.body, endpoint };
      }
      const error = value.ok ? decodeError(outcome.status, value.body) : value.error;
      if (error.code === 'ErrTimeout' && !exchange.readOnly) {
        // The member's own timeout: the entry may still commit. A deduplicated write may go again. The member may
        // be cut off from the leader, so the next request starts elsewhere.
        failures.push(`${endpoint} (${error.message})`);
        this.#router.failed(endpoint);
        maybeApplied = true;
        if (!retry()) throw client === undefined ? error : unknownOutcome(failures.join(', '));
        if (position === order.length - 1) position = -1;
        continue;
      }
      if (REFUSED.has(error.code) || (exchange.readOnly && error.code === 'ErrTimeout')) {
        refusal = error;
        failures.push(`${endpoint} (${error.message})`);
        this.#router.failed(endpoint);
        continue;
      }
      // A definite answer, even an error: this endpoint works.
      this.#router.answered(endpoint);
      throw error;
    }
    if (maybeApplied) throw unknownOutcome(failures.join(', '));
    // Members that answered but could not serve say more than ones that could not be reached.
    if (refusal !== undefined) throw refusal;
    throw new ConclaveError('ErrUnreachable', failures.join(', '));
  }
}

/** A client with member discovery and leader-aware routing, after a first look at the cluster (which may fail: the given endpoints are then used as they are). */
export async function connect(options: ClientOptions): Promise<Client> {
  const client = new Client({ discover: true, ...options });
  await client.sync();
  return client;
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
