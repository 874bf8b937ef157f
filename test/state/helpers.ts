// Shared by the key-value store's tests: a store on an in-memory backend driven with string keys, and readable
// forms of its responses.

import type { DeleteRangeResponse, KeyValue, PutRequest, PutResponse, RangeRequest, RangeResponse, RequestOp, ResponseOp, TxnRequest, TxnResponse } from '../../src/protocol/kv.js';
import { KvStore, type KvResult, type KvStoreOptions, type StateWriter } from '../../src/state/index.js';
import { bytes, latin1, MemoryBackend } from './memory-backend.js';

export { bytes, latin1 };

/** A key-value pair as the tests compare them: strings for bytes. */
export interface ShownKv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

export const showKv = (kv: KeyValue): ShownKv => ({
  key: latin1(kv.key),
  value: latin1(kv.value),
  createRevision: kv.createRevision,
  modRevision: kv.modRevision,
  version: kv.version,
  lease: kv.lease,
});

export const showRange = (response: RangeResponse) => ({ kvs: response.kvs.map(showKv), more: response.more, count: response.count });

export function showOp(op: ResponseOp): unknown {
  if ('responseRange' in op) return { range: showRange(op.responseRange) };
  if ('responsePut' in op) return { put: op.responsePut.prevKv === undefined ? {} : { prevKv: showKv(op.responsePut.prevKv) } };
  if ('responseDeleteRange' in op) return { deleteRange: { deleted: op.responseDeleteRange.deleted, prevKvs: op.responseDeleteRange.prevKvs.map(showKv) } };
  return { txn: { succeeded: op.responseTxn.succeeded, responses: op.responseTxn.responses.map(showOp) } };
}

/** A result in comparable form: the error code for a failure. */
export function showResult(result: KvResult): unknown {
  if (!result.ok) return { revision: result.revision, error: result.error.code };
  const response = result.response as Partial<TxnResponse & DeleteRangeResponse & PutResponse>;
  if (response.responses !== undefined) return { revision: result.revision, succeeded: response.succeeded, responses: response.responses.map(showOp) };
  if (response.deleted !== undefined) return { revision: result.revision, deleted: response.deleted, prevKvs: (response.prevKvs ?? []).map(showKv) };
  return { revision: result.revision, prevKv: response.prevKv === undefined ? null : showKv(response.prevKv) };
}

export type RangeOptions = Omit<RangeRequest, 'key' | 'rangeEnd'> & { rangeEnd?: string };

export const range = (key: string, options: RangeOptions = {}): RangeRequest => {
  const { rangeEnd, ...rest } = options;
  return rangeEnd === undefined ? { key: bytes(key), ...rest } : { key: bytes(key), rangeEnd: bytes(rangeEnd), ...rest };
};

export const opPut = (key: string, value: string, extra: Omit<PutRequest, 'key' | 'value'> = {}): RequestOp => ({ requestPut: { key: bytes(key), value: bytes(value), ...extra } });
export const opGet = (key: string, options: RangeOptions = {}): RequestOp => ({ requestRange: range(key, options) });
export const opDelete = (key: string, rangeEnd?: string, prevKv = false): RequestOp => ({
  requestDeleteRange: { key: bytes(key), ...(rangeEnd === undefined ? {} : { rangeEnd: bytes(rangeEnd) }), ...(prevKv ? { prevKv } : {}) },
});
export const opTxn = (request: TxnRequest): RequestOp => ({ requestTxn: request });

/** A store on a backend, with the requests spelled with strings. */
export class Harness {
  readonly store: KvStore;

  constructor(
    readonly backend: StateWriter & { dump?: () => [string, string][] } = new MemoryBackend(),
    options: KvStoreOptions = {},
  ) {
    this.store = new KvStore(options);
    this.loaded = this.store.load(backend);
  }

  /** Settles when the store has read its backend (at once for a fresh one). */
  readonly loaded: Promise<void>;

  /** Grants leases, for puts that attach keys to them. */
  async grant(...ids: number[]): Promise<void> {
    await this.loaded;
    for (const id of ids) expectOk(await this.store.apply({ type: 'leaseGrant', request: { id, ttl: 60 } }, this.backend));
  }

  async put(key: string, value: string, extra: Omit<PutRequest, 'key' | 'value'> = {}): Promise<KvResult> {
    await this.loaded;
    return this.store.apply({ type: 'put', request: { key: bytes(key), value: bytes(value), ...extra } }, this.backend);
  }

  async del(key: string, rangeEnd?: string, prevKv = false): Promise<KvResult> {
    await this.loaded;
    const op = opDelete(key, rangeEnd, prevKv) as { requestDeleteRange: never };
    return this.store.apply({ type: 'deleteRange', request: op.requestDeleteRange }, this.backend);
  }

  async txn(request: TxnRequest): Promise<KvResult> {
    await this.loaded;
    return this.store.apply({ type: 'txn', request }, this.backend);
  }

  async compact(revision: number): Promise<KvResult> {
    await this.loaded;
    return this.store.apply({ type: 'compact', request: { revision } }, this.backend);
  }

  async get(key: string, options: RangeOptions = {}): Promise<ReturnType<typeof showRange> & { revision: number }> {
    await this.loaded;
    const { revision, response } = await this.store.range(range(key, options), this.backend);
    return { revision, ...showRange(response) };
  }

  /** The keys (and values) a range returns, as "key=value" strings. */
  async pairs(key: string, options: RangeOptions = {}): Promise<string[]> {
    return (await this.get(key, options)).kvs.map((kv) => `${kv.key}=${kv.value}`);
  }
}

export function expectOk(result: KvResult): KvResult & { ok: true } {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result;
}
