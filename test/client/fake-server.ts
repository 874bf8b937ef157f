// A stand-in member for client and conclavectl tests: the JSON gateway's routes over node:http on 127.0.0.1,
// with the real codec on both sides and an in-memory key-value map behind it (one revision counter, no history),
// plus knobs to make it refuse, stall or answer oddly. Like a member, it applies a write that carries a client
// request ID once, and answers a repeat of the ID with the first answer.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HEALTH_PATH, METHOD_PATHS, type Method, type Requests, type Responses } from '../../src/protocol/api.js';
import type { HealthResponse, Member, StatusResponse } from '../../src/protocol/cluster.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import { decodeRequest, encodeError, encodeHealth, encodeResponse, parseJsonBody } from '../../src/protocol/json.js';
import type { Compare, DeleteRangeRequest, KeyValue, PutRequest, RangeRequest, RequestOp, ResponseHeader, ResponseOp, TxnRequest, TxnResponse } from '../../src/protocol/kv.js';

export interface Received {
  readonly method: Method | 'health';
  readonly request: unknown;
  /** Which TCP connection carried it (1, 2, ... in order of arrival). */
  readonly connection: number;
  /** The client's request ID (x-conclave-request-id) and, on a retry, the revision it names. */
  readonly requestId?: string;
  readonly retrySince?: string;
}

/**
 * What to do with one request instead of serving it: answer an error, never answer, apply it and then cut the
 * connection without answering (a member that died after applying), or write the reply by hand.
 */
export type Override = ConclaveError | 'stall' | 'applyThenDrop' | ((response: http.ServerResponse) => void) | undefined;

const METHODS = new Map<string, Method>(Object.entries(METHOD_PATHS).map(([method, path]) => [path, method as Method]));

const keyOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

export class FakeServer {
  readonly received: Received[] = [];
  /** Decides, per request, whether to serve it normally (undefined) or something else. */
  override: (method: Method | 'health', request: unknown) => Override = () => undefined;
  clusterId = '00000000000000c1';
  memberId = '000000000000000a';
  raftTerm = 2;
  revision = 1;
  compacted: { revision: number; physical: boolean }[] = [];
  members: Member[] = [];
  health: HealthResponse = { health: true, reason: '' };
  status: Omit<StatusResponse, 'leader'> & { leader?: string } = {
    version: '3.4.0',
    dbSize: 20480,
    dbSizeInUse: 16384,
    raftIndex: 12,
    raftTerm: 2,
    raftAppliedIndex: 12,
    errors: [],
    isLearner: false,
  };
  readonly #store = new Map<string, KeyValue>();
  /** Answers by client request ID: [status, body]. */
  readonly #answered = new Map<string, [number, unknown]>();
  readonly #server: http.Server;
  #connections = 0;
  #open = 0;
  #url = '';

