// A key-value command as it travels in a Raft entry, and its encoding: msgpack arrays with positional fields and
// small integer codes (a put of a short key costs a dozen bytes beside its key and value). Decoding gives the
// canonical form: fields at their default (false, 0, 'none', an empty range end) are left out.

import { decodeMsgpack as decode, encodeMsgpack as encode } from '../util/msgpack.js';
import { ConclaveError } from '../protocol/errors.js';
import type {
  Compare,
  CompactionRequest,
  CompactionResponse,
  CompareResult,
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from '../protocol/kv.js';
import type { LeaseGrantResponse, LeaseRevokeRequest, LeaseRevokeResponse } from '../protocol/lease.js';
import type { PutSequentialRequest, PutSequentialResponse } from '../protocol/lock.js';
import type { SegmentReserveRequest, SegmentReserveResponse, WorkerAllocateResponse, WorkerReleaseResponse } from '../protocol/snowflake.js';
import type { WorkerAllocateCommand, WorkerReleaseCommand } from './workers.js';

/** The key-value writes of a client's request: none of them may touch a reserved prefix (reserved-keys.ts). */
export type PlainWrite =
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest };

export type KvCommand =
  | PlainWrite
  | { readonly type: 'compact'; readonly request: CompactionRequest }
  /** The ID is chosen by the member that took the request, the TTL raised to the cluster's minimum there. */
  | { readonly type: 'leaseGrant'; readonly request: { readonly id: number; readonly ttl: number; readonly stamp?: LeaseStamp } }
  /** `atMs`: the proposer's wall time, from which the worker IDs the lease held become reusable (workers.ts); absent in old entries. */
  | { readonly type: 'leaseRevoke'; readonly request: LeaseRevokeRequest & { readonly atMs?: number } }
  /** The leader's record of leases' remaining time (see lease-table.ts). */
  | { readonly type: 'leaseCheckpoint'; readonly request: { readonly checkpoints: readonly LeaseCheckpoint[]; readonly stamp?: LeaseStamp } }
  /** A key named by the cluster: the prefix and the command's revision (kv-sequential.ts). */
  | { readonly type: 'putSequential'; readonly request: PutSequentialRequest }
  /** Snowflake worker IDs and segments (workers.ts, segments.ts). */
  | { readonly type: 'workerAllocate'; readonly request: WorkerAllocateCommand }
  | { readonly type: 'workerRelease'; readonly request: WorkerReleaseCommand }
  | { readonly type: 'segmentReserve'; readonly request: SegmentReserveRequest }
  /**
   * A write of the service registry (a registration, a deregistration, the leader's record of a health change):
   * built by the member, never from a client's request, and applied as the write it carries, whose writes must all
   * lie under the registry's prefix. Its own type is what lets it through the guard that refuses plain writes there.
   */
  | { readonly type: 'registryWrite'; readonly request: PlainWrite };

export interface LeaseCheckpoint {
  readonly id: number;
  readonly remainingMs: number;
}

/**
 * When the proposer of a lease's grant or checkpoint measured its time left: which member, which run of its
 * process, and its lease clock then, in whole ms (src/server/lease-clock.ts). Opaque to the state machine, which
 * only keeps it with the lease, so that any member can later tell when that time began. Absent in old entries.
 */
export interface LeaseStamp {
  readonly member: string;
  readonly incarnation: number;
  readonly leaseMs: number;
}

/** The outcome of applying a command; `revision` is the store's revision after it (the response header's). */
export type KvResult = { readonly revision: number } & (
  | { readonly ok: true; readonly response: PutResponse | DeleteRangeResponse | TxnResponse | CompactionResponse | LeaseGrantResponse | LeaseRevokeResponse | PutSequentialResponse | WorkerAllocateResponse | WorkerReleaseResponse | SegmentReserveResponse }
  | { readonly ok: false; readonly error: ConclaveError }
);

const COMMAND = { put: 0, deleteRange: 1, txn: 2, compact: 3, leaseGrant: 4, leaseRevoke: 5, leaseCheckpoint: 6, putSequential: 7, workerAllocate: 10, workerRelease: 11, segmentReserve: 12, registryWrite: 13 } as const;
/** Flags of a sequential put. */
const SEQUENTIAL_ONE_PER_LEASE = 1;
const OP = { range: 0, put: 1, deleteRange: 2, txn: 3 } as const;
const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];
const RESULTS: readonly CompareResult[] = ['equal', 'greater', 'less', 'not_equal'];
const TARGETS = ['version', 'create', 'mod', 'value', 'lease'] as const;

const PUT_PREV_KV = 1;
const PUT_IGNORE_VALUE = 2;
const PUT_IGNORE_LEASE = 4;
const RANGE_SERIALIZABLE = 1;
const RANGE_KEYS_ONLY = 2;
const RANGE_COUNT_ONLY = 4;

