// The checks etcd makes before it proposes a key-value request (its v3rpc key and txn checks), so that a bad
// request is refused at once instead of failing in the log, and the guard of the reserved prefixes
// (reserved-keys.ts) over every write op, in every branch. apply() repeats them: a command that reached the log
// without them still fails the same way on every member, before it writes anything.

import { kvLimits, type KvLimits } from '../limits.js';
import type { Compare, DeleteRangeRequest, KeyRange, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../protocol/kv.js';
import { ConclaveError } from '../protocol/errors.js';
import type { KvCommand, LeaseStamp, PlainWrite } from './kv-command.js';
import { compareBytes, keyName, spanOf } from './kv-layout.js';
import { sequentialKey, sequentialRange } from './kv-sequential.js';
import { refuseOutsideRegistry, refuseReserved } from './reserved-keys.js';
import { checkReserve } from './segments.js';
import { checkAllocate, checkRelease } from './workers.js';

const SORT_ORDERS = new Set(['none', 'ascend', 'descend']);
const SORT_TARGETS = new Set(['key', 'version', 'create', 'mod', 'value']);
const RESULTS = new Set(['equal', 'greater', 'less', 'not_equal']);

/** Where a write op may go: the reserved prefixes' guard of a plain write, or of a registry write. */
type WriteGuard = (range: KeyRange, verb: 'put' | 'delete') => ConclaveError | null;

const PLAIN: WriteGuard = refuseReserved;
const REGISTRY: WriteGuard = (range) => refuseOutsideRegistry(range);

function checkWrite(write: PlainWrite, limits: KvLimits, guard: WriteGuard): ConclaveError | null {
  switch (write.type) {
    case 'put':
      return checkPut(write.request, limits, guard);
    case 'deleteRange':
      return checkDelete(write.request, limits, guard);
    case 'txn':
      return checkTxn(write.request, limits, 0, guard) ?? checkDuplicates(write.request);
  }
}

export function validateKvCommand(command: KvCommand, limits: KvLimits = kvLimits): ConclaveError | null {
  switch (command.type) {
    case 'put':
    case 'deleteRange':
    case 'txn':
      return checkWrite(command, limits, PLAIN);
    case 'registryWrite': {
      const write = command.request as PlainWrite | undefined;
      if (write?.type !== 'put' && write?.type !== 'deleteRange' && write?.type !== 'txn') return new ConclaveError('ErrInvalidField', 'a registry write carries a put, a delete or a txn');
      return checkWrite(write, limits, REGISTRY);
    }
    case 'compact':
      return count(command.request.revision, 'revision');
    case 'leaseGrant':
      return checkLeaseId(command.request.id) ?? checkTtl(command.request.ttl, limits) ?? checkStamp(command.request.stamp);
    case 'leaseRevoke':
      return checkLeaseId(command.request.id) ?? count(command.request.atMs, 'atMs');
    case 'putSequential': {
      const { prefix, value, lease, onePerLease } = command.request;
      if (!(prefix instanceof Uint8Array) || prefix.length === 0) return new ConclaveError('ErrEmptyKey', 'a sequential put needs a prefix');
      if (onePerLease === true && (lease ?? 0) === 0) return new ConclaveError('ErrInvalidField', 'onePerLease needs a lease');
      // Its key is the prefix and 20 digits, which ones only the apply knows: every key it could make is guarded.
      return checkPut({ key: sequentialKey(prefix, 0), value, lease }, limits, () => refuseReserved(sequentialRange(prefix), 'put'));
    }
    case 'workerAllocate':
      return checkAllocate(command.request);
    case 'workerRelease':
      return checkRelease(command.request);
    case 'segmentReserve':
      return checkReserve(command.request);
    case 'leaseCheckpoint': {
      const { checkpoints } = command.request;
      if (!Array.isArray(checkpoints) || checkpoints.length > limits.maxCheckpointsPerCommand) {
        return new ConclaveError('ErrInvalidField', `a checkpoint of more than kvLimits.maxCheckpointsPerCommand (${limits.maxCheckpointsPerCommand}) leases`);
      }
      for (const checkpoint of checkpoints) {
        const bad = checkLeaseId(checkpoint.id) ?? count(checkpoint.remainingMs, 'remainingMs');
        if (bad !== null) return bad;
      }
      return checkStamp(command.request.stamp);
    }
  }
}

/** A lease ID of a grant, revoke or keepalive: 1 to 2^53-1 (0 is "no lease"). */
export function checkLeaseId(id: number): ConclaveError | null {
  if (Number.isSafeInteger(id) && id > 0) return null;
  return new ConclaveError('ErrInvalidField', `lease ID must be an integer from 1 to 2^53-1, got ${String(id)}`);
}

function checkTtl(ttl: number, limits: KvLimits): ConclaveError | null {
  if (!Number.isSafeInteger(ttl) || ttl < 1) return new ConclaveError('ErrInvalidField', `lease TTL must be a positive integer of seconds, got ${String(ttl)}`);
  if (ttl > limits.maxLeaseTtlSeconds) return new ConclaveError('ErrLeaseTTLTooLarge', `${ttl} s, the limit is kvLimits.maxLeaseTtlSeconds (${limits.maxLeaseTtlSeconds})`);
  return null;
}

/** The checks on a range request served outside the log (and on one inside a txn). */
export function validateRangeRequest(request: RangeRequest, limits: KvLimits = kvLimits): ConclaveError | null {
  const invalid = checkRange(request, limits);
  if (invalid !== null) return invalid;
  for (const [name, value] of [
    ['limit', request.limit],
    ['revision', request.revision],
    ['minModRevision', request.minModRevision],
    ['maxModRevision', request.maxModRevision],
    ['minCreateRevision', request.minCreateRevision],
    ['maxCreateRevision', request.maxCreateRevision],
  ] as const) {
    const bad = count(value, name);
    if (bad !== null) return bad;
  }
  if (request.sortOrder !== undefined && !SORT_ORDERS.has(request.sortOrder)) return new ConclaveError('ErrInvalidField', `sortOrder ${String(request.sortOrder)}`);
  if (request.sortTarget !== undefined && !SORT_TARGETS.has(request.sortTarget)) return new ConclaveError('ErrInvalidField', `sortTarget ${String(request.sortTarget)}`);
  return null;
}

/** Absent, or a non-negative safe integer (revisions, limits, lease IDs). */
function checkStamp(stamp: LeaseStamp | undefined): ConclaveError | null {
  if (stamp === undefined) return null;
  if (typeof stamp.member !== 'string' || !MEMBER_ID.test(stamp.member)) return new ConclaveError('ErrInvalidField', "a lease stamp's member is a member ID (16 lowercase hex digits)");
  return count(stamp.incarnation, 'the stamp\'s incarnation') ?? count(stamp.leaseMs, 'the stamp\'s leaseMs');
}

const MEMBER_ID = /^[0-9a-f]{16}$/;

function count(value: number | undefined, name: string): ConclaveError | null {
  if (value === undefined || (Number.isSafeInteger(value) && value >= 0)) return null;
  return new ConclaveError('ErrInvalidField', `${name} must be a non-negative integer below 2^53`);
}

function checkRange(range: KeyRange, limits: KvLimits): ConclaveError | null {
  if (!(range.key instanceof Uint8Array) || range.key.length === 0) return new ConclaveError('ErrEmptyKey');
  if (range.key.length > limits.maxKeyBytes) return new ConclaveError('ErrKeyTooLarge', `${range.key.length} bytes, the limit is maxKeyBytes (${limits.maxKeyBytes})`);
  if (range.rangeEnd !== undefined && range.rangeEnd.length > limits.maxKeyBytes) {
    return new ConclaveError('ErrKeyTooLarge', `range end of ${range.rangeEnd.length} bytes, the limit is maxKeyBytes (${limits.maxKeyBytes})`);
  }
  return null;
}

function checkPut(request: PutRequest, limits: KvLimits, guard: WriteGuard): ConclaveError | null {
  const invalid = checkRange({ key: request.key }, limits) ?? guard({ key: request.key }, 'put');
  if (invalid !== null) return invalid;
  if (request.value.length > limits.maxValueBytes) return new ConclaveError('ErrRequestTooLarge', `value of ${request.value.length} bytes, the limit is maxValueBytes (${limits.maxValueBytes})`);
  const badLease = count(request.lease, 'lease');
  if (badLease !== null) return badLease;
  if (request.ignoreValue === true && request.value.length !== 0) return new ConclaveError('ErrValueProvided');
  if (request.ignoreLease === true && (request.lease ?? 0) !== 0) return new ConclaveError('ErrLeaseProvided');
  return null;
}

function checkDelete(request: DeleteRangeRequest, limits: KvLimits, guard: WriteGuard): ConclaveError | null {
  return checkRange(request, limits) ?? guard(request, 'delete');
}

function checkCompare(compare: Compare, limits: KvLimits): ConclaveError | null {
  const invalid = checkRange(compare, limits);
  if (invalid !== null) return invalid;
  if (!RESULTS.has(compare.result)) return new ConclaveError('ErrInvalidField', `compare result ${String(compare.result)}`);
  switch (compare.target) {
    case 'version':
      return count(compare.version, 'compare version');
    case 'create':
      return count(compare.createRevision, 'compare createRevision');
    case 'mod':
      return count(compare.modRevision, 'compare modRevision');
    case 'lease':
      return count(compare.lease, 'compare lease');
    case 'value':
      return compare.value.length > limits.maxValueBytes ? new ConclaveError('ErrRequestTooLarge', `compare value of ${compare.value.length} bytes`) : null;
    default:
      return new ConclaveError('ErrInvalidField', `compare target ${String((compare as { target: unknown }).target)}`);
  }
}

/** Both branches, whichever will run: a reserved key in the branch not taken is refused too. */
function checkTxn(request: TxnRequest, limits: KvLimits, depth: number, guard: WriteGuard): ConclaveError | null {
  if (depth > limits.maxTxnDepth) return new ConclaveError('ErrTxnTooDeep', `more than maxTxnDepth (${limits.maxTxnDepth}) levels of nested txns`);
  const ops = Math.max(request.compare.length, request.success.length, request.failure.length);
  if (ops > limits.maxTxnOps) return new ConclaveError('ErrTooManyOps', `${ops} operations, the limit is maxTxnOps (${limits.maxTxnOps})`);
  for (const compare of request.compare) {
    const invalid = checkCompare(compare, limits);
    if (invalid !== null) return invalid;
  }
  for (const op of [...request.success, ...request.failure]) {
    const invalid = checkOp(op, limits, depth, guard);
    if (invalid !== null) return invalid;
  }
  return null;
}

function checkOp(op: RequestOp, limits: KvLimits, depth: number, guard: WriteGuard): ConclaveError | null {
  if ('requestRange' in op) return validateRangeRequest(op.requestRange, limits);
  if ('requestPut' in op) return checkPut(op.requestPut, limits, guard);
  if ('requestDeleteRange' in op) return checkDelete(op.requestDeleteRange, limits, guard);
  if ('requestTxn' in op) return checkTxn(op.requestTxn, limits, depth + 1, guard);
  // etcd answers an empty operation so.
  return new ConclaveError('ErrKeyNotFound', 'empty operation in txn');
}

// ---- duplicate keys: a key put twice, or put and deleted, in what one txn may execute ----

interface Interval {
  readonly start: Uint8Array;
  /** Null: unbounded (or unused, for a point). */
  readonly end: Uint8Array | null;
  readonly point: boolean;
}

function intervalOf(range: KeyRange): Interval {
  const span = spanOf(range);
  return span.single ? { start: span.key, end: null, point: true } : { start: span.start, end: span.end, point: false };
}

function covers(interval: Interval, key: Uint8Array): boolean {
  if (interval.point) return compareBytes(interval.start, key) === 0;
  return compareBytes(interval.start, key) <= 0 && (interval.end === null || compareBytes(key, interval.end) < 0);
}

const deleted = (dels: readonly Interval[], key: Uint8Array): boolean => dels.some((interval) => covers(interval, key));

const DUPLICATE = (): ConclaveError => new ConclaveError('ErrDuplicateKey');

/**
 * etcd's rule: within the ops that may run together (one branch, with the branches of its nested txns), no key is
 * put twice and no put key lies in a deleted range. The success and failure branches of one nested txn never run
 * together, so they may put the same key. Deleted ranges may overlap each other.
 */
function checkDuplicates(request: TxnRequest): ConclaveError | null {
  for (const branch of [request.success, request.failure]) {
    const result = branchKeys(branch);
    if (result instanceof ConclaveError) return result;
  }
  return null;
}

function branchKeys(ops: readonly RequestOp[]): { puts: Map<string, Uint8Array>; dels: Interval[] } | ConclaveError {
  const dels: Interval[] = [];
  for (const op of ops) if ('requestDeleteRange' in op) dels.push(intervalOf(op.requestDeleteRange));
  const puts = new Map<string, Uint8Array>();
  for (const op of ops) {
    if (!('requestTxn' in op)) continue;
    const then = branchKeys(op.requestTxn.success);
    if (then instanceof ConclaveError) return then;
    const otherwise = branchKeys(op.requestTxn.failure);
    if (otherwise instanceof ConclaveError) return otherwise;
    for (const [name, key] of then.puts) {
      if (puts.has(name) || deleted(dels, key)) return DUPLICATE();
      puts.set(name, key);
    }
    for (const [name, key] of otherwise.puts) {
      if ((puts.has(name) && !then.puts.has(name)) || deleted(dels, key)) return DUPLICATE();
      puts.set(name, key);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (!('requestPut' in op)) continue;
    const key = op.requestPut.key;
    const name = keyName(key);
    if (puts.has(name) || deleted(dels, key)) return DUPLICATE();
    puts.set(name, key);
  }
  return { puts, dels };
}
