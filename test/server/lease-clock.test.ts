// The lease clock on simulated members: each has a monotonic clock that a test can make jump, stop or run at
// another rate, and they sample each other every PING_MS over links with a delay, as transport pings do. The
// lease clock of a member with a faulty clock must follow real time within its band, one cut off from the
// quorum must stop, and a stamp mapped from one member onto another must never come out early.

import { describe, expect, it } from 'vitest';
import { decodeClockSample, encodeClockSample, LeaseClock, type ClockSample } from '../../src/server/lease-clock.js';
import { leaseClockLimits, transportLimits } from '../../src/limits.js';
import type { NodeId } from '../../src/raft/types.js';

const PING_MS = transportLimits.peerPingIntervalMs;
const DELAY_MS = 3;
const STEP_MS = 5;
const { aheadMs: AHEAD_MS, behindMs: BEHIND_MS } = leaseClockLimits;
/**
 * How far behind real time a healthy quorum's clock runs: a peer's count begins when it is first heard (a ping
 * interval and a trip late) and grows as its samples arrive (another), each seen up to a step late.
 */
const LAG_MS = 2 * (PING_MS + DELAY_MS + STEP_MS);

/** A monotonic clock that reads real time shifted, at a rate, and never goes back. */
class FaultyClock {
  private offsetMs = 0;
  private rate = 1;
  private anchorRealMs = 0;
  private anchorReadingMs = 0;
  private last = -Infinity;

  constructor(private readonly real: () => number) {}

  read(): number {
    const reading = this.anchorReadingMs + (this.real() - this.anchorRealMs) * this.rate + this.offsetMs;
    this.last = Math.max(this.last, reading);
    return this.last;
  }

  jump(ms: number): void {
    this.offsetMs += ms;
  }

  setRate(rate: number): void {
    this.anchorReadingMs = this.read() - this.offsetMs;
    this.anchorRealMs = this.real();
    this.rate = rate;
  }
}

interface SimMember {
  readonly id: NodeId;
  readonly clock: FaultyClock;
  readonly lease: LeaseClock;
  readonly phaseMs: number;
}

class Cluster {
  realMs = 0;
  readonly members: SimMember[];
  private readonly cut = new Set<NodeId>();
  /** Links whose samples are all read this much later, by `from>to` (a busy receiver), in ms. */
  readonly lateLinks = new Map<string, number>();
  /** Links whose second connection is slower, by `from>to`: the delay of a sample on it, in ms. */
  readonly slowLinks = new Map<string, number>();
  private inFlight: { at: number; to: SimMember; from: NodeId; sample: ClockSample }[] = [];

  constructor(size: number) {
    const ids = Array.from({ length: size }, (_, i) => `${'0'.repeat(15)}${i + 1}` as NodeId);
    this.members = ids.map((id, i) => {
      const clock = new FaultyClock(() => this.realMs);
      const lease = new LeaseClock({ member: id, incarnation: i + 1, monotonicMs: () => clock.read(), voters: () => ids, limits: leaseClockLimits });
      return { id, clock, lease, phaseMs: (i * 3 * STEP_MS) % PING_MS };
    });
  }

  member(i: number): SimMember {
    return this.members[i] as SimMember;
  }

