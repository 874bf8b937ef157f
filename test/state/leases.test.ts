// Leases in the replicated state: grants, attachments that follow every write of a key, revokes that delete the
// attached keys in one revision, checkpoints, and the same state after a reload and on every replica.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replayEvents } from '../../src/state/kv-events.js';
import { attachmentBounds } from '../../src/state/kv-layout.js';
import { KvStore, type KvCommand } from '../../src/state/index.js';
import { expectOk, Harness, opPut } from './helpers.js';
import { bytes, latin1, MemoryBackend } from './memory-backend.js';

const grant = (id: number, ttl = 10): KvCommand => ({ type: 'leaseGrant', request: { id, ttl } });
const revoke = (id: number): KvCommand => ({ type: 'leaseRevoke', request: { id } });

/** The keys attached to a lease, as strings. */
async function attached(kv: Harness, lease: number): Promise<string[]> {
  return (await kv.store.attachedKeys(kv.backend, lease)).map(latin1);
}

/** The events of one revision, as "PUT key" / "DELETE key". */
async function eventsAt(kv: Harness, revision: number): Promise<string[]> {
  const events: string[] = [];
  await replayEvents(kv.backend, revision, revision, 100, (batch) => {
    for (const { event } of batch.events) events.push(`${event.type} ${latin1(event.kv.key)}`);
    return true;
  });
  return events;
}

