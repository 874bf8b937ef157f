// The reserved prefixes in the deterministic apply: a plain write (put, delete, txn in either branch, sequential
// put) whose key or range meets the registry's prefix is refused with ErrReservedKey and changes nothing, not even
// the revision, whether it was checked before proposing or reached the log without the check; reads of the prefix
// are served; the registry's own writes go through, and only under its prefix.

import { describe, expect, it } from 'vitest';
import type { RequestOp } from '../../src/protocol/kv.js';
import { instanceKey, registrationPut } from '../../src/protocol/registry-record.js';
import { decodeKvCommand, encodeKvCommand, validateKvCommand, type KvCommand, type PlainWrite } from '../../src/state/index.js';
import { bytes, expectOk, Harness, opDelete, opPut, opTxn } from './helpers.js';
import { MemoryBackend } from './memory-backend.js';

const REGISTERED = instanceKey('web', 'w1');
const registration = registrationPut({ service: 'web', instance: 'w1', address: 'h', port: 80, lease: 5 });

/** A store holding one user key and one registration (on lease 5). */
async function withRegistration(): Promise<Harness & { backend: MemoryBackend }> {
  const kv = new Harness(new MemoryBackend()) as Harness & { backend: MemoryBackend };
  await kv.grant(5);
  expectOk(await kv.put('a', '1'));
  expectOk(await kv.store.apply({ type: 'registryWrite', request: { type: 'put', request: registration } }, kv.backend));
  return kv;
}

const txnOf = (success: RequestOp[], failure: RequestOp[] = []): PlainWrite => ({ type: 'txn', request: { compare: [], success, failure } });

const refusedWrites: [string, KvCommand][] = [
  ['a put of a registry key', { type: 'put', request: { key: REGISTERED, value: bytes('forged') } }],
  ['a put of a new key under the prefix', { type: 'put', request: { key: bytes('\0registry/web/forged'), value: bytes('{}') } }],
  ['a delete of a registry key', { type: 'deleteRange', request: { key: REGISTERED } }],
  ['a delete of the prefix', { type: 'deleteRange', request: { key: bytes('\0registry/'), rangeEnd: bytes('\0registry0') } }],
  ['a delete of every key', { type: 'deleteRange', request: { key: bytes('\0'), rangeEnd: bytes('\0') } }],
  ['a delete of [\\0, \\xff)', { type: 'deleteRange', request: { key: bytes('\0'), rangeEnd: bytes('\xff') } }],
  ['a delete from a key below the prefix on', { type: 'deleteRange', request: { key: bytes('\0a'), rangeEnd: bytes('\0') } }],
  ['a txn putting under the prefix', txnOf([opPut('\0registry/web/w1', 'x')])],
  ['a txn deleting under the prefix in the branch not taken', txnOf([opPut('b', '1')], [opDelete('\0registry/web/w1')])],
  ['a txn nested in a txn, putting under the prefix', txnOf([opTxn({ compare: [], success: [], failure: [opPut('\0registry/x', 'y')] })])],
  ['a sequential put under the prefix (a lock named so)', { type: 'putSequential', request: { prefix: bytes('\0registry/web/'), value: bytes(''), lease: 5, onePerLease: true } }],
];

