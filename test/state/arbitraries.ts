// fast-check generators of key-value commands and reads over a small key space (keys that are prefixes of each
// other, hold zero bytes or 0xff), in the model's string form, and their conversion to the store's requests.
// Revisions are generated as fractions of the revision the store will be at (resolveRevisions), so that most
// name a revision that exists, and some a compacted or a future one.

import fc from 'fast-check';
import type { Compare, KeyRange, RangeRequest, RequestOp, TxnRequest } from '../../src/protocol/kv.js';
import type { KvCommand } from '../../src/state/index.js';
import { bytes } from './memory-backend.js';
import type { MCommand, MCompare, MDelete, MOp, MPut, MRange, MTxn } from './model.js';

/** Leases the tests' leaseExists accepts. */
export const LIVE_LEASE = 7;
export const leaseExists = (lease: number): boolean => lease === LIVE_LEASE;

// '\0registry/s' is under the registry's reserved prefix: a write of it, or of a range that meets it, is refused.
const KEYS = ['a', 'a\0', 'ab', 'b', 'ba', 'c', '\0', '\xff', '\0registry/s'];
const key = fc.constantFrom(...KEYS);
const rangeEnd = fc.option(fc.constantFrom('\0', 'b', 'c', 'ab', 'a\0', 'bb', '\xff\xff', 'a', '\0registry/'), { nil: undefined, freq: 2 });
const value = fc.constantFrom('', 'v1', 'v2', 'v3', 'w\0');
const lease = fc.constantFrom(0, 0, 0, 0, 0, LIVE_LEASE, LIVE_LEASE, 9);
/** A fraction of the revision to come; resolved to a revision when the command runs. */
// In hundredths: fc.double clusters near its bounds, which would name revision 0 (the current one) most of the time.
const fraction = (max: number) => fc.integer({ min: 0, max: Math.round(max * 100) }).map((n) => n / 100);
const revisionPick = fc.option(fraction(1.2), { nil: undefined, freq: 2 });
const flag = fc.option(fc.constant(true), { nil: undefined, freq: 2 });

const validPut: fc.Arbitrary<MPut> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ key, value, lease, prevKv: flag }, { requiredKeys: ['key', 'value'] }) },
  { weight: 1, arbitrary: fc.record({ key, value: fc.constant(''), ignoreValue: fc.constant(true), lease, prevKv: flag }, { requiredKeys: ['key', 'value', 'ignoreValue'] }) },
  { weight: 1, arbitrary: fc.record({ key, value, ignoreLease: fc.constant(true), prevKv: flag }, { requiredKeys: ['key', 'value', 'ignoreLease'] }) },
);
// Invalid ones too: etcd refuses them before proposing.
const put: fc.Arbitrary<MPut> = fc.oneof(
  { weight: 8, arbitrary: validPut },
  { weight: 1, arbitrary: fc.record({ key: fc.constantFrom('', 'a'), value: fc.constant('v'), ignoreValue: fc.boolean(), ignoreLease: fc.boolean(), lease }) },
);

const deleteRange: fc.Arbitrary<MDelete> = fc.record({ key, rangeEnd, prevKv: flag }, { requiredKeys: ['key'] });

export const rangeRequest: fc.Arbitrary<MRange> = fc.record(
  {
    key,
    rangeEnd,
    limit: fc.constantFrom(0, 1, 2, 3),
    revision: revisionPick,
    sortOrder: fc.constantFrom('none', 'ascend', 'descend'),
    sortTarget: fc.constantFrom('key', 'version', 'create', 'mod', 'value'),
    keysOnly: flag,
    countOnly: fc.option(fc.constant(true), { nil: undefined, freq: 5 }),
    minModRevision: fc.option(revisionPick, { nil: undefined, freq: 3 }),
    maxModRevision: fc.option(revisionPick, { nil: undefined, freq: 3 }),
    minCreateRevision: fc.option(revisionPick, { nil: undefined, freq: 3 }),
    maxCreateRevision: fc.option(revisionPick, { nil: undefined, freq: 3 }),
  },
  { requiredKeys: ['key'] },
) as fc.Arbitrary<MRange>;

const compare: fc.Arbitrary<MCompare> = fc.oneof(
  fc.record({ key, rangeEnd, target: fc.constant('version' as const), result: fc.constantFrom('equal', 'greater', 'less', 'not_equal'), operand: fc.integer({ min: 0, max: 3 }) }, { requiredKeys: ['key', 'target', 'result', 'operand'] }),
  fc.record({ key, rangeEnd, target: fc.constantFrom('create' as const, 'mod' as const), result: fc.constantFrom('equal', 'greater', 'less', 'not_equal'), operand: fraction(1.1) }, { requiredKeys: ['key', 'target', 'result', 'operand'] }),
  fc.record({ key, rangeEnd, target: fc.constant('value' as const), result: fc.constantFrom('equal', 'greater', 'less', 'not_equal'), operand: value }, { requiredKeys: ['key', 'target', 'result', 'operand'] }),
  fc.record({ key, rangeEnd, target: fc.constant('lease' as const), result: fc.constantFrom('equal', 'greater', 'less', 'not_equal'), operand: lease }, { requiredKeys: ['key', 'target', 'result', 'operand'] }),
) as fc.Arbitrary<MCompare>;

