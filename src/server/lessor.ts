// The leader's side of leases: when each one expires, renewals, and revoking the expired. The replicated state
// (state/lease-table.ts) says which leases exist and how much time each had left at its latest checkpoint; time
// is measured here, on this member's monotonic clock (never the wall clock, which may jump).
//
// - Renewals (keepalives) reach the leader only. Each one moves the lease's expiry to now + TTL and is answered
//   once a checkpoint carrying the lease's new remaining time has applied. Many renewals share one checkpoint
//   command (at most leaseLimits.maxCheckpointsInFlight in flight; those arriving meanwhile wait for the next), so
//   a keepalive costs a share of one Raft write, not a write of its own; and every member knows, within a commit
//   latency, when each lease would expire, which is what lets a new leader go on exactly.
// - Time is the lease clock's (lease-clock.ts): the member's monotonic clock held to what a quorum of voters
//   measured, so that one member's clock jumping, stopping or skewing moves no lease by more than its tolerance.
//   The leader adds a margin to every expiry it sets (the tolerance and how late samples arrive), so that a
//   lease never expires before its TTL.
// - Every member keeps an estimate of each lease's deadline: the earlier of (when it applied the lease's grant or
//   latest checkpoint, plus the time left then) and (the command's stamp, when the proposer measured that time,
//   mapped onto this member's clock, plus the time left). Both are never earlier than the leader's expiry; the
//   stamp is what keeps a member that applied the command late (it lagged, or replayed its log after a restart)
//   from estimating late by as much. Without a mapping (no samples of the proposer yet) the first alone counts.
// - A new leader takes over the estimates, but expires nothing within an election timeout of its promotion
//   (clients need that long to find it and renew): a leader change neither resets leases to their full TTL nor
//   expires one early, and a lease outlives its TTL by at most that grace plus the time there was no leader.
// - Expiry is decided by the leader alone and applied through Raft as a revoke, so every member deletes the
//   lease and its keys at the same point of the log.

import { leaseLimits, type LeaseLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { KvCommand, KvResult, LeaseCheckpoint, LeaseStamp } from '../state/index.js';
import type { LeaseTable } from '../state/lease-table.js';
import type { Logger } from './log.js';

export interface LessorOptions {
  /** The applied leases. */
  readonly leases: LeaseTable;
  /** The lease clock (lease-clock.ts), in ms. */
  readonly nowMs: () => number;
  /** Stamps for the checkpoints this member proposes, and the mapping of others' onto nowMs; none: no stamps. */
  readonly stamps?: {
    /** Undefined when this member has no stamp to give (lease-clock.ts: it hears from no quorum). */
    readonly stamp: () => LeaseStamp | undefined;
    readonly mapDeadline: (stamp: LeaseStamp, remainingMs: number) => number | null;
  };
  /** Added to every expiry this member sets as leader (leaseClockLimits.expiryMarginMs); default 0. */
  readonly expiryMarginMs?: number;
  /** Proposes a command and resolves with its result once applied here. */
  readonly propose: (command: KvCommand) => Promise<KvResult>;
  /** A new leader's grace before it expires anything (an election timeout). */
  readonly graceMs: number;
  readonly limits?: Partial<LeaseLimits>;
  readonly maxCheckpointsPerCommand: number;
  readonly log: Logger;
}

interface Renewal {
  /** `found` false: the lease was revoked before its renewal was recorded. */
  readonly resolve: (found: boolean) => void;
  readonly reject: (error: ConclaveError) => void;
}

/** A min-heap of (expiry, lease) with lazy deletion: an entry whose expiry is no longer the lease's is skipped. */
class ExpiryHeap {
  private items: { expiryMs: number; id: number }[] = [];

  get size(): number {
    return this.items.length;
  }

  clear(): void {
    this.items = [];
  }

  push(expiryMs: number, id: number): void {
    const items = this.items;
    items.push({ expiryMs, id });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as { expiryMs: number }).expiryMs <= expiryMs) break;
      [items[i], items[parent]] = [items[parent] as (typeof items)[number], items[i] as (typeof items)[number]];
      i = parent;
    }
  }

  peek(): { expiryMs: number; id: number } | undefined {
    return this.items[0];
  }

  pop(): void {
    const items = this.items;
    const last = items.pop();
    if (last === undefined || items.length === 0) return;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && (items[left] as typeof last).expiryMs < (items[smallest] as typeof last).expiryMs) smallest = left;
      if (right < items.length && (items[right] as typeof last).expiryMs < (items[smallest] as typeof last).expiryMs) smallest = right;
      if (smallest === i) return;
      [items[i], items[smallest]] = [items[smallest] as typeof last, items[i] as typeof last];
      i = smallest;
    }
  }
}

export class Lessor {
  private readonly limits: LeaseLimits;
  /** Every member: the deadline of each lease as far as this member knows (see above). */
  private readonly estimates = new Map<number, Estimate>();
  private leading = false;
  /** The leader: each lease's expiry. */
  private readonly expiries = new Map<number, number>();
  private readonly heap = new ExpiryHeap();
  private readonly revoking = new Set<number>();
  /** Renewed leases waiting for a checkpoint, with who waits on each. */
  private dirty = new Map<number, Renewal[]>();
  private pendingRenewals = 0;
  private checkpointsInFlight = 0;

