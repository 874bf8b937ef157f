// Sequential keys, and the lock and election recipes built on them, in the deterministic apply, against a model:
// per name a FIFO queue of waiters (one per lease), the holder its head. Checked after every step: the keys under
// the name are the queue in order, the holder the store would name (the lowest create revision) is the model's
// head, sequence numbers and fencing tokens only grow, and a write guarded by a holder's token succeeds exactly
// while that holder's key lives, so that the tokens of the guarded writes that succeed never go down.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PutSequentialResponse } from '../../src/protocol/lock.js';
import type { TxnResponse } from '../../src/protocol/kv.js';
import { KvStore, type KvCommand } from '../../src/state/index.js';
import { sequenceOf, sequentialKey } from '../../src/state/kv-sequential.js';
import { expectOk, Harness } from './helpers.js';
import { bytes, latin1, MemoryBackend } from './memory-backend.js';

const NAMES = ['a', 'b'] as const;
const LEASES = [1, 2, 3] as const;

type Step =
  | { readonly acquire: { name: number; lease: number } }
  | { readonly release: { name: number; index: number } }
  | { readonly revoke: number }
  | { readonly guardedWrite: { name: number; holder: number } }
  | { readonly reload: true };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ acquire: fc.record({ name: fc.nat(NAMES.length - 1), lease: fc.constantFrom(...LEASES) }) }) },
  { weight: 2, arbitrary: fc.record({ release: fc.record({ name: fc.nat(NAMES.length - 1), index: fc.nat(3) }) }) },
  { weight: 1, arbitrary: fc.record({ revoke: fc.constantFrom(...LEASES) }) },
  { weight: 3, arbitrary: fc.record({ guardedWrite: fc.record({ name: fc.nat(NAMES.length - 1), holder: fc.nat(5) }) }) },
  { weight: 1, arbitrary: fc.constant({ reload: true as const }) },
);

interface Waiter {
  readonly key: string;
  readonly fence: number;
  readonly lease: number;
}

const grant = (id: number): KvCommand => ({ type: 'leaseGrant', request: { id, ttl: 60 } });
const prefixOf = (name: string) => bytes(`${name}/`);

async function keysUnder(store: KvStore, backend: MemoryBackend, name: string): Promise<{ key: string; createRevision: number }[]> {
  const prefix = prefixOf(name);
  const end = prefix.slice();
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  const { response } = await store.range({ key: prefix, rangeEnd: end }, backend);
  return response.kvs.map((kv) => ({ key: latin1(kv.key), createRevision: kv.createRevision }));
}

