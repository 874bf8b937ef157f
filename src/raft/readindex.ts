// ReadIndex on the leader: a read is answered with the commit index at the time it arrived, once a heartbeat
// round sent after its arrival has been acknowledged by a majority (so no newer leader can exist), and only
// once the leader has committed an entry of its own term (so its commit index is up to date).
// Reads that arrive between two Ready cycles share one heartbeat round.

import { hasQuorum } from './quorum.js';
import type { Index, NodeId } from './types.js';

export interface PendingRead {
  readonly context: string;
  /** Who asked: the leader itself or a follower that forwarded the request. */
  readonly from: NodeId;
  readonly index: Index;
  readonly round: number;
}

export class ReadIndexTracker {
  private pending: PendingRead[] = [];
  /** Reads that arrived before the leader committed an entry of its term. */
  private waitingForTermCommit: { context: string; from: NodeId }[] = [];
  private lastRound = 0;
  private roundOpen = false;
  private highestAckedRound = new Map<NodeId, number>();

  size(): number {
    return this.pending.length + this.waitingForTermCommit.length;
  }

  waitForTermCommit(context: string, from: NodeId): void {
    this.waitingForTermCommit.push({ context, from });
  }

  takeWaitingForTermCommit(): { context: string; from: NodeId }[] {
    const waiting = this.waitingForTermCommit;
    this.waitingForTermCommit = [];
    return waiting;
  }

  /** Queues a read at `index`; it joins the next heartbeat round. */
  add(context: string, from: NodeId, index: Index): void {
    this.pending.push({ context, from, index, round: this.lastRound + 1 });
    this.roundOpen = true;
  }

  hasOpenRound(): boolean {
    return this.roundOpen;
  }

  /** Closes the open round; the caller broadcasts a heartbeat carrying the returned context. */
  startRound(): string {
    this.roundOpen = false;
    this.lastRound += 1;
    return String(this.lastRound);
  }

  /** Records a heartbeat acknowledgement and returns the reads it releases, oldest first. */
  acknowledge(from: NodeId, context: string, voters: readonly NodeId[], self: NodeId): PendingRead[] {
    const round = Number(context);
    if (!Number.isInteger(round) || round <= 0 || round > this.lastRound) return [];
    if (round > (this.highestAckedRound.get(from) ?? 0)) this.highestAckedRound.set(from, round);
    let released = 0;
    while (released < this.pending.length) {
      const read = this.pending[released] as PendingRead;
      if (read.round > this.lastRound) break;
      const confirmed = hasQuorum(voters, (voter) => voter === self || (this.highestAckedRound.get(voter) ?? 0) >= read.round);
      if (!confirmed) break;
      released++;
    }
    return this.pending.splice(0, released);
  }

  /** Leadership lost: every pending read is dropped (its client retries). */
  reset(): void {
    this.pending = [];
    this.waitingForTermCommit = [];
    this.roundOpen = false;
    this.highestAckedRound.clear();
  }
}
