// The leader's lease keeping, on a fake monotonic clock, with proposals applied to a real store at once (or held,
// to stand for a slow commit): renewals answered once their checkpoint applies and sharing it, expiry through a
// revoke, a new leader's estimates from checkpoints and its grace, which leases are past their deadline, and a
// demoted leader failing its renewals.

import { describe, expect, it } from 'vitest';
import { ConclaveError } from '../../src/protocol/errors.js';
import { Lessor } from '../../src/server/lessor.js';
import { silentLogger } from '../../src/server/log.js';
import type { KvCommand, KvResult } from '../../src/state/index.js';
import { Harness } from '../state/helpers.js';

const GRACE_MS = 1000;
const SELF = '000000000000000a';
const OLD_LEADER = '000000000000000b';

/** A lessor over a store; `hold` keeps proposals pending until release() (a commit that takes time). */
class Rig {
  nowMs = 10_000;
  readonly kv = new Harness();
  readonly proposed: KvCommand[] = [];
  hold = false;
  private held: (() => Promise<void>)[] = [];
  readonly lessor: Lessor;

  /** Proposers whose stamps this member can map, with their clock's offset from this one's. */
  readonly offsets = new Map<string, number>();

  constructor(maxCheckpointsPerCommand = 1000, stamped: { marginMs: number } | null = null) {
    this.lessor = new Lessor({
      leases: this.kv.store.leases,
      nowMs: () => this.nowMs,
      ...(stamped === null
        ? {}
        : {
            stamps: {
              stamp: () => ({ member: SELF, incarnation: 1, leaseMs: this.nowMs }),
              mapDeadline: (stamp, remainingMs) => {
                const offset = stamp.member === SELF ? 0 : this.offsets.get(stamp.member);
                return offset === undefined ? null : stamp.leaseMs + remainingMs - offset;
              },
            },
            expiryMarginMs: stamped.marginMs,
          }),
      propose: (command) => this.propose(command),
      graceMs: GRACE_MS,
      maxCheckpointsPerCommand,
      limits: { maxCheckpointsInFlight: 1 },
      log: silentLogger,
    });
  }

  private propose(command: KvCommand): Promise<KvResult> {
    this.proposed.push(command);
    return new Promise((resolve) => {
      const apply = async () => {
        await this.kv.loaded;
        const result = await this.kv.store.apply(command, this.kv.backend);
        this.lessor.applied(command, result);
        resolve(result);
      };
      if (this.hold) this.held.push(apply);
      else void apply();
    });
  }

  async release(): Promise<void> {
    const held = this.held.splice(0);
    for (const apply of held) await apply();
    await settle();
  }

  async grant(id: number, ttl: number): Promise<void> {
    await this.propose({ type: 'leaseGrant', request: { id, ttl } });
  }