export function encodeKvCommand(command: KvCommand): Uint8Array {
  switch (command.type) {
    case 'put':
    case 'deleteRange':
    case 'txn':
      return encode(plainWriteFields(command));
    case 'compact':
      return encode([COMMAND.compact, command.request.revision, command.request.physical === true ? 1 : 0]);
    case 'leaseGrant':
      return encode([COMMAND.leaseGrant, command.request.id, command.request.ttl, ...stampFields(command.request.stamp)]);
    case 'leaseRevoke':
      return encode(command.request.atMs === undefined ? [COMMAND.leaseRevoke, command.request.id] : [COMMAND.leaseRevoke, command.request.id, command.request.atMs]);
    case 'leaseCheckpoint':
      // Flat pairs: a checkpoint of 1000 leases is one array, not 1000.
      return encode([COMMAND.leaseCheckpoint, command.request.checkpoints.flatMap((c) => [c.id, c.remainingMs]), ...stampFields(command.request.stamp)]);
    case 'putSequential': {
      const r = command.request;
      return encode([COMMAND.putSequential, r.prefix, r.value, r.lease ?? 0, r.onePerLease === true ? SEQUENTIAL_ONE_PER_LEASE : 0]);
    }
    case 'workerAllocate': {
      const r = command.request;
      return encode([COMMAND.workerAllocate, r.pool, r.lease, r.workerCount, r.nowMs, r.maxClockSkewMs]);
    }
    case 'workerRelease': {
      const r = command.request;
      return encode([COMMAND.workerRelease, r.pool, r.workerId, r.lease, r.nowMs]);
    }
    case 'segmentReserve':
      return encode([COMMAND.segmentReserve, command.request.name, command.request.count]);
    case 'registryWrite':
      // The carried write's own array, nested: [13, [0, key, value, lease, flags]] for a registration.
      return encode([COMMAND.registryWrite, plainWriteFields(command.request)]);
  }
}

function plainWriteFields(write: PlainWrite): unknown[] {
  switch (write.type) {
    case 'put':
      return [COMMAND.put, ...putFields(write.request)];
    case 'deleteRange':
      return [COMMAND.deleteRange, ...deleteFields(write.request)];
    case 'txn':
      return [COMMAND.txn, ...txnFields(write.request)];
  }
}

const end = (rangeEnd: Uint8Array | undefined): Uint8Array | null => (rangeEnd === undefined || rangeEnd.length === 0 ? null : rangeEnd);

function putFields(r: PutRequest): unknown[] {
  const flags = (r.prevKv === true ? PUT_PREV_KV : 0) | (r.ignoreValue === true ? PUT_IGNORE_VALUE : 0) | (r.ignoreLease === true ? PUT_IGNORE_LEASE : 0);
  return [r.key, r.value, r.lease ?? 0, flags];
}

function deleteFields(r: DeleteRangeRequest): unknown[] {
  return [r.key, end(r.rangeEnd), r.prevKv === true ? 1 : 0];
}

function rangeFields(r: RangeRequest): unknown[] {
  const flags = (r.serializable === true ? RANGE_SERIALIZABLE : 0) | (r.keysOnly === true ? RANGE_KEYS_ONLY : 0) | (r.countOnly === true ? RANGE_COUNT_ONLY : 0);
  return [
    r.key,
    end(r.rangeEnd),
    r.limit ?? 0,
    r.revision ?? 0,
    SORT_ORDERS.indexOf(r.sortOrder ?? 'none'),
    SORT_TARGETS.indexOf(r.sortTarget ?? 'key'),
    flags,
    r.minModRevision ?? 0,
    r.maxModRevision ?? 0,
    r.minCreateRevision ?? 0,
    r.maxCreateRevision ?? 0,
  ];
}

function compareFields(c: Compare): unknown[] {
  const operand = c.target === 'version' ? c.version : c.target === 'create' ? c.createRevision : c.target === 'mod' ? c.modRevision : c.target === 'lease' ? c.lease : c.value;
  return [TARGETS.indexOf(c.target), RESULTS.indexOf(c.result), c.key, end(c.rangeEnd), operand];
}

function opFields(op: RequestOp): unknown[] {
  if ('requestRange' in op) return [OP.range, ...rangeFields(op.requestRange)];
  if ('requestPut' in op) return [OP.put, ...putFields(op.requestPut)];
  if ('requestDeleteRange' in op) return [OP.deleteRange, ...deleteFields(op.requestDeleteRange)];
  return [OP.txn, ...txnFields(op.requestTxn)];
}

function txnFields(r: TxnRequest): unknown[] {
  return [r.compare.map(compareFields), r.success.map(opFields), r.failure.map(opFields)];
}

// ---- decoding ----

const malformed = (what: string): ConclaveError => new ConclaveError('ErrInvalidField', `malformed key-value command: ${what}`);

