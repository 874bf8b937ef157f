// The encoding of key-value commands in Raft entries, and the checks made before a command is proposed.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { kvLimits } from '../../src/limits.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../../src/protocol/kv.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import { decodeKvCommand, encodeKvCommand, validateKvCommand, validateRangeRequest, type KvCommand, type PlainWrite } from '../../src/state/index.js';
import { command, resolveCommand, toKvCommand } from './arbitraries.js';
import { bytes } from './memory-backend.js';

/** What decoding gives back: the fields at their defaults left out. */
function canonical(command: KvCommand): KvCommand {
  const drop = <T extends object>(request: T): T =>
    Object.fromEntries(
      Object.entries(request).filter(
        ([name, value]) =>
          value !== undefined && value !== false && value !== 0 && !(name === 'rangeEnd' && (value as Uint8Array).length === 0) && !(name === 'sortOrder' && value === 'none') && !(name === 'sortTarget' && value === 'key'),
      ),
    ) as T;
  const op = (o: RequestOp): RequestOp => {
    if ('requestRange' in o) return { requestRange: drop(o.requestRange) };
    if ('requestPut' in o) return { requestPut: drop(o.requestPut) };
    if ('requestDeleteRange' in o) return { requestDeleteRange: drop(o.requestDeleteRange) };
    return { requestTxn: txn(o.requestTxn) };
  };
  const txn = (t: TxnRequest): TxnRequest => ({
    compare: t.compare.map((c) => (c.rangeEnd !== undefined && c.rangeEnd.length === 0 ? (({ rangeEnd: _, ...rest }) => rest)(c) : c) as typeof c),
    success: t.success.map(op),
    failure: t.failure.map(op),
  });
  switch (command.type) {
    case 'put':
      return { type: 'put', request: drop(command.request) };
    case 'deleteRange':
      return { type: 'deleteRange', request: drop(command.request) };
    case 'txn':
      return { type: 'txn', request: txn(command.request) };
    case 'compact':
      return { type: 'compact', request: command.request.physical === true ? { revision: command.request.revision, physical: true } : { revision: command.request.revision } };
    case 'registryWrite':
      return { type: 'registryWrite', request: canonical(command.request) as PlainWrite };
    default:
      return command;
  }
}