describe('reserved prefixes', () => {
  it.each(refusedWrites)('refuses %s before proposing, naming the prefix', (_, command) => {
    const refused = validateKvCommand(command);
    expect(refused?.code).toBe('ErrReservedKey');
    expect(refused?.message).toContain('"\\u0000registry/"');
  });

  it.each(refusedWrites)('refuses %s in the apply too (a command that reached the log unchecked), changing nothing', async (_, command) => {
    const kv = await withRegistration();
    const before = kv.backend.dump();
    const revision = kv.store.revision;
    // As a member that does not check (an older one) would have proposed it: through the log's encoding.
    const result = await kv.store.apply(decodeKvCommand(encodeKvCommand(command)), kv.backend);
    expect(result.ok === false && result.error.code).toBe('ErrReservedKey');
    expect(result.revision).toBe(revision);
    expect(kv.store.revision).toBe(revision);
    expect(kv.backend.dump()).toEqual(before);
  });

  it('says how to delete the rest of a range that spans the prefix', () => {
    const refused = validateKvCommand({ type: 'deleteRange', request: { key: bytes('\0'), rangeEnd: bytes('\0') } });
    expect(refused?.message).toBe(
      'key is under a reserved prefix: delete of range ["\\u0000", end of the key space) spans the reserved prefix "\\u0000registry/" (the service registry, written by /v3/registry/register and /v3/registry/deregister (and a lease revoke)); nothing was deleted: delete range ["\\u0000", "\\u0000registry/") and range ["\\u0000registry0", end of the key space) to delete the rest',
    );
  });

  it('lets through writes beside the prefix, and reads of it', async () => {
    const kv = await withRegistration();
    for (const command of [
      { type: 'put', request: { key: bytes('\0registry'), value: bytes('beside') } },
      { type: 'put', request: { key: bytes('\0registry0'), value: bytes('after') } },
      // Its keys are "\0registry" and 20 digits: after the prefix's range.
      { type: 'putSequential', request: { prefix: bytes('\0registry'), value: bytes('') } },
      { type: 'deleteRange', request: { key: bytes('\0'), rangeEnd: bytes('\0registry/') } },
      { type: 'deleteRange', request: { key: bytes('\0registry0'), rangeEnd: bytes('\0') } },
      // An empty range (its end below its key) holds no key of the prefix.
      { type: 'deleteRange', request: { key: bytes('\0registry/z'), rangeEnd: bytes('\0registry/a') } },
    ] satisfies KvCommand[]) {
      expect(validateKvCommand(command), JSON.stringify(command)).toBeNull();
      expectOk(await kv.store.apply(command, kv.backend));
    }
    // Discovery is a read: a range of the prefix, and a txn's compare and range over it.
    expect(await kv.pairs('\0registry/', { rangeEnd: '\0registry0' })).toHaveLength(1);
    const read = expectOk(await kv.txn({ compare: [{ key: REGISTERED, target: 'version', result: 'equal', version: 1 }], success: [{ requestRange: { key: REGISTERED } }], failure: [] }));
    expect(read.response).toMatchObject({ succeeded: true });
    // The "everything else" delete took every key but the registration.
    expect(await kv.pairs('\0', { rangeEnd: '\0' })).toEqual([`${Buffer.from(REGISTERED).toString('latin1')}=${Buffer.from(registration.value).toString('latin1')}`]);
  });

  it("lets the registry's own writes through, under its prefix only; a lease revoke still deregisters", async () => {
    const kv = await withRegistration();
    const health: KvCommand = { type: 'registryWrite', request: txnOf([{ requestPut: { key: REGISTERED, value: bytes('{}'), ignoreLease: true } }]) };
    expectOk(await kv.store.apply(decodeKvCommand(encodeKvCommand(health)), kv.backend));
    const outside: KvCommand[] = [
      { type: 'registryWrite', request: { type: 'put', request: { key: bytes('a'), value: bytes('x') } } },
      { type: 'registryWrite', request: { type: 'deleteRange', request: { key: bytes('\0'), rangeEnd: bytes('\0') } } },
      { type: 'registryWrite', request: txnOf([opPut('\0registry/ok', 'x')], [opDelete('b')]) },
    ];
    for (const command of outside) {
      expect(validateKvCommand(command)?.code).toBe('ErrReservedKey');
      const revision = kv.store.revision;
      const result = await kv.store.apply(command, kv.backend);
      expect(result.ok === false && result.error.code).toBe('ErrReservedKey');
      expect(kv.store.revision).toBe(revision);
    }
    expectOk(await kv.store.apply({ type: 'registryWrite', request: { type: 'deleteRange', request: { key: REGISTERED } } }, kv.backend));
    expectOk(await kv.store.apply({ type: 'registryWrite', request: { type: 'put', request: registration } }, kv.backend));
    expectOk(await kv.store.apply({ type: 'leaseRevoke', request: { id: 5, atMs: 1 } }, kv.backend));
    expect(await kv.pairs('\0registry/', { rangeEnd: '\0registry0' })).toEqual([]);
  });
});
