// Transactions, as etcd 3.4 applies them: first every compare along the chosen path is evaluated against the state
// before the txn (nested txns' compares too), then the requests on that path are checked (ignore_value /
// ignore_lease need the key, leases must exist, range revisions must be servable), and only then do the ops run,
// in order, each seeing the writes of the ones before it. A failed check fails the whole txn with nothing written.

import { ConclaveError } from '../protocol/errors.js';
import type { Compare, RequestOp, ResponseOp, TxnRequest, TxnResponse } from '../protocol/kv.js';
import type { StateReader } from './backend.js';
import { compareBytes, currentKey, spanOf } from './kv-layout.js';
import type { VersionRef } from './kv-records.js';
import { currentVersions, valueOf } from './kv-read.js';
import type { WriteContext } from './kv-write.js';

/** The branch a txn takes, with the paths of the nested txns in that branch, in order. */
interface TxnPath {
  readonly succeeded: boolean;
  readonly nested: readonly TxnPath[];
}

export async function applyTxn(context: WriteContext, request: TxnRequest, leaseExists: (lease: number) => boolean): Promise<TxnResponse | ConclaveError> {
  const path = await choosePath(context.writer, request);
  const refused = checkPuts(context.writer, request, path, leaseExists) ?? checkRanges(context, request, path);
  if (refused !== null) return refused;
  return execute(context, request, path);
}

const branchOf = (request: TxnRequest, path: TxnPath): readonly RequestOp[] => (path.succeeded ? request.success : request.failure);

async function choosePath(reader: StateReader, request: TxnRequest): Promise<TxnPath> {
  let succeeded = true;
  for (const compare of request.compare) {
    if (!(await holds(reader, compare))) {
      succeeded = false;
      break;
    }
  }
  const nested: TxnPath[] = [];
  for (const op of succeeded ? request.success : request.failure) if ('requestTxn' in op) nested.push(await choosePath(reader, op.requestTxn));
  return { succeeded, nested };
}

/** A compare over a range holds when it holds for every key in it; over no key, it is made against a zero version. */
async function holds(reader: StateReader, compare: Compare): Promise<boolean> {
  const found = currentVersions(reader, spanOf(compare));
  const refs = Array.isArray(found) ? found : await found;
  if (refs.length === 0) {
    // etcd: no value can be compared with a missing key (an empty value and no key look alike on the wire).
    if (compare.target === 'value') return false;
    return outcome(compare, compareTarget(compare, { createRevision: 0, modRevision: 0, version: 0, lease: 0 }, undefined));
  }
  return refs.every((ref) => outcome(compare, compareTarget(compare, ref, compare.target === 'value' ? valueOf(reader, ref) : undefined)));
}

function compareTarget(compare: Compare, ref: Pick<VersionRef, 'createRevision' | 'modRevision' | 'version' | 'lease'>, value: Uint8Array | undefined): number {
  switch (compare.target) {
    case 'version':
      return Math.sign(ref.version - compare.version);
    case 'create':
      return Math.sign(ref.createRevision - compare.createRevision);
    case 'mod':
      return Math.sign(ref.modRevision - compare.modRevision);
    case 'lease':
      return Math.sign(ref.lease - compare.lease);
    case 'value':
      return Math.sign(compareBytes(value as Uint8Array, compare.value));
  }
}

function outcome(compare: Compare, sign: number): boolean {
  switch (compare.result) {
    case 'equal':
      return sign === 0;
    case 'not_equal':
      return sign !== 0;
    case 'greater':
      return sign > 0;
    case 'less':
      return sign < 0;
  }
}

/** Walks the ops on the chosen path, nested txns included, until `check` refuses one. */
function walkPath(request: TxnRequest, path: TxnPath, check: (op: RequestOp) => ConclaveError | null): ConclaveError | null {
  let nested = 0;
  for (const op of branchOf(request, path)) {
    const refused = 'requestTxn' in op ? walkPath(op.requestTxn, path.nested[nested++] as TxnPath, check) : check(op);
    if (refused !== null) return refused;
  }
  return null;
}

function checkPuts(reader: StateReader, request: TxnRequest, path: TxnPath, leaseExists: (lease: number) => boolean): ConclaveError | null {
  return walkPath(request, path, (op) => {
    if (!('requestPut' in op)) return null;
    const put = op.requestPut;
    if ((put.ignoreValue === true || put.ignoreLease === true) && reader.get(currentKey(put.key)) === undefined) return new ConclaveError('ErrKeyNotFound');
    const lease = put.lease ?? 0;
    if (lease !== 0 && !leaseExists(lease)) return new ConclaveError('ErrLeaseNotFound');
    return null;
  });
}

function checkRanges(context: WriteContext, request: TxnRequest, path: TxnPath): ConclaveError | null {
  return walkPath(request, path, (op) => {
    if (!('requestRange' in op)) return null;
    const revision = op.requestRange.revision ?? 0;
    if (revision === 0) return null;
    if (revision > context.base) return new ConclaveError('ErrFutureRev', `revision ${revision}, the store is at ${context.base}`);
    if (revision < context.compactRevision) return new ConclaveError('ErrCompacted', `revision ${revision}, compacted through ${context.compactRevision}`);
    return null;
  });
}

async function execute(context: WriteContext, request: TxnRequest, path: TxnPath): Promise<TxnResponse> {
  const responses: ResponseOp[] = [];
  let nested = 0;
  for (const op of branchOf(request, path)) {
    if ('requestRange' in op) {
      responses.push({ responseRange: await context.range(op.requestRange) });
    } else if ('requestPut' in op) {
      const put = context.put(op.requestPut);
      // The checks above saw the key, and no earlier op of the txn may touch it (ErrDuplicateKey).
      if (put instanceof ConclaveError) throw new Error(`txn put failed after its checks passed: ${put.message}`);
      responses.push({ responsePut: put });
    } else if ('requestDeleteRange' in op) {
      responses.push({ responseDeleteRange: await context.deleteRange(op.requestDeleteRange) });
    } else {
      responses.push({ responseTxn: await execute(context, op.requestTxn, path.nested[nested++] as TxnPath) });
    }
  }
  return { succeeded: path.succeeded, responses };
}