  constructor(private readonly options: LessorOptions) {
    this.limits = { ...leaseLimits, ...options.limits };
  }

  get isLeading(): boolean {
    return this.leading;
  }

  /** The state was (re)loaded: at start, or after a snapshot install. */
  loaded(): void {
    const now = this.options.nowMs();
    this.estimates.clear();
    for (const lease of this.options.leases.all()) {
      const remainingMs = lease.remainingMs > 0 ? lease.remainingMs : lease.ttlSeconds * 1000 + this.marginMs;
      this.estimates.set(lease.id, estimate(now, remainingMs, lease.stamp));
    }
    if (this.leading) this.takeOver();
  }

  /** A lease command applied on this member (with its result). */
  applied(command: KvCommand, result: KvResult): void {
    if (!result.ok) return;
    const now = this.options.nowMs();
    switch (command.type) {
      case 'leaseGrant': {
        const grant = estimate(now, command.request.ttl * 1000 + this.marginMs, command.request.stamp);
        this.estimates.set(command.request.id, grant);
        if (this.leading) this.setExpiry(command.request.id, this.deadlineOf(grant));
        return;
      }
      case 'leaseRevoke':
        this.forget(command.request.id);
        return;
      case 'leaseCheckpoint':
        for (const { id, remainingMs } of command.request.checkpoints) {
          if (!this.options.leases.has(id)) continue;
          const checkpoint = estimate(now, remainingMs, command.request.stamp);
          this.estimates.set(id, checkpoint);
          const deadline = this.deadlineOf(checkpoint);
          // A checkpoint of the previous leader, applied after this one took over, carries renewals it answered.
          if (this.leading && deadline > (this.expiries.get(id) ?? 0)) this.setExpiry(id, deadline);
        }
        return;
      default:
        return;
    }
  }

  /** This member became leader. */
  promote(): void {
    if (this.leading) return;
    this.leading = true;
    this.takeOver();
  }

  /** Expiries from the estimates, none within the grace from now. */
  private takeOver(): void {
    this.expiries.clear();
    this.heap.clear();
    const floor = this.options.nowMs() + this.options.graceMs;
    for (const lease of this.options.leases.all()) {
      const known = this.estimates.get(lease.id);
      this.setExpiry(lease.id, Math.max(known === undefined ? floor : this.deadlineOf(known), floor));
    }
  }

  /** This member is no longer leader: renewals waiting here fail, and nothing is expired from here. */
  demote(): void {
    if (!this.leading) return;
    this.leading = false;
    this.expiries.clear();
    this.heap.clear();
    this.failRenewals(new ConclaveError('ErrLeaderChanged', 'the leader stepped down before the renewal was recorded'));
  }

  /** Fails what waits on this lessor (the member stops). */
  close(error: ConclaveError): void {
    this.failRenewals(error);
  }

  /**
   * Renews a lease at the leader: resolves with its TTL once the renewal is recorded, or with 0 when the lease does
   * not exist (or has expired and is being revoked), as etcd answers a keepalive.
   */
  renew(id: number): Promise<number> {
    if (!this.leading) return Promise.reject(new ConclaveError('ErrNotLeader', 'lease renewals are made at the leader'));
    const lease = this.options.leases.get(id);
    const now = this.options.nowMs();
    const expiry = this.expiries.get(id);
    if (lease === undefined || expiry === undefined || expiry <= now || this.revoking.has(id)) return Promise.resolve(0);
    if (this.pendingRenewals >= this.limits.maxPendingRenewals) {
      return Promise.reject(new ConclaveError('ErrTooManyRequests', `${this.pendingRenewals} renewals wait for a checkpoint (leaseLimits.maxPendingRenewals)`));
    }
    this.setExpiry(id, now + lease.ttlSeconds * 1000 + this.marginMs);
    return new Promise<number>((resolve, reject) => {
      const waiters = this.dirty.get(id) ?? [];
      waiters.push({ resolve: (found) => resolve(found ? lease.ttlSeconds : 0), reject });
      this.dirty.set(id, waiters);
      this.pendingRenewals++;
      this.flushCheckpoints();
    });
  }

  /**
   * Whether a lease is past its deadline as this member estimates it (never earlier than the leader's expiry):
   * it expired and is not revoked yet, or it is in a new leader's grace without a renewal since. Discovery hides
   * such instances, so that no leaderless time (an election, a partition) makes it list one long after expiry.
   */
  pastDeadline(id: number): boolean {
    const known = this.estimates.get(id);
    return known !== undefined && this.deadlineOf(known) <= this.options.nowMs();
  }

