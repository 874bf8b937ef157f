// The clock leases are measured on: this member's monotonic clock, kept honest by its peers'.
//
// A lease's expiry is decided by one member (the leader) on one clock. If that clock jumps forward, every lease
// expires early: live instances vanish from discovery, locks are lost. If it stands still or runs slow, leases
// of dead clients live on. Neither can be seen from the clock itself, so the lease clock counts elapsed time as a
// quorum of voters measures it:
//
// - Every member sends each peer, several times per heartbeat, a sample: its incarnation, its monotonic clock and
//   its lease clock (transport pings carry them; see member.ts). From a peer's samples this member knows how much
//   time the peer has measured since it first heard from it: the sum of the differences of its monotonic
//   readings (a silence longer than maxSampleGapMs starts the peer's count afresh from here; one silent for
//   staleAfterMs does not count until it is heard again). Samples come on both connections of a pair, so they
//   may arrive out of order: one older than a sample already counted adds nothing.
// - The quorum clock is the largest value that a quorum of voters (this member among them) has each measured at
//   least: the quorum-th largest of those counts, never going back. One member's jump, standstill or skew cannot
//   move it. It advances only as samples arrive, in steps, and lags real time by a sample's trip.
// - The lease clock runs on this member's monotonic clock, smooth between samples, but is held within
//   [quorum - behindMs, quorum + aheadMs]: a faulty local clock moves it at most that far from what the quorum
//   measured. It never goes back. The band is lopsided because the quorum clock lags real time (by a sample's
//   trip and cadence): a healthy clock runs ahead of it, and room above keeps load from holding it back.
//
// Stamps. A lease's grant and checkpoints carry the proposer's (member, incarnation, lease clock); this member
// maps such a stamp onto its own lease clock through the offset of the proposer's samples: the largest of
// (sampled lease clock - own lease clock on arrival) over the last few samples. A sample's trip makes that offset
// low, so a mapped deadline is late, never early, by the trip (the band's width is added for either clock
// moving within its band since). That is what lets a member that applied a lease's
// checkpoint late (it lagged, it replayed its log after a crash) still know when the lease really expires.
//
// Pure: the monotonic clock and the voters are injected; nothing here reads a clock or does I/O.

import type { NodeId } from '../raft/types.js';
import type { LeaseStamp } from '../state/index.js';

export interface ClockSample {
  readonly incarnation: number;
  readonly monotonicMs: number;
  readonly leaseMs: number;
  /** Whether the sender heard from a quorum when it took the sample (its lease clock is then worth an offset). */
  readonly anchored: boolean;
}

export interface LeaseClockLimits {
  /** How far the lease clock may run ahead of what a quorum of voters measured. */
  readonly aheadMs: number;
  /** How far the lease clock may fall behind what a quorum of voters measured. */
  readonly behindMs: number;
  /** A peer not heard from for this long does not count towards the quorum until it is heard again. */
  readonly staleAfterMs: number;
  /** A peer silent longer than this is counted afresh when it is heard again; also the most one reading of the own clock adds. */
  readonly maxSampleGapMs: number;
  /** Samples of a peer whose offsets are kept (the largest of them is the offset). */
  readonly offsetSamples: number;
  /** Incarnations of peers whose offsets are kept (a dead leader's stamps are mapped through its last ones). */
  readonly maxIncarnations: number;
}

export interface LeaseClockOptions {
  readonly member: NodeId;
  /** This process's incarnation: stamps of an earlier one of this member are mapped like a peer's. */
  readonly incarnation: number;
  /** This member's monotonic clock, in ms. */
  readonly monotonicMs: () => number;
  /** The voters of the current configuration (this member may be one). */
  readonly voters: () => readonly NodeId[];
  readonly limits: LeaseClockLimits;
}

interface PeerCount {
  incarnation: number;
  lastMonotonicMs: number;
  /** Own monotonic clock when its latest sample arrived. */
  heardAtMs: number;
  /** The quorum clock when this count began, plus what the peer measured since. */
  countMs: number;
}

interface Offsets {
  readonly member: string;
  readonly incarnation: number;
  readonly recent: number[];
  heardAtMs: number;
}