/** Reads positional fields of one array, checking each one's type. */
export class Fields {
  private at = 0;
  constructor(
    private readonly fields: readonly unknown[],
    private readonly what: string,
  ) {}

  static of(value: unknown, what: string): Fields {
    if (!Array.isArray(value)) throw malformed(`${what} is not an array`);
    return new Fields(value, what);
  }

  private next(): unknown {
    if (this.at >= this.fields.length) throw malformed(`${this.what} is missing field ${this.at}`);
    return this.fields[this.at++];
  }

  bytes(): Uint8Array {
    const value = this.next();
    if (!(value instanceof Uint8Array)) throw malformed(`${this.what} field ${this.at - 1} is not bytes`);
    return value;
  }

  optionalBytes(): Uint8Array | undefined {
    const value = this.next();
    if (value === null) return undefined;
    if (!(value instanceof Uint8Array)) throw malformed(`${this.what} field ${this.at - 1} is not bytes`);
    return value;
  }

  int(): number {
    const value = this.next();
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw malformed(`${this.what} field ${this.at - 1} is not a count`);
    return value;
  }

  string(): string {
    const value = this.next();
    if (typeof value !== 'string') throw malformed(`${this.what} field ${this.at - 1} is not a string`);
    return value;
  }

  code<T>(table: readonly T[]): T {
    const value = table[this.int()];
    if (value === undefined) throw malformed(`${this.what} field ${this.at - 1} is an unknown code`);
    return value;
  }

  array(): readonly unknown[] {
    const value = this.next();
    if (!Array.isArray(value)) throw malformed(`${this.what} field ${this.at - 1} is not an array`);
    return value;
  }

  get atEnd(): boolean {
    return this.at >= this.fields.length;
  }

  done(): void {
    if (this.at !== this.fields.length) throw malformed(`${this.what} has ${this.fields.length - this.at} extra fields`);
  }
}

export function decodeKvCommand(data: Uint8Array): KvCommand {
  let value: unknown;
  try {
    value = decode(data);
  } catch (error) {
    throw malformed(`not msgpack (${error instanceof Error ? error.message : String(error)})`);
  }
  const command = Fields.of(value, 'command');
  const type = command.int();
  switch (type) {
    case COMMAND.put:
    case COMMAND.deleteRange:
    case COMMAND.txn:
      return readPlainWrite(type, command);
    case COMMAND.registryWrite: {
      const write = Fields.of(command.array(), 'registry write');
      command.done();
      return { type: 'registryWrite', request: readPlainWrite(write.int(), write) };
    }
    case COMMAND.compact: {
      const revision = command.int();
      const physical = command.int() === 1;
      command.done();
      return { type: 'compact', request: physical ? { revision, physical } : { revision } };
    }
    case COMMAND.leaseGrant: {
      const id = command.int();
      const ttl = command.int();
      const stamp = readStamp(command);
      command.done();
      return { type: 'leaseGrant', request: stamp === undefined ? { id, ttl } : { id, ttl, stamp } };
    }
    case COMMAND.leaseRevoke: {
      const id = command.int();
      const atMs = command.atEnd ? undefined : command.int();
      command.done();
      return { type: 'leaseRevoke', request: atMs === undefined ? { id } : { id, atMs } };
    }
    case COMMAND.workerAllocate: {
      const request = { pool: command.string(), lease: command.int(), workerCount: command.int(), nowMs: command.int(), maxClockSkewMs: command.int() };
      command.done();
      return { type: 'workerAllocate', request };
    }
    case COMMAND.workerRelease: {
      const request = { pool: command.string(), workerId: command.int(), lease: command.int(), nowMs: command.int() };
      command.done();
      return { type: 'workerRelease', request };
    }
    case COMMAND.segmentReserve: {
      const request = { name: command.string(), count: command.int() };
      command.done();
      return { type: 'segmentReserve', request };
    }
    case COMMAND.leaseCheckpoint: {
      const pairs = Fields.of(command.array(), 'lease checkpoint');
      const stamp = readStamp(command);
      command.done();
      const checkpoints = readCheckpoints(pairs);
      return { type: 'leaseCheckpoint', request: stamp === undefined ? { checkpoints } : { checkpoints, stamp } };
    }
    case COMMAND.putSequential: {
      const prefix = command.bytes();
      const value = command.bytes();
      const lease = command.int();
      const flags = command.int();
      command.done();
      return { type: 'putSequential', request: { prefix, value, ...compact({ lease, onePerLease: (flags & SEQUENTIAL_ONE_PER_LEASE) !== 0 }) } };
    }
    default:
      throw malformed(`unknown command type ${type}`);
  }
}

