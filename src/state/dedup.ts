// The deduplication table of client request IDs: what makes a retried write apply at most once. A write that carries
// a client's request ID (src/protocol/request-id.ts) is looked up before it is applied; if the ID's record is kept,
// the write is not applied again and answers the first application's result. The table is replicated state, in the
// backend beside the key-value store, so every member gives the same answer, and snapshots and restarts keep it.
//
// Layout (first byte 'q', which no other state module uses):
//
//   'q'                          -> meta: [oldest kept sequence, next sequence, kept bytes, evicted-through revision]
//   'q' 01 <request ID>          -> record: [sequence, bytes it accounts for, kept result]
//   'q' 02 <sequence u64 BE>     -> the request ID recorded with that sequence (the window's order)
//
// The window: the most recent IDs in log order, at most dedupLimits.maxKeptRequests of them and
// dedupLimits.maxKeptBytes of records; recording one more forgets the oldest ones beyond either bound (point reads
// and deletes only, so an apply never scans). A result larger than dedupLimits.maxKeptResultBytes is kept as its
// revision only: a duplicate then gets ErrResultNotKept, which says the write was applied and at which revision.
//
// A retry older than the window: the table keeps, in its meta, the revision of the newest forgotten record. A retry
// carries the highest revision its client had seen before the first attempt; the first attempt, if it applied,
// applied at or after that revision. So when nothing at or after it was forgotten, an ID not found was never
// applied and the retry applies; otherwise the retry is refused with ErrRequestIdExpired (its outcome is unknown).
// A first attempt carries no such revision and applies when its ID is not found.

import { Encoder } from '@msgpack/msgpack';
import { dedupLimits, type DedupLimits } from '../limits.js';
import { ConclaveError, isErrorCode } from '../protocol/errors.js';
import type { ClientRequest } from '../protocol/request-id.js';
import { decodeMsgpack as decode } from '../util/msgpack.js';
import type { StateWriter } from './backend.js';
import type { KvResult } from './kv-command.js';

const PREFIX = 0x71; // 'q'
const RECORD = 0x01;
const ORDER = 0x02;
const META_KEY = Uint8Array.of(PREFIX);

const RESULT_OK = 0;
const RESULT_ERROR = 1;
const RESULT_NOT_KEPT = 2;

/** Responses have optional fields; left out rather than stored as nil, so a duplicate's response equals the first. */
const encoder = new Encoder({ ignoreUndefined: true });

interface Meta {
  readonly oldest: number;
  readonly next: number;
  readonly keptBytes: number;
  /** Revision of the newest record forgotten so far; 0 while none was. */
  readonly evictedThroughRevision: number;
}

export type DedupLookup =
  /** Not seen within the window: apply it, then record() its result. */
  | { readonly kind: 'new' }
  /** Applied before: this is its result (not applied again). */
  | { readonly kind: 'duplicate'; readonly result: KvResult }
  /** A retry whose first attempt may have been forgotten: refused, and not recorded. */
  | { readonly kind: 'expired'; readonly error: ConclaveError };

function recordKey(id: string): Uint8Array {
  const key = new Uint8Array(2 + id.length);
  key[0] = PREFIX;
  key[1] = RECORD;
  for (let i = 0; i < id.length; i++) key[2 + i] = id.charCodeAt(i) & 0x7f;
  return key;
}

function orderKey(sequence: number): Uint8Array {
  const key = new Uint8Array(10);
  key[0] = PREFIX;
  key[1] = ORDER;
  new DataView(key.buffer).setBigUint64(2, BigInt(sequence));
  return key;
}

function readMeta(backend: Pick<StateWriter, 'get'>): Meta {
  const bytes = backend.get(META_KEY);
  if (bytes === undefined) return { oldest: 0, next: 0, keptBytes: 0, evictedThroughRevision: 0 };
  const [oldest, next, keptBytes, evictedThroughRevision] = decode(bytes) as [number, number, number, number];
  return { oldest, next, keptBytes, evictedThroughRevision };
}