  private constructor() {
    this.#server = http.createServer((request, response) => {
      const connection = (request.socket as { connectionNumber?: number }).connectionNumber ?? 0;
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => this.#handle(request, response, Buffer.concat(chunks).toString('utf8'), connection));
    });
    this.#server.on('connection', (socket) => {
      (socket as { connectionNumber?: number }).connectionNumber = ++this.#connections;
      this.#open += 1;
      socket.on('close', () => (this.#open -= 1));
    });
  }

  static async start(): Promise<FakeServer> {
    const server = new FakeServer();
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    server.#url = `http://127.0.0.1:${(server.#server.address() as AddressInfo).port}`;
    return server;
  }

  get url(): string {
    return this.#url;
  }

  /** TCP connections accepted so far. */
  get connections(): number {
    return this.#connections;
  }

  /** TCP connections open now. */
  get openConnections(): number {
    return this.#open;
  }

  get header(): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision: this.revision, raftTerm: this.raftTerm };
  }

  value(key: string): string | undefined {
    const kv = this.#store.get(keyOf(new TextEncoder().encode(key)));
    return kv === undefined ? undefined : Buffer.from(kv.value).toString('utf8');
  }

  /** Stores key=value as a put would (one revision each), with an optional lease. */
  seed(key: string, value: string, lease = 0): void {
    this.#put({ key: new TextEncoder().encode(key), value: new TextEncoder().encode(value), lease });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse, text: string, connection: number): void {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const method = path === HEALTH_PATH && request.method === 'GET' ? 'health' : METHODS.get(path);
    if (method === undefined || (method !== 'health' && request.method !== 'POST')) {
      this.#send(response, 404, encodeError(new ConclaveError('ErrNotFound')));
      return;
    }
    let decoded: unknown;
    try {
      decoded = method === 'health' ? undefined : decodeRequest(method, parseJsonBody(text));
    } catch (error) {
      const failure = error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error));
      this.#send(response, failure.httpStatus, encodeError(failure));
      return;
    }
    const requestId = request.headers['x-conclave-request-id'] as string | undefined;
    const retrySince = request.headers['x-conclave-retry-since-revision'] as string | undefined;
    this.received.push({ method, request: decoded, connection, ...(requestId === undefined ? {} : { requestId }), ...(retrySince === undefined ? {} : { retrySince }) });
    const override = this.override(method, decoded);
    if (override === 'stall') return;
    const repeat = requestId === undefined ? undefined : this.#answered.get(requestId);
    if (repeat !== undefined) return this.#send(response, repeat[0], repeat[1]);
    if (override === 'applyThenDrop' && method !== 'health') {
      this.#answer(method, decoded, requestId);
      response.socket?.destroy();
      return;
    }
    if (typeof override === 'function') return override(response);
    if (override instanceof ConclaveError) return this.#send(response, override.httpStatus, encodeError(override));
    if (method === 'health') return this.#send(response, this.health.health ? 200 : 503, encodeHealth(this.health));
    const [status, body] = this.#answer(method, decoded, requestId);
    this.#send(response, status, body);
  }

  #answer(method: Method, decoded: unknown, requestId: string | undefined): [number, unknown] {
    let answer: [number, unknown];
    try {
      const body = this.#serve(method, decoded as Requests[typeof method]);
      answer = [200, encodeResponse(method, this.header, body)];
    } catch (error) {
      const failure = error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error));
      answer = [failure.httpStatus, encodeError(failure)];
    }
    if (requestId !== undefined) this.#answered.set(requestId, answer);
    return answer;
  }

  /** The version of a key (0 when absent): how many times it was written since created. */
  version(key: string): number {
    return this.#store.get(keyOf(new TextEncoder().encode(key)))?.version ?? 0;
  }

  #send(response: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }

  #serve<M extends Method>(method: M, request: Requests[M]): Responses[M] {
    const answer = (value: unknown) => value as Responses[M];
    switch (method) {
      case 'range':
        return answer(this.#range(request as RangeRequest));
      case 'put':
        return answer(this.#put(request as PutRequest));
      case 'deleteRange':
        return answer(this.#delete(request as DeleteRangeRequest));
      case 'txn':
        return answer(this.#txn(request as TxnRequest));
      case 'compact': {
        const { revision, physical } = request as Requests['compact'];
        this.compacted.push({ revision, physical: physical === true });
        return answer({});
      }
      case 'status':
        return answer({ leader: this.memberId, ...this.status });
      case 'memberList':
        return answer({ members: this.members });
      case 'memberAdd': {
        const { peerUrls, isLearner } = request as Requests['memberAdd'];
        const member: Member = { id: 'a1b2c3d4e5f60718', name: '', peerUrls, clientUrls: [], isLearner: isLearner === true };
        this.members.push(member);
        return answer({ member, members: this.members });
      }
      case 'memberRemove':
      case 'memberPromote': {
        const { id } = request as Requests['memberRemove'];
        const index = this.members.findIndex((member) => member.id === id);
        if (index < 0) throw new ConclaveError('ErrMemberNotFound');
        if (method === 'memberRemove') this.members.splice(index, 1);
        else this.members[index] = { ...(this.members[index] as Member), isLearner: false };
        return answer({ members: this.members });
      }
      default:
        throw new ConclaveError('ErrNotFound');
    }
  }

  #inRange(range: { key: Uint8Array; rangeEnd?: Uint8Array }): string[] {
    const start = keyOf(range.key);
    const end = range.rangeEnd === undefined || range.rangeEnd.length === 0 ? undefined : keyOf(range.rangeEnd);
    const keys = [...this.#store.keys()].sort();
    if (end === undefined) return keys.filter((key) => key === start);
    if (end === '\0') return keys.filter((key) => key >= start);
    return keys.filter((key) => key >= start && key < end);
  }

  #range(request: RangeRequest): Responses['range'] {
    let kvs = this.#inRange(request).map((key) => this.#store.get(key) as KeyValue);
    const target = request.sortTarget ?? 'key';
    const order = request.sortOrder ?? 'none';
    if (order !== 'none') {
      const by = (kv: KeyValue): string | number =>
        target === 'key' ? keyOf(kv.key) : target === 'value' ? keyOf(kv.value) : target === 'version' ? kv.version : target === 'create' ? kv.createRevision : kv.modRevision;
      kvs = [...kvs].sort((a, b) => (by(a) < by(b) ? -1 : by(a) > by(b) ? 1 : 0));
      if (order === 'descend') kvs.reverse();
    }
    const count = kvs.length;
    const limit = request.limit ?? 0;
    const limited = limit > 0 ? kvs.slice(0, limit) : kvs;
    if (request.countOnly === true) return { kvs: [], more: limited.length < count, count };
    const shown = request.keysOnly === true ? limited.map((kv) => ({ ...kv, value: new Uint8Array() })) : limited;
    return { kvs: shown, more: limited.length < count, count };
  }

  #put(request: PutRequest): Responses['put'] {
    const key = keyOf(request.key);
    const previous = this.#store.get(key);
    if ((request.ignoreValue === true || request.ignoreLease === true) && previous === undefined) throw new ConclaveError('ErrKeyNotFound');
    this.revision += 1;
    this.#store.set(key, {
      key: request.key,
      value: request.ignoreValue === true ? (previous as KeyValue).value : request.value,
      lease: request.ignoreLease === true ? (previous as KeyValue).lease : (request.lease ?? 0),
      createRevision: previous?.createRevision ?? this.revision,
      modRevision: this.revision,
      version: (previous?.version ?? 0) + 1,
    });
    return request.prevKv === true && previous !== undefined ? { prevKv: previous } : {};
  }

  #delete(request: DeleteRangeRequest): Responses['deleteRange'] {
    const keys = this.#inRange(request);
    const prevKvs = keys.map((key) => this.#store.get(key) as KeyValue);
    if (keys.length > 0) this.revision += 1;
    for (const key of keys) this.#store.delete(key);
    return { deleted: keys.length, prevKvs: request.prevKv === true ? prevKvs : [] };
  }

  #holds(compare: Compare): boolean {
    const kv = this.#store.get(keyOf(compare.key));
    const [actual, expected]: [string | number, string | number] =
      compare.target === 'value'
        ? [kv === undefined ? '' : keyOf(kv.value), keyOf(compare.value)]
        : compare.target === 'version'
          ? [kv?.version ?? 0, compare.version]
          : compare.target === 'create'
            ? [kv?.createRevision ?? 0, compare.createRevision]
            : compare.target === 'mod'
              ? [kv?.modRevision ?? 0, compare.modRevision]
              : [kv?.lease ?? 0, compare.lease];
    if (compare.target === 'value' && kv === undefined) return false;
    switch (compare.result) {
      case 'equal':
        return actual === expected;
      case 'not_equal':
        return actual !== expected;
      case 'greater':
        return actual > expected;
      case 'less':
        return actual < expected;
    }
  }

  #txn(request: TxnRequest): TxnResponse {
    const succeeded = request.compare.every((compare) => this.#holds(compare));
    const responses = (succeeded ? request.success : request.failure).map((op: RequestOp): ResponseOp => {
      if ('requestRange' in op) return { responseRange: this.#range(op.requestRange) };
      if ('requestPut' in op) return { responsePut: this.#put(op.requestPut) };
      if ('requestDeleteRange' in op) return { responseDeleteRange: this.#delete(op.requestDeleteRange) };
      return { responseTxn: this.#txn(op.requestTxn) };
    });
    return { succeeded, responses };
  }
}

/** The fake servers and the clients one test starts, all closed by cleanup() (call it after each test). */
export function fixtures<C extends { close(): void }>(): { server: () => Promise<FakeServer>; track: (client: C) => C; cleanup: () => Promise<void> } {
  const servers: FakeServer[] = [];
  const clients: C[] = [];
  return {
    server: async () => {
      const started = await FakeServer.start();
      servers.push(started);
      return started;
    },
    track: (client) => {
      clients.push(client);
      return client;
    },
    cleanup: async () => {
      for (const created of clients.splice(0)) created.close();
      await Promise.all(servers.splice(0).map((started) => started.close()));
    },
  };
}

/** The ConclaveError a call fails with (any other outcome fails the test). */
export async function failure(promise: Promise<unknown>): Promise<ConclaveError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConclaveError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** A URL on which nothing listens (a port that was just freed). */
export async function closedEndpoint(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