const leaseId = fc.oneof(fc.constantFrom(1, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
// The proposer's clock stamp: absent (entries written before stamps) or present.
const stamp = fc.record({ member: fc.stringMatching(/^[0-9a-f]{16}$/), incarnation: fc.integer({ min: 0, max: 2 ** 32 - 1 }), leaseMs: fc.maxSafeNat() });

// The model's commands, plus the fields it does not use (serializable, physical, explicit defaults), and leases.
const anyCommand: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.record({ type: fc.constant('leaseGrant' as const), request: fc.record({ id: leaseId, ttl: fc.integer({ min: 1, max: kvLimits.maxLeaseTtlSeconds }), stamp }, { requiredKeys: ['id', 'ttl'] }) }),
  fc.record({ type: fc.constant('leaseRevoke' as const), request: fc.record({ id: leaseId }) }),
  fc.record({
    type: fc.constant('putSequential' as const),
    request: fc.record({ prefix: fc.uint8Array({ minLength: 1, maxLength: 16 }), value: fc.uint8Array({ maxLength: 16 }), lease: leaseId, onePerLease: fc.constant(true) }, { requiredKeys: ['prefix', 'value'] }),
  }),
  fc.record({ type: fc.constant('leaseCheckpoint' as const), request: fc.record({ checkpoints: fc.array(fc.record({ id: leaseId, remainingMs: fc.maxSafeNat() }), { maxLength: 20 }), stamp }, { requiredKeys: ['checkpoints'] }) }),
  command.map((c) => toKvCommand(resolveCommand(c, 1000))),
  command.filter((c) => c.type !== 'compact').map((c) => ({ type: 'registryWrite' as const, request: toKvCommand(resolveCommand(c, 1000)) as PlainWrite })),
  fc.record({ type: fc.constant('compact' as const), request: fc.record({ revision: fc.maxSafeNat(), physical: fc.boolean() }) }),
  fc.record({
    type: fc.constant('txn' as const),
    request: fc.record({
      compare: fc.constant([]),
      success: fc.array(
        fc.record({
          requestRange: fc.record({ key: fc.uint8Array({ minLength: 1 }), rangeEnd: fc.uint8Array(), serializable: fc.boolean(), sortOrder: fc.constant('none' as const), limit: fc.maxSafeNat(), revision: fc.maxSafeNat() }),
        }),
      ),
      failure: fc.constant([]),
    }),
  }),
  fc.record({ type: fc.constant('put' as const), request: fc.record({ key: fc.uint8Array(), value: fc.uint8Array(), lease: fc.maxSafeNat(), prevKv: fc.boolean() }) }),
);

describe('encodeKvCommand / decodeKvCommand', () => {
  it('round-trip every command to its canonical form, and re-encode to the same bytes', () => {
    fc.assert(
      fc.property(anyCommand, (cmd) => {
        const encoded = encodeKvCommand(cmd);
        const decoded = decodeKvCommand(encoded);
        expect(decoded).toEqual(canonical(cmd));
        expect(encodeKvCommand(decoded)).toEqual(encoded);
      }),
      { numRuns: 500 },
    );
  });

  it('are compact: a put of a short key costs 8 bytes beside its key and value', () => {
    const put: KvCommand = { type: 'put', request: { key: bytes('foo'), value: bytes('bar') } };
    expect(encodeKvCommand(put).length).toBe(3 + 3 + 8);
    expect(decodeKvCommand(encodeKvCommand(put))).toEqual(put);
  });

  it('refuse malformed input with ErrInvalidField', () => {
    const bad = [
      Uint8Array.of(0xc1),
      encode('put'),
      encode([9, 1]),
      encode([0, bytes('k')]),
      encode([0, bytes('k'), bytes('v'), 0, 0, 'extra']),
      encode([0, 'k', bytes('v'), 0, 0]),
      encode([0, bytes('k'), bytes('v'), -1, 0]),
      encode([1, bytes('k'), 7, 0]),
      encode([2, [], [[7]], []]),
      encode([2, [[9, 0, bytes('k'), null, 1]], [], []]),
      encode([2, [], [[0, bytes('k'), null, 0, 0, 5, 0, 0, 0, 0, 0, 0]], []]),
      encode([3, 1.5, 0]),
      // A registry write carries a put, a delete or a txn, nested, and nothing else.
      encode([13, [3, 1, 0]]),
      encode([13, 0, bytes('k'), bytes('v'), 0, 0]),
      encode([13, [0, bytes('k'), bytes('v'), 0, 0], 'extra']),
    ];
    for (const data of bad) {
      expect(() => decodeKvCommand(data), Buffer.from(data).toString('hex')).toThrow(ConclaveError);
      try {
        decodeKvCommand(data);
      } catch (error) {
        expect((error as ConclaveError).code).toBe('ErrInvalidField');
      }
    }
  });
});

describe('validateKvCommand', () => {
  const put = (request: Partial<PutRequest>): KvCommand => ({ type: 'put', request: { key: bytes('k'), value: bytes('v'), ...request } });
  const code = (command: KvCommand, limits = kvLimits) => validateKvCommand(command, limits)?.code ?? null;

  it('accepts good requests', () => {
    expect(code(put({}))).toBeNull();
    expect(code({ type: 'deleteRange', request: { key: bytes('a'), rangeEnd: bytes('\0') } })).toBeNull();
    expect(code({ type: 'compact', request: { revision: 3 } })).toBeNull();
    expect(code({ type: 'txn', request: { compare: [], success: [], failure: [] } })).toBeNull();
  });

  it('bounds keys, range ends and values by kvLimits', () => {
    const limits = { ...kvLimits, maxKeyBytes: 4, maxValueBytes: 8 };
    expect(code(put({ key: bytes('1234') }), limits)).toBeNull();
    expect(code(put({ key: bytes('12345') }), limits)).toBe('ErrKeyTooLarge');
    expect(code(put({ value: new Uint8Array(9) }), limits)).toBe('ErrRequestTooLarge');
    expect(code({ type: 'deleteRange', request: { key: bytes('a'), rangeEnd: bytes('abcde') } }, limits)).toBe('ErrKeyTooLarge');
    const range: RangeRequest = { key: bytes('a'), rangeEnd: bytes('abcde') };
    expect(validateRangeRequest(range, limits)?.code).toBe('ErrKeyTooLarge');
    expect(code({ type: 'txn', request: { compare: [], success: [{ requestPut: { key: bytes('abcde'), value: bytes('') } }], failure: [] } }, limits)).toBe('ErrKeyTooLarge');
    expect(code({ type: 'txn', request: { compare: [{ key: bytes('abcde'), target: 'version', result: 'equal', version: 0 }], success: [], failure: [] } }, limits)).toBe('ErrKeyTooLarge');
  });

  it('refuses what etcd refuses', () => {
    expect(code(put({ key: bytes('') }))).toBe('ErrEmptyKey');
    expect(code({ type: 'deleteRange', request: { key: new Uint8Array(0) } as DeleteRangeRequest })).toBe('ErrEmptyKey');
    expect(code(put({ ignoreValue: true }))).toBe('ErrValueProvided');
    expect(code(put({ ignoreValue: true, value: bytes('') }))).toBeNull();
    expect(code(put({ ignoreLease: true, lease: 1 }))).toBe('ErrLeaseProvided');
    expect(code(put({ lease: -1 }))).toBe('ErrInvalidField');
    expect(code({ type: 'compact', request: { revision: -1 } })).toBe('ErrInvalidField');
    expect(code({ type: 'txn', request: { compare: [], success: [{ requestRange: { key: bytes('a'), sortOrder: 'sideways' as never } }], failure: [] } })).toBe('ErrInvalidField');
    expect(code({ type: 'txn', request: { compare: [{ key: bytes('a'), target: 'version', result: 'equal', version: 1.5 }], success: [], failure: [] } })).toBe('ErrInvalidField');
  });
});
