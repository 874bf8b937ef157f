// The leader's view of one follower's log: how far it matches, what to send next, and the flow control state.

import { invariant } from './errors.js';
import { index, type Index } from './types.js';

/**
 * probe: the follower's match is unknown; send one append at a time and wait for its answer.
 * replicate: the follower is in sync; stream appends optimistically within a bounded in-flight window.
 * snapshot: the follower needs entries we compacted; stream the snapshot in chunks.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match: Index = index(0);
  next: Index;
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding; wait for its answer or the next heartbeat. */
  probeSent = false;
  /** Last index of each append in flight (replicate state), oldest first. */
  private inflight: Index[] = [];
  /** Heard from in the current CheckQuorum window. */
  recentActive = false;
  // Snapshot transfer (snapshot state).
  snapshotIndex: Index = index(0);
  snapshotSentBytes = 0;
  snapshotAckedBytes = 0;
  /** Every chunk up to the end has been sent (acknowledgements may be outstanding). */
  snapshotAllSent = false;
  /** Ticks since the snapshot transfer last made progress; used to resend lost chunks. */
  snapshotStalledTicks = 0;

  constructor(
    next: Index,
    private readonly maxInflightAppends: number,
  ) {
    this.next = next;
  }

  becomeProbe(): void {
    this.snapshotIndex = index(0);
    this.state = 'probe';
    this.next = index(this.match + 1);
    this.probeSent = false;
    this.inflight = [];
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = index(this.match + 1);
    this.probeSent = false;
    this.inflight = [];
  }

  becomeSnapshot(snapshotIndex: Index): void {
    this.state = 'snapshot';
    this.snapshotIndex = snapshotIndex;
    this.snapshotSentBytes = 0;
    this.snapshotAckedBytes = 0;
    this.snapshotAllSent = false;
    this.snapshotStalledTicks = 0;
    this.probeSent = false;
    this.inflight = [];
  }

  /** Chunks after `offset` were lost (or the follower lost them): send again from there. */
  resendSnapshotFrom(offset: number): void {
    this.snapshotSentBytes = offset;
    this.snapshotAckedBytes = Math.min(this.snapshotAckedBytes, offset);
    this.snapshotAllSent = false;
  }

  /** An acknowledgement of `upTo`; returns true when it moved match forward. */
  maybeUpdate(upTo: Index): boolean {
    let updated = false;
    if (upTo > this.match) {
      this.match = upTo;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < upTo + 1) this.next = index(upTo + 1);
    while (this.inflight.length > 0 && (this.inflight[0] as Index) <= upTo) this.inflight.shift();
    return updated;
  }

  /**
   * A rejection of the append at `rejected`. Returns false when it is stale (an answer to an append sent before
   * a later rejection or acknowledgement already moved us).
   */
  maybeDecrease(rejected: Index, nextGuess: Index): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = index(Math.max(Math.min(rejected, nextGuess), this.match + 1));
    this.probeSent = false;
    invariant(this.next > this.match, 'progress next must stay above match');
    return true;
  }

  /** Records an append sent with entries up to `last`. */
  sentEntries(last: Index, entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.next = index(last + 1);
        this.inflight.push(last);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflight.length >= this.maxInflightAppends;
      case 'snapshot':
        return true;
    }
  }

  /**
   * A heartbeat answer proves the follower is reachable: a probing follower may be tried again, and a full
   * window frees one slot so that lost appends are found (the follower rejects the gap) instead of stalling.
   */
  heardFrom(): void {
    this.probeSent = false;
    if (this.state === 'replicate' && this.inflight.length >= this.maxInflightAppends) this.inflight.shift();
  }

  inflightCount(): number {
    return this.inflight.length;
  }
}