  checkpoints(): number {
    return this.proposed.filter((c) => c.type === 'leaseCheckpoint').length;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the lessor', () => {
  it('answers a renewal with the TTL once a checkpoint carrying it applied; renewals arriving meanwhile share the next one', async () => {
    const rig = new Rig();
    rig.lessor.promote();
    await rig.grant(1, 10);
    await rig.grant(2, 20);
    rig.hold = true;
    let answered: number | null = null;
    void rig.lessor.renew(1).then((ttl) => (answered = ttl));
    await settle();
    expect(answered).toBeNull();
    // While the first checkpoint is in flight, 50 renewals wait and then go out together.
    const more = Array.from({ length: 50 }, (_, i) => rig.lessor.renew(i % 2 === 0 ? 1 : 2));
    await rig.release();
    expect(answered).toBe(10);
    await rig.release();
    expect(await Promise.all(more)).toEqual(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? 10 : 20)));
    expect(rig.checkpoints()).toBe(2);
    const last = rig.proposed.at(-1) as Extract<KvCommand, { type: 'leaseCheckpoint' }>;
    expect(last.request.checkpoints).toEqual([
      { id: 1, remainingMs: 10_000 },
      { id: 2, remainingMs: 20_000 },
    ]);
  });

  it('splits checkpoints at maxCheckpointsPerCommand', async () => {
    const rig = new Rig(3);
    rig.lessor.promote();
    for (let id = 1; id <= 7; id++) await rig.grant(id, 10);
    const renewals = Promise.all(Array.from({ length: 7 }, (_, i) => rig.lessor.renew(i + 1)));
    await renewals;
    // The first renewal finds no checkpoint in flight and goes at once; the six that came meanwhile go by three.
    const sizes = rig.proposed.filter((c) => c.type === 'leaseCheckpoint').map((c) => (c as Extract<KvCommand, { type: 'leaseCheckpoint' }>).request.checkpoints.length);
    expect(sizes).toEqual([1, 3, 3]);
  });

  it('renews only at the leader, and answers 0 for a lease that does not exist or has expired', async () => {
    const rig = new Rig();
    await rig.grant(1, 10);
    await expect(rig.lessor.renew(1)).rejects.toMatchObject({ code: 'ErrNotLeader' });
    rig.lessor.promote();
    expect(await rig.lessor.renew(7)).toBe(0);
    rig.nowMs += 11_000;
    expect(await rig.lessor.renew(1)).toBe(0);
  });

  it('expires a lease at its deadline, through a revoke, and not before', async () => {
    const rig = new Rig();
    rig.lessor.promote();
    await rig.grant(1, 10);
    await rig.kv.put('k', 'v', { lease: 1 });
    rig.nowMs += 9_999;
    rig.lessor.tick();
    await settle();
    expect(rig.kv.store.leases.has(1)).toBe(true);
    expect(rig.lessor.remainingSeconds(1)).toBe(0);
    rig.nowMs += 1;
    rig.lessor.tick();
    await settle();
    await settle();
    // The revoke carries the leader's wall time: the worker IDs the lease held are reusable from it (state/workers.ts).
    expect(rig.proposed.at(-1)).toEqual({ type: 'leaseRevoke', request: { id: 1, atMs: expect.any(Number) } });
    expect(rig.kv.store.leases.has(1)).toBe(false);
    expect((await rig.kv.get('k')).count).toBe(0);
    expect(rig.lessor.remainingSeconds(1)).toBe(-1);
  });

  it('a renewal pushes the deadline to now + TTL', async () => {
    const rig = new Rig();
    rig.lessor.promote();
    await rig.grant(1, 10);
    rig.nowMs += 8_000;
    expect(await rig.lessor.renew(1)).toBe(10);
    rig.nowMs += 9_000;
    rig.lessor.tick();
    await settle();
    expect(rig.kv.store.leases.has(1)).toBe(true);
    expect(rig.lessor.remainingSeconds(1)).toBe(1);
  });

  it('a new leader goes on from the latest checkpoint (its local time of apply), never within its grace', async () => {
    const rig = new Rig();
    await rig.grant(1, 10); // deadline 20_000 (applied at 10_000)
    await rig.grant(2, 10);
    rig.nowMs = 15_000;
    // The old leader renewed lease 1 at 15_000: its checkpoint says 10 s were left.
    await rig.kv.loaded;
    const checkpoint: KvCommand = { type: 'leaseCheckpoint', request: { checkpoints: [{ id: 1, remainingMs: 10_000 }] } };
    rig.lessor.applied(checkpoint, await rig.kv.store.apply(checkpoint, rig.kv.backend)); // deadline 25_000
    rig.nowMs = 19_900;
    rig.lessor.promote();
    expect(rig.lessor.remainingSeconds(1)).toBe(5);
    // Lease 2's deadline (20_000) falls inside the grace: it lives until 20_900.
    rig.nowMs = 20_800;
    rig.lessor.tick();
    await settle();
    expect(rig.kv.store.leases.has(2)).toBe(true);
    rig.nowMs = 20_900;
    rig.lessor.tick();
    await settle();
    await settle();
    expect(rig.kv.store.leases.has(2)).toBe(false);
    rig.nowMs = 24_999;
    rig.lessor.tick();
    await settle();
    expect(rig.kv.store.leases.has(1)).toBe(true);
    rig.nowMs = 25_000;
    rig.lessor.tick();
    await settle();
    await settle();
    expect(rig.kv.store.leases.has(1)).toBe(false);
  });

  it("a member that applied a grant and a checkpoint late estimates from their proposer's stamps, when it can map them", async () => {
    const rig = new Rig(1000, { marginMs: 0 });
    rig.offsets.set(OLD_LEADER, 500); // the old leader's lease clock reads 500 ms ahead of this one's
    await rig.kv.loaded;
    const apply = async (command: KvCommand) => rig.lessor.applied(command, await rig.kv.store.apply(command, rig.kv.backend));
    // Granted by the old leader at (its) 10_500, i.e. at 10_000 here, but applied here only at 13_000: it lagged.
    rig.nowMs = 13_000;
    await apply({ type: 'leaseGrant', request: { id: 1, ttl: 10, stamp: { member: OLD_LEADER, incarnation: 3, leaseMs: 10_500 } } });
    // A grant from a proposer this member has no samples of counts from its apply alone.
    await apply({ type: 'leaseGrant', request: { id: 2, ttl: 10, stamp: { member: '000000000000000c', incarnation: 1, leaseMs: 0 } } });
    rig.nowMs = 19_999;
    expect(rig.lessor.pastDeadline(1)).toBe(false);
    rig.nowMs = 20_000;
    expect(rig.lessor.pastDeadline(1)).toBe(true);
    expect(rig.lessor.pastDeadline(2)).toBe(false);
    // Renewed by the old leader at 15_000 here (10 s left), applied here at 18_000.
    rig.nowMs = 18_000;
    await apply({ type: 'leaseCheckpoint', request: { checkpoints: [{ id: 1, remainingMs: 10_000 }], stamp: { member: OLD_LEADER, incarnation: 3, leaseMs: 15_500 } } });
    rig.nowMs = 24_999;
    expect(rig.lessor.pastDeadline(1)).toBe(false);
    rig.nowMs = 25_000;
    expect(rig.lessor.pastDeadline(1)).toBe(true);
    // As the new leader it expires lease 1 at 25_000, not at 28_000 (its apply plus the time left).
    rig.nowMs = 19_000;
    rig.lessor.promote();
    expect(rig.lessor.remainingSeconds(1)).toBe(6);
    expect(rig.lessor.remainingSeconds(2)).toBe(4); // 13_000 + 10 s
    // After a restart the same holds, from the stamps kept with the leases.
    rig.lessor.demote();
    rig.lessor.loaded();
    rig.lessor.promote();
    expect(rig.lessor.remainingSeconds(1)).toBe(6);
  });

  it('a leader adds the expiry margin to every grant and renewal (a fast clock never expires a lease before its TTL)', async () => {
    const rig = new Rig(1000, { marginMs: 100 });
    rig.lessor.promote();
    await rig.grant(1, 10);
    rig.nowMs = 20_099;
    rig.lessor.tick();
    await settle();
    expect(rig.kv.store.leases.has(1)).toBe(true);
    expect(rig.lessor.pastDeadline(1)).toBe(false);
    expect(await rig.lessor.renew(1)).toBe(10);
    const checkpoint = rig.proposed.at(-1);
    expect(checkpoint).toEqual({ type: 'leaseCheckpoint', request: { checkpoints: [{ id: 1, remainingMs: 10_100 }], stamp: { member: SELF, incarnation: 1, leaseMs: 20_099 } } });
    rig.nowMs = 30_198;
    rig.lessor.tick();
    await settle();
    expect(rig.kv.store.leases.has(1)).toBe(true);
    rig.nowMs = 30_199;
    rig.lessor.tick();
    await settle();
    await settle();
    expect(rig.kv.store.leases.has(1)).toBe(false);
  });

  it('tells a lease past its estimated deadline (what discovery hides) on a follower and on a new leader in its grace, until a renewal', async () => {
    const rig = new Rig();
    await rig.grant(1, 10); // deadline 20_000 (applied at 10_000)
    expect(rig.lessor.pastDeadline(1)).toBe(false);
    rig.nowMs = 20_000;
    // No leader revokes it (an election, a partition): it is past its deadline though it is still there.
    expect(rig.kv.store.leases.has(1)).toBe(true);
    expect(rig.lessor.pastDeadline(1)).toBe(true);
    // A new leader keeps it for its grace, and says so, until a renewal's checkpoint moves the deadline on.
    rig.lessor.promote();
    expect(rig.lessor.pastDeadline(1)).toBe(true);
    expect(await rig.lessor.renew(1)).toBe(10);
    expect(rig.lessor.pastDeadline(1)).toBe(false);
    rig.nowMs = 29_999;
    expect(rig.lessor.pastDeadline(1)).toBe(false);
    rig.nowMs = 30_000;
    expect(rig.lessor.pastDeadline(1)).toBe(true);
    expect(rig.lessor.pastDeadline(99)).toBe(false);
  });

  it('a leader that steps down fails the renewals still waiting for their checkpoint, and expires nothing', async () => {
    const rig = new Rig();
    rig.lessor.promote();
    await rig.grant(1, 10);
    rig.hold = true;
    // The first renewal's checkpoint is in the log already (it may still commit); the second waits behind it.
    const inFlight = rig.lessor.renew(1);
    const waiting = rig.lessor.renew(1);
    rig.lessor.demote();
    await expect(waiting).rejects.toBeInstanceOf(ConclaveError);
    await expect(waiting).rejects.toMatchObject({ code: 'ErrLeaderChanged' });
    rig.hold = false;
    await rig.release();
    expect(await inFlight).toBe(10);
    rig.nowMs += 60_000;
    rig.lessor.tick();
    await settle();
    expect(rig.proposed.some((c) => c.type === 'leaseRevoke')).toBe(false);
  });

  it('a lease revoked while its renewal waits answers 0', async () => {
    const rig = new Rig();
    rig.lessor.promote();
    await rig.grant(1, 10);
    await rig.grant(2, 10);
    rig.hold = true;
    const first = rig.lessor.renew(2);
    const renewal = rig.lessor.renew(1);
    rig.hold = false;
    await rig.kv.store.apply({ type: 'leaseRevoke', request: { id: 1 } }, rig.kv.backend).then((result) => rig.lessor.applied({ type: 'leaseRevoke', request: { id: 1 } }, result));
    await rig.release();
    expect(await first).toBe(10);
    expect(await renewal).toBe(0);
  });
});