const txn: fc.Arbitrary<MTxn> = fc.letrec<{ txn: MTxn; op: MOp }>((tie) => ({
  txn: fc.record({
    compare: fc.array(compare, { maxLength: 2 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 3 }),
  }),
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ range: rangeRequest }),
    fc.record({ put: validPut }),
    fc.record({ deleteRange }),
    fc.record({ txn: tie('txn') }),
  ) as fc.Arbitrary<MOp>,
})).txn;

export const command: fc.Arbitrary<MCommand> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('put' as const), request: put }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('deleteRange' as const), request: deleteRange }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('txn' as const), request: txn }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('compact' as const), revision: fraction(1.05) }) },
);

export type Step = { command: MCommand } | { read: MRange };
export const step: fc.Arbitrary<Step> = fc.oneof({ weight: 3, arbitrary: fc.record({ command }) }, { weight: 2, arbitrary: fc.record({ read: rangeRequest }) });

// ---- resolving picks ----

const pick = (fraction: number | undefined, current: number): number | undefined => (fraction === undefined ? undefined : Math.floor(fraction * (current + 1)));

function resolveRange(range: MRange, current: number): MRange {
  const out: MRange = { ...range };
  for (const field of ['revision', 'minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision'] as const) {
    const value = pick(range[field], current);
    if (value === undefined) delete out[field];
    else out[field] = value;
  }
  return out;
}

function resolveTxn(request: MTxn, current: number): MTxn {
  const op = (o: MOp): MOp => ('range' in o ? { range: resolveRange(o.range, current) } : 'txn' in o ? { txn: resolveTxn(o.txn, current) } : o);
  return {
    compare: request.compare.map((c) => (c.target === 'create' || c.target === 'mod' ? { ...c, operand: pick(c.operand as number, current) as number } : c)),
    success: request.success.map(op),
    failure: request.failure.map(op),
  };
}

/** The command with its revision fractions turned into revisions, for a store at `current`. */
export function resolveCommand(generated: MCommand, current: number): MCommand {
  switch (generated.type) {
    case 'compact':
      return { type: 'compact', revision: pick(generated.revision, current) as number };
    case 'txn':
      return { type: 'txn', request: resolveTxn(generated.request, current) };
    default:
      return generated;
  }
}

export const resolveRead = resolveRange;

// ---- the store's requests ----

function keyRange(key: string, rangeEnd: string | undefined): KeyRange {
  return rangeEnd === undefined ? { key: bytes(key) } : { key: bytes(key), rangeEnd: bytes(rangeEnd) };
}

export function toRangeRequest(range: MRange): RangeRequest {
  const { key, rangeEnd, ...rest } = range;
  return { ...keyRange(key, rangeEnd), ...rest };
}

function toPut(request: MPut) {
  return { ...request, key: bytes(request.key), value: bytes(request.value) };
}

function toCompare(c: MCompare): Compare {
  const base = { ...keyRange(c.key, c.rangeEnd), result: c.result };
  switch (c.target) {
    case 'version':
      return { ...base, target: 'version', version: c.operand as number };
    case 'create':
      return { ...base, target: 'create', createRevision: c.operand as number };
    case 'mod':
      return { ...base, target: 'mod', modRevision: c.operand as number };
    case 'lease':
      return { ...base, target: 'lease', lease: c.operand as number };
    case 'value':
      return { ...base, target: 'value', value: bytes(c.operand as string) };
  }
}

function toOp(op: MOp): RequestOp {
  if ('range' in op) return { requestRange: toRangeRequest(op.range) };
  if ('put' in op) return { requestPut: toPut(op.put) };
  if ('deleteRange' in op) return { requestDeleteRange: { ...keyRange(op.deleteRange.key, op.deleteRange.rangeEnd), ...(op.deleteRange.prevKv ? { prevKv: true } : {}) } };
  return { requestTxn: toTxn(op.txn) };
}

function toTxn(request: MTxn): TxnRequest {
  return { compare: request.compare.map(toCompare), success: request.success.map(toOp), failure: request.failure.map(toOp) };
}

export function toKvCommand(command: MCommand): KvCommand {
  switch (command.type) {
    case 'put':
      return { type: 'put', request: toPut(command.request) };
    case 'deleteRange':
      return { type: 'deleteRange', request: { ...keyRange(command.request.key, command.request.rangeEnd), ...(command.request.prevKv ? { prevKv: true } : {}) } };
    case 'txn':
      return { type: 'txn', request: toTxn(command.request) };
    case 'compact':
      return { type: 'compact', request: { revision: command.revision } };
  }
}