function keptResult(result: KvResult, maxResultBytes: number): unknown[] {
  if (!result.ok) return [RESULT_ERROR, result.revision, result.error.code, result.error.detail ?? null];
  const response = encoder.encode(result.response);
  if (response.length <= maxResultBytes) return [RESULT_OK, result.revision, response];
  const succeeded = 'succeeded' in result.response ? result.response.succeeded : null;
  return [RESULT_NOT_KEPT, result.revision, response.length, succeeded];
}

function resultOf(id: string, kept: readonly unknown[]): KvResult {
  const [kind, revision] = kept as [number, number];
  if (kind === RESULT_OK) return { revision, ok: true, response: decode(kept[2] as Uint8Array) as never };
  if (kind === RESULT_ERROR) {
    const code = kept[2];
    const detail = kept[3];
    const error = isErrorCode(code) ? new ConclaveError(code, typeof detail === 'string' ? detail : undefined) : new ConclaveError('ErrInternal', `request ${id} failed with ${String(code)}`);
    return { revision, ok: false, error };
  }
  const succeeded = kept[3] === null ? '' : `, its txn ${kept[3] === true ? 'succeeded' : 'failed'}`;
  const detail = `request ${id} was applied at revision ${revision}${succeeded}; its response of ${String(kept[2])} bytes is over dedupLimits.maxKeptResultBytes`;
  return { revision, ok: false, error: new ConclaveError('ErrResultNotKept', detail) };
}

/** What to do with a write carrying `request`. Reads only. */
export function lookupRequest(backend: Pick<StateWriter, 'get'>, request: ClientRequest): DedupLookup {
  const bytes = backend.get(recordKey(request.id));
  if (bytes !== undefined) return { kind: 'duplicate', result: resultOf(request.id, (decode(bytes) as unknown[])[2] as unknown[]) };
  const since = request.retrySinceRevision;
  if (since === undefined) return { kind: 'new' };
  const { evictedThroughRevision } = readMeta(backend);
  if (evictedThroughRevision === 0 || evictedThroughRevision < since) return { kind: 'new' };
  const detail = `request ${request.id} is a retry of one sent at revision ${since} or later, and the window has forgotten requests through revision ${evictedThroughRevision}; it may or may not have been applied`;
  return { kind: 'expired', error: new ConclaveError('ErrRequestIdExpired', detail) };
}

/** Records the result of the write carrying `request` (just applied), forgetting the oldest records beyond the window. */
export function recordRequest(backend: StateWriter, request: ClientRequest, result: KvResult, limits: Partial<DedupLimits> = {}): void {
  const bounds = { ...dedupLimits, ...limits };
  const meta = readMeta(backend);
  const kept = keptResult(result, bounds.maxKeptResultBytes);
  const sequence = meta.next;
  // The bytes a record accounts for: its own encoding, its ID twice (both keys) and the order key.
  const valueWithoutSize = encoder.encode([sequence, 0, kept]);
  const bytes = valueWithoutSize.length + 2 * request.id.length + 20;
  backend.put(recordKey(request.id), encoder.encode([sequence, bytes, kept]));
  backend.put(orderKey(sequence), recordKey(request.id).subarray(2));
  let { oldest, keptBytes, evictedThroughRevision } = meta;
  const next = sequence + 1;
  keptBytes += bytes;
  while (oldest < next - 1 && (next - oldest > bounds.maxKeptRequests || keptBytes > bounds.maxKeptBytes)) {
    const order = orderKey(oldest);
    const idBytes = backend.get(order);
    oldest++;
    if (idBytes === undefined) continue;
    backend.delete(order);
    const id = String.fromCharCode(...idBytes);
    const record = backend.get(recordKey(id));
    if (record === undefined) continue;
    const [recordSequence, recordBytes, recordKept] = decode(record) as [number, number, unknown[]];
    if (recordSequence !== oldest - 1) continue;
    backend.delete(recordKey(id));
    keptBytes -= recordBytes;
    evictedThroughRevision = Math.max(evictedThroughRevision, recordKept[1] as number);
  }
  backend.put(META_KEY, encoder.encode([oldest, next, keptBytes, evictedThroughRevision]));
}

/** The window's current extent, for tests and /debug/vars. */
export function dedupWindow(backend: Pick<StateWriter, 'get'>): Meta & { readonly kept: number } {
  const meta = readMeta(backend);
  return { ...meta, kept: meta.next - meta.oldest };
}