export class LeaseClock {
  private readonly limits: LeaseClockLimits;
  private lastMonotonicMs: number;
  /** Whether the latest reading heard from a quorum (itself included). */
  private anchored = false;
  private ownCountMs = 0;
  private quorumMs = 0;
  private leaseMs = 0;
  private readonly counts = new Map<NodeId, PeerCount>();
  private readonly offsets = new Map<string, Offsets>();

  constructor(private readonly options: LeaseClockOptions) {
    this.limits = options.limits;
    this.lastMonotonicMs = options.monotonicMs();
  }

  /** The lease clock now, in ms (from 0 at this process's start). */
  nowMs(): number {
    const monotonic = this.options.monotonicMs();
    const elapsed = Math.min(Math.max(0, monotonic - this.lastMonotonicMs), this.limits.maxSampleGapMs);
    this.lastMonotonicMs = Math.max(this.lastMonotonicMs, monotonic);
    this.ownCountMs += elapsed;
    this.quorumMs = Math.max(this.quorumMs, this.quorumCount(monotonic));
    const { aheadMs, behindMs } = this.limits;
    const next = Math.min(this.leaseMs + elapsed, this.quorumMs + aheadMs);
    this.leaseMs = Math.max(this.leaseMs, next, this.quorumMs - behindMs);
    return this.leaseMs;
  }

  /** What this member sends its peers. */
  /**
   * What this member sends its peers, saying whether it hears from a quorum. While it does not, its lease clock
   * stands still and a moment later jumps back up to the quorum's (a member resumed after a pause answers the
   * pings queued meanwhile before it has read the others'); a peer that took an offset from such samples would
   * map this member's earlier stamps seconds late, so peers count such samples' time but take no offset from them.
   */
  sample(): ClockSample {
    const leaseMs = this.nowMs();
    return { incarnation: this.options.incarnation, monotonicMs: this.lastMonotonicMs, leaseMs, anchored: this.anchored };
  }

  /**
   * This member's stamp now (carried by the lease commands it proposes); none while it hears from no quorum. Its
   * lease clock then lags real time by as long as that lasts, and a stamp taken then, mapped through offsets
   * taken when it did hear from one, would come out early: a live lease would expire before its TTL.
   */
  stamp(): LeaseStamp | undefined {
    const leaseMs = this.nowMs();
    if (!this.anchored) return undefined;
    return { member: this.options.member, incarnation: this.options.incarnation, leaseMs: Math.ceil(leaseMs) };
  }

  /** A sample from peer `member`. */
  observe(member: NodeId, sample: ClockSample): void {
    if (member === this.options.member) return;
    const now = this.nowMs();
    const heardAtMs = this.lastMonotonicMs;
    const count = this.counts.get(member);
    const gap = count === undefined ? Infinity : sample.monotonicMs - count.lastMonotonicMs;
    if (count !== undefined && count.incarnation === sample.incarnation && gap <= 0) {
      // An older sample than one already counted: it came on the peer's other, slower connection. Counting from
      // it again would count the time between the two twice.
      if (sample.anchored) this.recordOffset(member, sample.incarnation, sample.leaseMs - now, heardAtMs);
      return;
    }
    if (count === undefined || count.incarnation !== sample.incarnation || gap > this.limits.maxSampleGapMs || heardAtMs - count.heardAtMs > this.limits.maxSampleGapMs) {
      this.counts.set(member, { incarnation: sample.incarnation, lastMonotonicMs: sample.monotonicMs, heardAtMs, countMs: this.quorumMs });
    } else {
      count.countMs += gap;
      count.lastMonotonicMs = sample.monotonicMs;
      count.heardAtMs = heardAtMs;
    }
    if (sample.anchored) this.recordOffset(member, sample.incarnation, sample.leaseMs - now, heardAtMs);
    // A count that grew may move the quorum clock.
    this.nowMs();
  }