describe('leases in the state', () => {
  it('grant: a new ID takes no revision; a taken one fails ErrLeaseExist; past kvLimits.maxLeases ErrTooManyLeases', async () => {
    const kv = new Harness(new MemoryBackend(), { limits: { maxLeases: 2 } });
    await kv.loaded;
    expect(expectOk(await kv.store.apply(grant(1, 30), kv.backend))).toMatchObject({ revision: 1, response: { id: 1, ttl: 30 } });
    expect(await kv.store.apply(grant(1), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrLeaseExist' } });
    expectOk(await kv.store.apply(grant(2), kv.backend));
    expect(await kv.store.apply(grant(3), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrTooManyLeases' } });
    expect(kv.store.leases.get(1)).toEqual({ id: 1, ttlSeconds: 30, remainingMs: 0 });
    expect(kv.store.revision).toBe(1);
  });

  it('refuses a TTL above kvLimits.maxLeaseTtlSeconds and IDs outside 1..2^53-1 before anything is written', async () => {
    const kv = new Harness();
    await kv.loaded;
    const before = (kv.backend as MemoryBackend).dump();
    expect(await kv.store.apply({ type: 'leaseGrant', request: { id: 1, ttl: 9_000_000_001 } }, kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrLeaseTTLTooLarge' } });
    expect(await kv.store.apply(grant(0), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrInvalidField' } });
    expect(await kv.store.apply(grant(2 ** 53), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrInvalidField' } });
    expect((kv.backend as MemoryBackend).dump()).toEqual(before);
  });

  it('an attachment follows the key: a put moves it to the new lease, a put without one or a delete drops it, ignore_lease keeps it', async () => {
    const kv = new Harness();
    await kv.grant(1, 2);
    await kv.put('a', 'v', { lease: 1 });
    await kv.put('b', 'v', { lease: 1 });
    expect(await attached(kv, 1)).toEqual(['a', 'b']);
    await kv.put('a', 'v2', { lease: 2 });
    expect([await attached(kv, 1), await attached(kv, 2)]).toEqual([['b'], ['a']]);
    await kv.put('a', 'v3', { ignoreLease: true });
    expect(await attached(kv, 2)).toEqual(['a']);
    await kv.put('a', 'v4');
    expect(await attached(kv, 2)).toEqual([]);
    await kv.del('b');
    expect(await attached(kv, 1)).toEqual([]);
    await kv.txn({ compare: [], success: [opPut('t', 'v', { lease: 2 })], failure: [] });
    expect(await attached(kv, 2)).toEqual(['t']);
  });

  it('a revoke deletes every attached key in one revision and the lease with them; a lease with no keys takes no revision', async () => {
    const kv = new Harness();
    await kv.grant(1, 2);
    await kv.put('x', 'v', { lease: 1 }); // 2
    await kv.put('y', 'v', { lease: 1 }); // 3
    await kv.put('z', 'v', { lease: 2 }); // 4
    await kv.put('w', 'v'); // 5
    const revoked = expectOk(await kv.store.apply(revoke(1), kv.backend));
    expect(revoked.revision).toBe(6);
    expect(await eventsAt(kv, 6)).toEqual(['DELETE x', 'DELETE y']);
    expect(await kv.pairs('\0', { rangeEnd: '\0' })).toEqual(['w=v', 'z=v']);
    expect(kv.store.leases.has(1)).toBe(false);
    expect(await kv.store.apply(revoke(1), kv.backend)).toMatchObject({ ok: false, revision: 6, error: { code: 'ErrLeaseNotFound' } });
    await kv.grant(3);
    expect(expectOk(await kv.store.apply(revoke(3), kv.backend)).revision).toBe(6);
    // A key put with the revoked lease now fails.
    expect(await kv.put('x', 'v', { lease: 1 })).toMatchObject({ ok: false, error: { code: 'ErrLeaseNotFound' } });
  });

  it('checkpoints record the remaining time (one for a gone lease is dropped); a reload gives the same leases', async () => {
    const kv = new Harness();
    await kv.grant(1, 2);
    await kv.put('k', 'v', { lease: 2 });
    expectOk(await kv.store.apply({ type: 'leaseCheckpoint', request: { checkpoints: [{ id: 1, remainingMs: 4500 }, { id: 9, remainingMs: 10 }] } }, kv.backend));
    expect(kv.store.leases.get(1)?.remainingMs).toBe(4500);
    expect(kv.store.leases.has(9)).toBe(false);
    const reloaded = new KvStore();
    await reloaded.load(kv.backend);
    expect([...reloaded.leases.all()]).toEqual([...kv.store.leases.all()]);
    expect((await reloaded.attachedKeys(kv.backend, 2)).map(latin1)).toEqual(['k']);
  });

  it("keeps the stamp of a grant's and a checkpoint's proposer with the lease (an unstamped one has none), through a reload", async () => {
    const kv = new Harness();
    await kv.loaded;
    const granted = { member: '00000000000000aa', incarnation: 7, leaseMs: 1234 };
    expectOk(await kv.store.apply({ type: 'leaseGrant', request: { id: 1, ttl: 5, stamp: granted } }, kv.backend));
    expectOk(await kv.store.apply({ type: 'leaseGrant', request: { id: 2, ttl: 5 } }, kv.backend));
    expect(kv.store.leases.get(1)).toEqual({ id: 1, ttlSeconds: 5, remainingMs: 0, stamp: granted });
    const checkpointed = { member: '00000000000000bb', incarnation: 9, leaseMs: 5678 };
    expectOk(await kv.store.apply({ type: 'leaseCheckpoint', request: { checkpoints: [{ id: 1, remainingMs: 3000 }, { id: 2, remainingMs: 2000 }], stamp: checkpointed } }, kv.backend));
    expect(kv.store.leases.get(2)).toEqual({ id: 2, ttlSeconds: 5, remainingMs: 2000, stamp: checkpointed });
    // A later unstamped checkpoint (an older member proposed it) leaves no stale stamp behind.
    expectOk(await kv.store.apply({ type: 'leaseCheckpoint', request: { checkpoints: [{ id: 1, remainingMs: 2500 }] } }, kv.backend));
    expect(kv.store.leases.get(1)).toEqual({ id: 1, ttlSeconds: 5, remainingMs: 2500 });
    const reloaded = new KvStore();
    await reloaded.load(kv.backend);
    expect([...reloaded.leases.all()]).toEqual([...kv.store.leases.all()]);
  });

  it('replicas that apply the same commands hold the same bytes', async () => {
    const lease = fc.constantFrom(0, 1, 2, 3);
    const key = fc.constantFrom('a', 'b', 'c', 'ab');
    const command: fc.Arbitrary<KvCommand> = fc.oneof(
      lease.filter((l) => l > 0).map(grant),
      lease.filter((l) => l > 0).map(revoke),
      fc.tuple(key, lease).map(([k, l]): KvCommand => ({ type: 'put', request: { key: bytes(k), value: bytes('v'), ...(l === 0 ? {} : { lease: l }) } })),
      key.map((k): KvCommand => ({ type: 'deleteRange', request: { key: bytes(k) } })),
      fc.array(fc.record({ id: lease.filter((l) => l > 0), remainingMs: fc.nat({ max: 10_000 }) }), { maxLength: 3 }).map((checkpoints): KvCommand => ({ type: 'leaseCheckpoint', request: { checkpoints } })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), async (commands) => {
        const replicas = [new Harness(), new Harness()];
        await Promise.all(replicas.map((r) => r.loaded));
        for (const c of commands) {
          const [a, b] = await Promise.all(replicas.map((r) => r.store.apply(c, r.backend)));
          expect(b).toEqual(a);
        }
        const [first, second] = replicas.map((r) => (r.backend as MemoryBackend).dump());
        expect(second).toEqual(first);
        // Every attachment points at a live key on that lease, and every leased key has its attachment.
        const replica = replicas[0] as Harness;
        for (const l of [1, 2, 3]) {
          for (const k of await attached(replica, l)) expect((await replica.get(k)).kvs[0]?.lease).toBe(l);
        }
        for (const kv of (await replica.get('\0', { rangeEnd: '\0' })).kvs) if (kv.lease !== 0) expect(await attached(replica, kv.lease)).toContain(kv.key);
        // The counts held in memory (a revoke of a lease counted at none reads nothing) are the backend's, and a
        // store loaded from the backend counts the same.
        const reloaded = new Harness(replica.backend);
        await reloaded.loaded;
        for (const l of [1, 2, 3]) {
          const inBackend = (await replica.backend.range(attachmentBounds(l))).length;
          expect(replica.store.leases.attachedCount(l)).toBe(inBackend);
          expect(reloaded.store.leases.attachedCount(l)).toBe(inBackend);
        }
      }),
      { numRuns: 200 },
    );
  });
});