  /** Seconds a lease has left at the leader (it must be leading), -1 when it does not exist. */
  remainingSeconds(id: number): number {
    const expiry = this.expiries.get(id);
    if (expiry === undefined || !this.options.leases.has(id)) return -1;
    return Math.max(0, Math.floor((expiry - this.options.nowMs()) / 1000));
  }

  /** Called every tick: proposes the revoke of every lease past its expiry (the leader only). */
  tick(): void {
    if (!this.leading) return;
    const now = this.options.nowMs();
    for (;;) {
      const next = this.heap.peek();
      if (next === undefined || next.expiryMs > now || this.revoking.size >= this.limits.maxRevokesInFlight) break;
      this.heap.pop();
      if (this.expiries.get(next.id) !== next.expiryMs || this.revoking.has(next.id)) continue;
      this.revoke(next.id);
    }
    // Renewals leave stale heap entries behind: rebuild when they outnumber the live ones.
    if (this.heap.size > 2 * this.expiries.size + 1024) {
      this.heap.clear();
      for (const [id, expiryMs] of this.expiries) if (!this.revoking.has(id)) this.heap.push(expiryMs, id);
    }
  }

  private revoke(id: number): void {
    this.revoking.add(id);
    this.options.log.debug('lease expired; revoking', { lease: id });
    this.options
      .propose({ type: 'leaseRevoke', request: { id, atMs: Date.now() } })
      .catch((error: unknown) => {
        this.options.log.debug('revoking an expired lease failed; retrying', { lease: id, error });
        return null;
      })
      .then((result) => {
        this.revoking.delete(id);
        // Not applied (no leader, a timeout): try again at the next tick while this member leads.
        if (result === null && this.leading && this.options.leases.has(id)) this.heap.push(this.options.nowMs(), id);
      });
  }

  private get marginMs(): number {
    return this.options.expiryMarginMs ?? 0;
  }

  /** An estimate's deadline on this member's clock: the earlier of its two readings (see above). */
  private deadlineOf(known: Estimate): number {
    if (known.stamp === undefined || this.options.stamps === undefined) return known.appliedDeadlineMs;
    const mapped = this.options.stamps.mapDeadline(known.stamp, known.remainingMs);
    return mapped === null ? known.appliedDeadlineMs : Math.min(known.appliedDeadlineMs, mapped);
  }

  private setExpiry(id: number, expiryMs: number): void {
    this.expiries.set(id, expiryMs);
    this.heap.push(expiryMs, id);
  }

  private forget(id: number): void {
    this.estimates.delete(id);
    this.expiries.delete(id);
    const waiters = this.dirty.get(id);
    if (waiters === undefined) return;
    // Revoked while its renewal waited: the renewal found no lease.
    this.dirty.delete(id);
    this.pendingRenewals -= waiters.length;
    for (const waiter of waiters) waiter.resolve(false);
  }

  private flushCheckpoints(): void {
    while (this.dirty.size > 0 && this.checkpointsInFlight < this.limits.maxCheckpointsInFlight) {
      const now = this.options.nowMs();
      const checkpoints: LeaseCheckpoint[] = [];
      const waiting: [number, Renewal[]][] = [];
      for (const [id, waiters] of this.dirty) {
        if (checkpoints.length >= this.options.maxCheckpointsPerCommand) break;
        this.dirty.delete(id);
        const expiry = this.expiries.get(id) ?? now;
        checkpoints.push({ id, remainingMs: Math.max(0, Math.ceil(expiry - now)) });
        waiting.push([id, waiters]);
      }
      this.checkpointsInFlight++;
      const settle = (error: ConclaveError | null): void => {
        this.checkpointsInFlight--;
        for (const [id, waiters] of waiting) {
          this.pendingRenewals -= waiters.length;
          // A revoke ordered before the checkpoint leaves nothing renewed.
          const found = this.options.leases.has(id);
          for (const waiter of waiters) {
            if (error === null) waiter.resolve(found);
            else waiter.reject(error);
          }
        }
        if (this.leading) this.flushCheckpoints();
      };
      const stamp = this.options.stamps?.stamp();
      this.options.propose({ type: 'leaseCheckpoint', request: stamp === undefined ? { checkpoints } : { checkpoints, stamp } }).then(
        (result) => settle(result.ok ? null : result.error),
        (error: unknown) => settle(error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error))),
      );
    }
  }

  private failRenewals(error: ConclaveError): void {
    const dirty = this.dirty;
    this.dirty = new Map();
    for (const waiters of dirty.values()) {
      this.pendingRenewals -= waiters.length;
      for (const waiter of waiters) waiter.reject(error);
    }
  }
}

/** What a member knows of a lease's deadline: from when it applied the time left, and from the command's stamp. */
interface Estimate {
  readonly appliedDeadlineMs: number;
  readonly remainingMs: number;
  readonly stamp?: LeaseStamp;
}

function estimate(nowMs: number, remainingMs: number, stamp: LeaseStamp | undefined): Estimate {
  const appliedDeadlineMs = nowMs + remainingMs;
  return stamp === undefined ? { appliedDeadlineMs, remainingMs } : { appliedDeadlineMs, remainingMs, stamp };
}