  /**
   * A deadline on the clock of a stamp's proposer (its lease clock at the stamp plus the time left), as a reading
   * of this member's lease clock; null when this member has no samples of that proposer's incarnation.
   */
  mapDeadline(stamp: LeaseStamp, remainingMs: number): number | null {
    if (stamp.member === this.options.member && stamp.incarnation === this.options.incarnation) return stamp.leaseMs + remainingMs;
    const offsets = this.offsets.get(offsetKey(stamp.member, stamp.incarnation));
    if (offsets === undefined || offsets.recent.length === 0) return null;
    // Plus the band's width: either clock may have moved within its band since the samples.
    return stamp.leaseMs + remainingMs - Math.max(...offsets.recent) + this.limits.aheadMs + this.limits.behindMs;
  }

  /** For /debug/vars and tests. */
  get state(): { readonly leaseMs: number; readonly quorumMs: number; readonly ownCountMs: number; readonly peers: number; readonly anchored: boolean } {
    return { leaseMs: this.leaseMs, quorumMs: this.quorumMs, ownCountMs: this.ownCountMs, peers: this.counts.size, anchored: this.anchored };
  }

  /** The quorum-th largest count among this member and the voters heard from lately; the quorum clock if too few. */
  private quorumCount(monotonic: number): number {
    const voters = this.options.voters();
    const quorum = Math.floor(voters.length / 2) + 1;
    const counts: number[] = [this.ownCountMs];
    for (const voter of voters) {
      if (voter === this.options.member) continue;
      const count = this.counts.get(voter);
      if (count !== undefined && monotonic - count.heardAtMs <= this.limits.staleAfterMs) counts.push(count.countMs);
    }
    this.anchored = counts.length >= quorum;
    if (!this.anchored) return this.quorumMs;
    counts.sort((a, b) => b - a);
    return counts[quorum - 1] as number;
  }

  private recordOffset(member: string, incarnation: number, offsetMs: number, heardAtMs: number): void {
    const key = offsetKey(member, incarnation);
    let offsets = this.offsets.get(key);
    if (offsets === undefined) {
      if (this.offsets.size >= this.limits.maxIncarnations) this.evictOldestOffsets();
      offsets = { member, incarnation, recent: [], heardAtMs };
      this.offsets.set(key, offsets);
    }
    offsets.recent.push(offsetMs);
    if (offsets.recent.length > this.limits.offsetSamples) offsets.recent.shift();
    offsets.heardAtMs = heardAtMs;
  }

  private evictOldestOffsets(): void {
    let oldest: string | null = null;
    let oldestAt = Infinity;
    for (const [key, offsets] of this.offsets) {
      if (offsets.heardAtMs < oldestAt) {
        oldest = key;
        oldestAt = offsets.heardAtMs;
      }
    }
    if (oldest !== null) this.offsets.delete(oldest);
  }
}

const offsetKey = (member: string, incarnation: number): string => `${member}/${incarnation}`;

/** A sample as a ping's payload: incarnation (u32), monotonic and lease clock (f64), big-endian, then 1 if anchored. */
export function encodeClockSample(sample: ClockSample): Buffer {
  const bytes = Buffer.allocUnsafe(CLOCK_SAMPLE_BYTES);
  bytes.writeUInt32BE(sample.incarnation >>> 0, 0);
  bytes.writeDoubleBE(sample.monotonicMs, 4);
  bytes.writeDoubleBE(sample.leaseMs, 12);
  bytes.writeUInt8(sample.anchored ? 1 : 0, 20);
  return bytes;
}

/** The sample in a ping's payload; null when it is not one (an empty ping, a peer of another version). */
export function decodeClockSample(bytes: Buffer): ClockSample | null {
  if (bytes.length !== CLOCK_SAMPLE_BYTES) return null;
  const flags = bytes.readUInt8(20);
  if (flags > 1) return null;
  const sample = { incarnation: bytes.readUInt32BE(0), monotonicMs: bytes.readDoubleBE(4), leaseMs: bytes.readDoubleBE(12), anchored: flags === 1 };
  return Number.isFinite(sample.monotonicMs) && Number.isFinite(sample.leaseMs) ? sample : null;
}

const CLOCK_SAMPLE_BYTES = 21;