function readPlainWrite(type: number, f: Fields): PlainWrite {
  switch (type) {
    case COMMAND.put:
      return { type: 'put', request: readPut(f) };
    case COMMAND.deleteRange:
      return { type: 'deleteRange', request: readDelete(f) };
    case COMMAND.txn:
      return { type: 'txn', request: readTxn(f) };
    default:
      throw malformed(`a registry write carries command type ${type}, not a put, delete or txn`);
  }
}

/** A stamp as the last fields of its command: [member, incarnation, leaseMs], or nothing. */
export function stampFields(stamp: LeaseStamp | undefined): unknown[] {
  return stamp === undefined ? [] : [stamp.member, stamp.incarnation, stamp.leaseMs];
}

/** The stamp in a command's (or a lease record's) remaining fields, if any. */
export function readStamp(fields: Fields): LeaseStamp | undefined {
  if (fields.atEnd) return undefined;
  return { member: fields.string(), incarnation: fields.int(), leaseMs: fields.int() };
}

function readCheckpoints(pairs: Fields): LeaseCheckpoint[] {
  const checkpoints: LeaseCheckpoint[] = [];
  while (!pairs.atEnd) checkpoints.push({ id: pairs.int(), remainingMs: pairs.int() });
  return checkpoints;
}

/** Builds an object without the fields that hold their defaults. */
function compact<T extends object>(fields: T): Partial<T> {
  const out: Partial<T> = {};
  for (const name of Object.keys(fields) as (keyof T)[]) {
    const value = fields[name];
    if (value !== undefined && value !== false && value !== 0) out[name] = value;
  }
  return out;
}

function readPut(f: Fields): PutRequest {
  const key = f.bytes();
  const value = f.bytes();
  const lease = f.int();
  const flags = f.int();
  f.done();
  return { key, value, ...compact({ lease, prevKv: (flags & PUT_PREV_KV) !== 0, ignoreValue: (flags & PUT_IGNORE_VALUE) !== 0, ignoreLease: (flags & PUT_IGNORE_LEASE) !== 0 }) };
}

function readDelete(f: Fields): DeleteRangeRequest {
  const key = f.bytes();
  const rangeEnd = f.optionalBytes();
  const prevKv = f.int() === 1;
  f.done();
  return { key, ...compact({ rangeEnd, prevKv }) };
}

function readRange(f: Fields): RangeRequest {
  const key = f.bytes();
  const rangeEnd = f.optionalBytes();
  const limit = f.int();
  const revision = f.int();
  const sortOrder = f.code(SORT_ORDERS);
  const sortTarget = f.code(SORT_TARGETS);
  const flags = f.int();
  const minModRevision = f.int();
  const maxModRevision = f.int();
  const minCreateRevision = f.int();
  const maxCreateRevision = f.int();
  f.done();
  return {
    key,
    ...compact({
      rangeEnd,
      limit,
      revision,
      sortOrder: sortOrder === 'none' ? undefined : sortOrder,
      sortTarget: sortTarget === 'key' ? undefined : sortTarget,
      serializable: (flags & RANGE_SERIALIZABLE) !== 0,
      keysOnly: (flags & RANGE_KEYS_ONLY) !== 0,
      countOnly: (flags & RANGE_COUNT_ONLY) !== 0,
      minModRevision,
      maxModRevision,
      minCreateRevision,
      maxCreateRevision,
    }),
  };
}

function readCompare(value: unknown): Compare {
  const f = Fields.of(value, 'compare');
  const target = f.code(TARGETS);
  const result = f.code(RESULTS);
  const key = f.bytes();
  const rangeEnd = f.optionalBytes();
  const range = rangeEnd === undefined ? { key, result } : { key, rangeEnd, result };
  let compare: Compare;
  switch (target) {
    case 'version':
      compare = { ...range, target, version: f.int() };
      break;
    case 'create':
      compare = { ...range, target, createRevision: f.int() };
      break;
    case 'mod':
      compare = { ...range, target, modRevision: f.int() };
      break;
    case 'lease':
      compare = { ...range, target, lease: f.int() };
      break;
    case 'value':
      compare = { ...range, target, value: f.bytes() };
      break;
  }
  f.done();
  return compare;
}

function readOp(value: unknown): RequestOp {
  const f = Fields.of(value, 'txn operation');
  const kind = f.int();
  switch (kind) {
    case OP.range:
      return { requestRange: readRange(f) };
    case OP.put:
      return { requestPut: readPut(f) };
    case OP.deleteRange:
      return { requestDeleteRange: readDelete(f) };
    case OP.txn:
      return { requestTxn: readTxn(f) };
    default:
      throw malformed(`unknown txn operation ${kind}`);
  }
}

function readTxn(f: Fields): TxnRequest {
  const compare = f.array().map(readCompare);
  const success = f.array().map(readOp);
  const failure = f.array().map(readOp);
  f.done();
  return { compare, success, failure };
}