describe('sequential keys and the lock recipe in the state', () => {
  it('keep every name a FIFO queue whose head holds the lock, with tokens that only grow and fenced writes that never go back', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const backend = new MemoryBackend();
        let kv = new Harness(backend);
        await kv.loaded;
        for (const lease of LEASES) expectOk(await kv.store.apply(grant(lease), backend));
        const queues = new Map<string, Waiter[]>(NAMES.map((name) => [name, []]));
        /** Every waiter that was ever at the head of its queue: those that hold, or held, the lock. */
        const holders = new Map<string, Waiter[]>(NAMES.map((name) => [name, []]));
        const lastFence = new Map<string, number>();
        const lastGuarded = new Map<string, number>();
        const noteHeads = () => {
          for (const name of NAMES) {
            const head = queues.get(name)?.[0];
            const seen = holders.get(name) as Waiter[];
            if (head !== undefined && seen[seen.length - 1]?.key !== head.key) seen.push(head);
          }
        };
        for (const s of steps) {
          if ('acquire' in s) {
            const name = NAMES[s.acquire.name] as string;
            const queue = queues.get(name) as Waiter[];
            const command: KvCommand = { type: 'putSequential', request: { prefix: prefixOf(name), value: new Uint8Array(0), lease: s.acquire.lease, onePerLease: true } };
            const response = expectOk(await kv.store.apply(command, backend)).response as PutSequentialResponse;
            const existing = queue.find((w) => w.lease === s.acquire.lease);
            expect(response.created).toBe(existing === undefined);
            if (existing !== undefined) {
              expect(latin1(response.key)).toBe(existing.key);
              expect(response.createRevision).toBe(existing.fence);
            } else {
              expect(response.createRevision).toBeGreaterThan(lastFence.get(name) ?? 0);
              expect(sequenceOf(response.key)).toBe(response.createRevision);
              lastFence.set(name, response.createRevision);
              queue.push({ key: latin1(response.key), fence: response.createRevision, lease: s.acquire.lease });
            }
          } else if ('release' in s) {
            const name = NAMES[s.release.name] as string;
            const queue = queues.get(name) as Waiter[];
            const victim = queue[s.release.index % Math.max(1, queue.length)];
            if (victim === undefined) continue;
            expectOk(await kv.store.apply({ type: 'deleteRange', request: { key: bytes(victim.key) } }, backend));
            queue.splice(queue.indexOf(victim), 1);
          } else if ('revoke' in s) {
            expectOk(await kv.store.apply({ type: 'leaseRevoke', request: { id: s.revoke } }, backend));
            expectOk(await kv.store.apply(grant(s.revoke), backend));
            for (const [name, queue] of queues) queues.set(name, queue.filter((w) => w.lease !== s.revoke));
          } else if ('guardedWrite' in s) {
            const name = NAMES[s.guardedWrite.name] as string;
            const seen = holders.get(name) as Waiter[];
            const writer = seen[seen.length - 1 - (s.guardedWrite.holder % Math.max(1, seen.length))];
            if (writer === undefined) continue;
            const result = expectOk(
              await kv.store.apply(
                {
                  type: 'txn',
                  request: {
                    compare: [{ key: bytes(writer.key), target: 'create', result: 'equal', createRevision: writer.fence }],
                    success: [{ requestPut: { key: bytes(`storage/${name}`), value: bytes(String(writer.fence)) } }],
                    failure: [],
                  },
                },
                backend,
              ),
            ).response as TxnResponse;
            const holds = queues.get(name)?.[0]?.key === writer.key;
            expect(result.succeeded).toBe(holds);
            if (result.succeeded) {
              expect(writer.fence).toBeGreaterThanOrEqual(lastGuarded.get(name) ?? 0);
              lastGuarded.set(name, writer.fence);
            }
          } else {
            kv = new Harness(backend);
            await kv.loaded;
          }
          noteHeads();
          for (const name of NAMES) {
            const stored = await keysUnder(kv.store, backend, name);
            const queue = queues.get(name) as Waiter[];
            expect(stored.map((k) => k.key)).toEqual(queue.map((w) => w.key));
            const creates = stored.map((k) => k.createRevision);
            expect(creates).toEqual([...creates].sort((x, y) => x - y));
          }
          // The onePerLease records are those of the live waiters, no more: a lease's go with its keys.
          const hints = backend.dump().filter(([key]) => key.startsWith('S')).map(([key, value]) => `${key.slice(9)}${value}`);
          const live = [...queues.values()].flat().map((w) => w.key);
          expect(hints.sort()).toEqual(live.sort());
        }
      }),
      { numRuns: 150 },
    );
  });

  it('names keys prefix + 20 digits of the revision; refuses an empty prefix, onePerLease without a lease and a missing lease, writing nothing', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.loaded;
    const first = expectOk(await kv.store.apply({ type: 'putSequential', request: { prefix: bytes('jobs/'), value: bytes('x') } }, backend));
    expect(latin1((first.response as PutSequentialResponse).key)).toBe('jobs/00000000000000000002');
    expect(sequentialKey(bytes('p'), 123)).toEqual(bytes('p00000000000000000123'));
    const before = backend.dump();
    expect(await kv.store.apply({ type: 'putSequential', request: { prefix: new Uint8Array(0), value: bytes('x') } }, backend)).toMatchObject({ ok: false, error: { code: 'ErrEmptyKey' } });
    expect(await kv.store.apply({ type: 'putSequential', request: { prefix: bytes('p/'), value: bytes('x'), onePerLease: true } }, backend)).toMatchObject({ ok: false, error: { code: 'ErrInvalidField' } });
    expect(await kv.store.apply({ type: 'putSequential', request: { prefix: bytes('p/'), value: bytes('x'), lease: 9 } }, backend)).toMatchObject({ ok: false, error: { code: 'ErrLeaseNotFound' } });
    expect(backend.dump()).toEqual(before);
  });

  it('onePerLease forgets a key moved to another lease or deleted in a txn, and never takes a hand-made key for one', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.grant(5, 6);
    const sequential = (lease: number) =>
      kv.store.apply({ type: 'putSequential', request: { prefix: bytes('n/'), value: bytes(''), lease, onePerLease: true } }, backend).then((r) => expectOk(r).response as PutSequentialResponse);
    expectOk(await kv.store.apply({ type: 'put', request: { key: bytes('n/00000000000000000001'), value: bytes(''), lease: 5 } }, backend));
    const first = await sequential(5);
    expect(first.created).toBe(true);
    expect(await sequential(5)).toEqual({ ...first, created: false });
    // Moved to lease 6 by a plain put: lease 5 has no waiter under n/ any more.
    expectOk(await kv.store.apply({ type: 'put', request: { key: first.key, value: bytes(''), lease: 6 } }, backend));
    const second = await sequential(5);
    expect(second.created).toBe(true);
    expectOk(await kv.store.apply({ type: 'txn', request: { compare: [], success: [{ requestDeleteRange: { key: bytes('n/'), rangeEnd: bytes('n0') } }], failure: [] } }, backend));
    expect((await sequential(5)).created).toBe(true);
    expect(backend.dump().filter(([key]) => key.startsWith('S'))).toHaveLength(1);
  });
});