  isolate(i: number): void {
    this.cut.add(this.member(i).id);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Runs for `ms` of real time; `each` sees every step. */
  run(ms: number, each?: () => void): void {
    const end = this.realMs + ms;
    while (this.realMs < end) {
      this.realMs += STEP_MS;
      for (const from of this.members) {
        if ((this.realMs + from.phaseMs) % PING_MS !== 0) continue;
        for (const to of this.members) {
          if (to === from || this.cut.has(from.id) || this.cut.has(to.id)) continue;
          // Through the payload a ping carries, as the transport sends it.
          const sample = decodeClockSample(encodeClockSample(from.lease.sample()));
          if (sample === null) throw new Error('a sample did not survive its encoding');
          this.inFlight.push({ at: this.realMs + DELAY_MS + (this.lateLinks.get(`${from.id}>${to.id}`) ?? 0), to, from: from.id, sample });
          // Each pair has two connections (one dialled each way) and a sample goes on both: a delay on one of
          // them makes a peer's samples arrive out of order.
          const slowMs = this.slowLinks.get(`${from.id}>${to.id}`);
          if (slowMs !== undefined) this.inFlight.push({ at: this.realMs + slowMs, to, from: from.id, sample });
        }
      }
      const due = this.inFlight.filter((m) => m.at <= this.realMs);
      this.inFlight = this.inFlight.filter((m) => m.at > this.realMs);
      for (const message of due) message.to.lease.observe(message.from, message.sample);
      for (const member of this.members) member.lease.nowMs();
      each?.();
    }
  }
}

/**
 * Makes the fault (after reading the clocks), runs `ms` and checks that member i's lease clock moved with real
 * time: never ahead by more than aheadMs, never behind by more than the lag and behindMs.
 */
function expectFollowsRealTime(cluster: Cluster, i: number, ms: number, fault: () => void = () => {}): void {
  const member = cluster.member(i);
  const startReal = cluster.realMs;
  const startLease = member.lease.nowMs();
  fault();
  let worstAheadMs = -Infinity;
  let worstBehindMs = -Infinity;
  cluster.run(ms, () => {
    const drift = member.lease.nowMs() - startLease - (cluster.realMs - startReal);
    worstAheadMs = Math.max(worstAheadMs, drift);
    worstBehindMs = Math.max(worstBehindMs, -drift);
  });
  expect(worstAheadMs).toBeLessThanOrEqual(AHEAD_MS);
  expect(worstBehindMs).toBeLessThanOrEqual(LAG_MS + BEHIND_MS);
}

describe('the lease clock', () => {
  it('runs with real time on healthy members', () => {
    const cluster = new Cluster(3);
    cluster.run(1000);
    for (let i = 0; i < 3; i++) expectFollowsRealTime(cluster, i, 10_000);
  });

  for (const size of [3, 5]) {
    it(`a member whose clock jumps 5 s forward (one of ${size}) runs at most aheadMs ahead`, () => {
      const cluster = new Cluster(size);
      cluster.run(1000);
      expectFollowsRealTime(cluster, 0, 8000, () => cluster.member(0).clock.jump(5000));
      // And the others never noticed.
      expectFollowsRealTime(cluster, 1, 2000);
    });

    it(`a member whose clock stands still (one of ${size}) goes on with the quorum`, () => {
      const cluster = new Cluster(size);
      cluster.run(1000);
      expectFollowsRealTime(cluster, 0, 8000, () => cluster.member(0).clock.setRate(0));
    });

    for (const rate of [0.25, 4]) {
      it(`a member whose clock runs at ${rate}x (one of ${size}) follows real time`, () => {
        const cluster = new Cluster(size);
        cluster.run(1000);
        expectFollowsRealTime(cluster, 0, 8000, () => cluster.member(0).clock.setRate(rate));
        expectFollowsRealTime(cluster, 1, 2000);
      });
    }
  }

  it('a member cut off from the quorum stops, at most aheadMs past where the quorum left it; healed, it goes on', () => {
    const cluster = new Cluster(3);
    cluster.run(1000);
    const before = cluster.member(0).lease.nowMs();
    cluster.isolate(0);
    cluster.run(3000);
    expect(cluster.member(0).lease.nowMs() - before).toBeLessThanOrEqual(AHEAD_MS + LAG_MS);
    cluster.heal();
    cluster.run(500);
    expectFollowsRealTime(cluster, 0, 3000);
  });

  it("a peer's samples arriving out of order (one of its two connections delayed 200 ms) do not speed the clock up", () => {
    const cluster = new Cluster(3);
    cluster.run(1000);
    const leader = cluster.member(0);
    for (const peer of cluster.members.slice(1)) {
      cluster.slowLinks.set(`${leader.id}>${peer.id}`, 200);
      cluster.slowLinks.set(`${peer.id}>${leader.id}`, 200);
    }
    for (let i = 0; i < 3; i++) expectFollowsRealTime(cluster, i, 5000);
    cluster.slowLinks.clear();
    expectFollowsRealTime(cluster, 0, 3000);
  });

  it("a member that hears from no quorum says so in its samples, and its stalled clock never skews how others map its stamps", () => {
    const cluster = new Cluster(3);
    cluster.run(1000);
    const cutOff = cluster.member(2);
    const stamp = cutOff.lease.stamp() as NonNullable<ReturnType<LeaseClock['stamp']>>;
    const before = cluster.member(0).lease.mapDeadline(stamp, 5000);
    expect(cutOff.lease.sample().anchored).toBe(true);
    cluster.isolate(2);
    cluster.run(3000);
    expect(cutOff.lease.sample().anchored).toBe(false);
    // Nor does it stamp what it proposes meanwhile: its clock lags, and the stamp would map early.
    expect(cutOff.lease.stamp()).toBeUndefined();
    // Its samples while cut off (here delivered after all, as a resumed member's answers to queued pings are).
    const stalled = cutOff.lease.sample();
    for (let i = 0; i < 10; i++) cluster.member(0).lease.observe(cutOff.id, { ...stalled, monotonicMs: stalled.monotonicMs + i });
    expect(cluster.member(0).lease.mapDeadline(stamp, 5000)).toBe(before);
    cluster.heal();
    cluster.run(500);
    expect(cutOff.lease.sample().anchored).toBe(true);
    expect(cutOff.lease.stamp()).toBeDefined();
    // Its earlier stamp maps as it did before (within a sample's trip and cadence), not seconds later.
    const after = cluster.member(0).lease.mapDeadline(stamp, 5000);
    expect(Math.abs((after as number) - (before as number))).toBeLessThanOrEqual(LAG_MS);
  });

  it("a spell of samples read late (a busy receiver) does not make another member's stamps map late", () => {
    const cluster = new Cluster(3);
    cluster.run(2000);
    const proposer = cluster.member(1);
    const mapper = cluster.member(0).lease;
    const stamp = proposer.lease.stamp() as NonNullable<ReturnType<LeaseClock['stamp']>>;
    const before = mapper.mapDeadline(stamp, 5000) as number;
    cluster.lateLinks.set(`${proposer.id}>${cluster.member(0).id}`, 300);
    let worstLateMs = 0;
    cluster.run(700, () => (worstLateMs = Math.max(worstLateMs, (mapper.mapDeadline(stamp, 5000) as number) - before)));
    expect(worstLateMs).toBeLessThanOrEqual(LAG_MS);
  });

  it('the two members left of three (the third cut off) go on', () => {
    const cluster = new Cluster(3);
    cluster.run(1000);
    cluster.isolate(2);
    expectFollowsRealTime(cluster, 0, 5000);
  });

  it('maps a stamp of another member onto its own clock never early (and late by little), faulty clocks included', () => {
    for (const fault of ['none', 'jump', 'standstill', 'fast'] as const) {
      const cluster = new Cluster(3);
      cluster.run(1000);
      if (fault === 'jump') cluster.member(1).clock.jump(3000);
      if (fault === 'standstill') cluster.member(1).clock.setRate(0);
      if (fault === 'fast') cluster.member(0).clock.setRate(4);
      cluster.run(500);
      const proposer = cluster.member(1);
      const mapper = cluster.member(0);
      const stampedAt = cluster.realMs;
      const stamp = proposer.lease.stamp() as NonNullable<ReturnType<LeaseClock['stamp']>>;
      const remainingMs = 2000;
      let reachedAt: number | null = null;
      cluster.run(4000, () => {
        const mapped = mapper.lease.mapDeadline(stamp, remainingMs);
        if (mapped === null) throw new Error('no mapping with samples of the proposer');
        if (reachedAt === null && mapper.lease.nowMs() >= mapped) reachedAt = cluster.realMs;
      });
      expect(reachedAt, fault).not.toBeNull();
      const lateMs = (reachedAt as unknown as number) - (stampedAt + remainingMs);
      expect(lateMs, fault).toBeGreaterThanOrEqual(0);
      expect(lateMs, fault).toBeLessThanOrEqual(LAG_MS + 2 * (AHEAD_MS + BEHIND_MS));
    }
  });

  it('maps its own stamps exactly, and knows no mapping for a proposer it never heard from', () => {
    const cluster = new Cluster(3);
    cluster.run(1000);
    const own = cluster.member(0).lease;
    const stamp = own.stamp() as NonNullable<ReturnType<LeaseClock['stamp']>>;
    expect(own.mapDeadline(stamp, 100)).toBe(stamp.leaseMs + 100);
    expect(own.mapDeadline({ member: 'ffffffffffffffff', incarnation: 1, leaseMs: 5 }, 100)).toBeNull();
    // An earlier run of itself is another incarnation: no samples of it, no mapping.
    expect(own.mapDeadline({ ...stamp, incarnation: 99 }, 100)).toBeNull();
  });

  it('a ping payload that is not a sample is ignored', () => {
    expect(decodeClockSample(Buffer.alloc(0))).toBeNull();
    expect(decodeClockSample(Buffer.alloc(7))).toBeNull();
    const nan = encodeClockSample({ incarnation: 1, monotonicMs: Number.NaN, leaseMs: 1, anchored: true });
    expect(decodeClockSample(nan)).toBeNull();
    const badFlag = encodeClockSample({ incarnation: 1, monotonicMs: 1, leaseMs: 1, anchored: true });
    badFlag.writeUInt8(7, 20);
    expect(decodeClockSample(badFlag)).toBeNull();
    for (const anchored of [true, false]) {
      expect(decodeClockSample(encodeClockSample({ incarnation: 4_000_000_000, monotonicMs: 12.5, leaseMs: 99.25, anchored }))).toEqual({ incarnation: 4_000_000_000, monotonicMs: 12.5, leaseMs: 99.25, anchored });
    }
  });
});
