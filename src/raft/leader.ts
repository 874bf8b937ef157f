// The leader role: replication to each follower (flow control, snapshots in chunks), proposals, ReadIndex and
// leadership transfer. Created when a node wins an election and dropped when it steps down, so its state cannot
// outlive its term. The commit rule stays with the node (RaftNode.maybeCommit).

import type { RaftLimits } from '../limits.js';
import { isMember, members } from './confchange.js';
import { invariant, RaftError } from './errors.js';
import type { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { ReadIndexTracker } from './readindex.js';
import {
  index,
  NO_NODE,
  type AppendResponse,
  type Entry,
  type EntryType,
  type HeartbeatResponse,
  type Index,
  type Message,
  type NodeId,
  type ReadState,
  type SnapshotMeta,
  type SnapshotResponse,
  type Term,
} from './types.js';

const EMPTY = new Uint8Array(0);

/** What the leader role needs from its node. */
export interface LeaderHost {
  readonly id: NodeId;
  readonly log: RaftLog;
  readonly limits: RaftLimits;
  readonly heartbeatIntervalTicks: number;
  send(message: Message): void;
  /** Advances the commit index if a majority of voters stores entries of this term. */
  maybeCommit(): boolean;
  pushReadState(state: ReadState): void;
}

export class Leadership {
  readonly progress = new Map<NodeId, Progress>();
  readonly reads = new ReadIndexTracker();
  leadTransferee: NodeId = NO_NODE;
  /** Appends go to all followers once per Ready rather than once per proposal. */
  appendsPending = false;
  private readonly id: NodeId;
  private readonly log: RaftLog;
  private readonly limits: RaftLimits;

  constructor(
    private readonly host: LeaderHost,
    readonly term: Term,
  ) {
    this.id = host.id;
    this.log = host.log;
    this.limits = host.limits;
    this.syncProgress();
  }

  hasPendingBroadcast(): boolean {
    return this.appendsPending || this.reads.hasOpenRound();
  }

  /** Sends what accumulated since the last Ready: one append per follower, one heartbeat round for new reads. */
  flush(): void {
    if (this.appendsPending) this.broadcastAppends();
    if (this.reads.hasOpenRound()) this.broadcastHeartbeats(this.reads.startRound());
  }

  /** Per tick: resends snapshot chunks that went unanswered (lost) from what the follower acknowledged. */
  tickSnapshots(): void {
    for (const [peer, progress] of this.progress) {
      if (progress.state !== 'snapshot') continue;
      progress.snapshotStalledTicks++;
      if (progress.snapshotStalledTicks >= 3 * this.host.heartbeatIntervalTicks) {
        progress.snapshotStalledTicks = 0;
        progress.resendSnapshotFrom(progress.snapshotAckedBytes);
        this.sendSnapshotChunks(peer, progress);
      }
    }
  }

  transferTo(to: NodeId): void {
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    const progress = this.progress.get(to) as Progress;
    if (progress.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
  }

  readIndex(context: string, from: NodeId): RaftError | null {
    if (this.reads.size() >= this.limits.maxPendingReadIndex) {
      return new RaftError('ErrTooManyPendingReads', `maxPendingReadIndex (${this.limits.maxPendingReadIndex}) reads are waiting`);
    }
    this.handleReadIndex(context, from);
    return null;
  }

  /** The commit index advanced: followers learn it, and reads that waited for a commit in this term proceed. */
  onCommitAdvanced(): void {
    this.appendsPending = true;
    if (this.log.termAt(this.log.committed) === this.term) {
      for (const waiting of this.reads.takeWaitingForTermCommit()) this.handleReadIndex(waiting.context, waiting.from);
    }
  }

  step(message: Message): void {
    if (message.type === 'forwardProposal') {
      if (message.entries.every((entry) => entry.type === 'normal' && entry.data.length <= this.limits.maxProposalBytes)) {
        this.propose(message.entries);
      }
      return;
    }
    const progress = this.progress.get(message.from);
    if (progress === undefined) return; // not a member (any more)
    switch (message.type) {
      case 'appendResponse':
        progress.recentActive = true;
        this.handleAppendResponse(message, progress);
        return;
      case 'heartbeatResponse':
        progress.recentActive = true;
        this.handleHeartbeatResponse(message, progress);
        return;
      case 'snapshotResponse':
        progress.recentActive = true;
        this.handleSnapshotResponse(message, progress);
        return;
      case 'readIndex':
        this.readIndex(message.context, message.from);
        return;
      default:
        return;
    }
  }

  private handleAppendResponse(message: AppendResponse, progress: Progress): void {
    const peer = message.from;
    if (!message.success) {
      let nextGuess = index(message.rejectHintIndex + 1);
      if (message.rejectHintTerm > 0) nextGuess = index(this.log.findConflictByTerm(message.rejectHintIndex, message.rejectHintTerm).index + 1);
      if (progress.maybeDecrease(message.index, nextGuess)) this.sendAppend(peer, true);
      return;
    }
    invariant(message.index <= this.log.lastIndex(), () => `${peer} acknowledged ${message.index} beyond our last index ${this.log.lastIndex()}`);
    const wasPaused = progress.isPaused();
    const probeAnswered = progress.state === 'probe' && message.index === progress.match;
    if (!progress.maybeUpdate(message.index) && !probeAnswered) {
      if (wasPaused && !progress.isPaused()) this.sendAppend(peer, false);
      return;
    }
    if (progress.state === 'probe') progress.becomeReplicate();
    else if (progress.state === 'snapshot' && progress.match >= progress.snapshotIndex) progress.becomeProbe();
    if (!this.host.maybeCommit()) this.sendAppend(peer, false);
    if (peer === this.leadTransferee && progress.match === this.log.lastIndex()) this.sendTimeoutNow(peer);
  }

  private handleHeartbeatResponse(message: HeartbeatResponse, progress: Progress): void {
    progress.heardFrom();
    if (progress.match < this.log.lastIndex()) this.sendAppend(message.from, true);
    if (message.context === '') return;
    for (const read of this.reads.acknowledge(message.from, message.context, this.log.config().voters, this.id)) {
      this.answerRead(read.context, read.from, read.index);
    }
  }

  private handleSnapshotResponse(message: SnapshotResponse, progress: Progress): void {
    if (progress.state !== 'snapshot') return;
    if (message.installed) {
      // The one being sent, or an older one that still moves the follower forward: it holds everything up to it.
      if (message.snapshotIndex === progress.snapshotIndex || message.snapshotIndex > progress.match) {
        progress.maybeUpdate(message.snapshotIndex);
        progress.becomeProbe();
        this.sendAppend(message.from, true);
      }
      return;
    }
    if (message.snapshotIndex !== progress.snapshotIndex) return;
    progress.snapshotStalledTicks = 0;
    if (message.receivedBytes < progress.snapshotAckedBytes || message.receivedBytes > progress.snapshotSentBytes) {
      // The follower lost its partial copy (or answered an older round): resume from what it holds.
      progress.resendSnapshotFrom(message.receivedBytes);
    }
    progress.snapshotAckedBytes = message.receivedBytes;
    this.sendSnapshotChunks(message.from, progress);
  }

  private handleReadIndex(context: string, from: NodeId): void {
    if (this.log.termAt(this.log.committed) !== this.term) {
      this.reads.waitForTermCommit(context, from);
      return;
    }
    if (this.log.config().voters.length === 1 && this.log.config().voters[0] === this.id) {
      this.answerRead(context, from, this.log.committed);
      return;
    }
    this.reads.add(context, from, this.log.committed);
  }

  private answerRead(context: string, from: NodeId, at: Index): void {
    if (from === this.id) this.host.pushReadState({ context, index: at });
    else this.host.send({ type: 'readIndexResponse', from: this.id, to: from, term: this.term, context, index: at });
  }

  propose(proposals: readonly { type: EntryType; data: Uint8Array }[]): RaftError | null {
    if (this.leadTransferee !== NO_NODE) {
      return new RaftError('ErrLeaderTransferInProgress', `leadership is being transferred to ${this.leadTransferee}`);
    }
    const uncommitted = this.log.lastIndex() - this.log.committed;
    if (uncommitted + proposals.length > this.limits.maxUncommittedEntries) {
      return new RaftError('ErrTooManyPendingProposals', `maxUncommittedEntries (${this.limits.maxUncommittedEntries}) entries are waiting to commit`);
    }
    this.appendEntries(proposals);
    return null;
  }

  appendEntries(proposals: readonly { type: EntryType; data: Uint8Array }[]): void {
    const first = this.log.lastIndex() + 1;
    const entries = proposals.map((proposal, position): Entry => ({
      term: this.term,
      index: index(first + position),
      type: proposal.type,
      data: proposal.data,
    }));
    this.log.appendOwn(entries);
    if (entries.some((entry) => entry.type === 'confChange')) this.syncProgress();
    this.appendsPending = true;
  }

  /** Makes the progress map match the configuration in force (the latest one in the log). */
  syncProgress(): void {
    const config = this.log.config();
    for (const peer of members(config)) {
      if (peer === this.id || this.progress.has(peer)) continue;
      this.progress.set(peer, new Progress(index(this.log.lastIndex() + 1), this.limits.maxInflightAppends));
    }
    for (const peer of [...this.progress.keys()]) if (!isMember(config, peer)) this.progress.delete(peer);
    if (this.leadTransferee !== NO_NODE && !config.voters.includes(this.leadTransferee)) this.leadTransferee = NO_NODE;
  }

  broadcastAppends(): void {
    this.appendsPending = false;
    for (const peer of this.progress.keys()) this.sendAppend(peer, true);
  }

  broadcastHeartbeats(context: string): void {
    for (const [peer, progress] of this.progress) {
      this.host.send({
        type: 'heartbeat',
        from: this.id,
        to: peer,
        term: this.term,
        commit: index(Math.min(progress.match, this.log.committed)),
        context,
      });
    }
  }

  /**
   * Sends as many appends as the peer's flow control allows (one when probing, up to the in-flight window when
   * replicating). `sendIfEmpty` sends an empty append (carrying the commit index) when there are no new entries.
   */
  sendAppend(peer: NodeId, sendIfEmpty: boolean): void {
    const progress = this.progress.get(peer);
    if (progress === undefined) return;
    let first = true;
    while (!progress.isPaused()) {
      const prevLogIndex = index(progress.next - 1);
      const prevLogTerm = this.log.termAt(prevLogIndex);
      if (prevLogTerm === undefined) {
        invariant(prevLogIndex < this.log.firstIndex(), () => `${peer} next ${progress.next} beyond our log`);
        this.startSnapshot(peer, progress);
        return;
      }
      const entries =
        progress.next <= this.log.lastIndex()
          ? this.log.slice(progress.next, this.log.lastIndex(), this.limits.maxEntriesPerAppend, this.limits.maxAppendBytes)
          : [];
      if (entries.length === 0 && !(sendIfEmpty && first)) return;
      this.host.send({
        type: 'append',
        from: this.id,
        to: peer,
        term: this.term,
        prevLogIndex,
        prevLogTerm,
        entries,
        commit: this.log.committed,
      });
      const last = entries[entries.length - 1];
      progress.sentEntries(last ? last.index : prevLogIndex, entries.length);
      first = false;
      if (progress.state !== 'replicate') return;
    }
  }

  private startSnapshot(peer: NodeId, progress: Progress): void {
    const snapshot = this.log.snapshot;
    invariant(snapshot !== null, 'the log is compacted but there is no snapshot');
    progress.becomeSnapshot(snapshot.index);
    this.sendSnapshotChunks(peer, progress);
  }

  private sendSnapshotChunks(peer: NodeId, progress: Progress): void {
    const snapshot = this.log.snapshot as SnapshotMeta;
    if (snapshot.index !== progress.snapshotIndex) {
      progress.becomeSnapshot(snapshot.index); // a newer snapshot replaced the one being sent
    }
    const chunkBytes = this.limits.snapshotChunkBytes;
    const windowBytes = chunkBytes * this.limits.maxInflightSnapshotChunks;
    while (!progress.snapshotAllSent && progress.snapshotSentBytes - progress.snapshotAckedBytes < windowBytes) {
      const offset = progress.snapshotSentBytes;
      const length = Math.min(chunkBytes, snapshot.sizeBytes - offset);
      const last = offset + length === snapshot.sizeBytes;
      this.host.send({ type: 'snapshot', from: this.id, to: peer, term: this.term, snapshot, offset, length, last, data: EMPTY });
      progress.snapshotSentBytes = offset + length;
      progress.snapshotAllSent = last;
    }
  }

  sendTimeoutNow(peer: NodeId): void {
    this.host.send({ type: 'timeoutNow', from: this.id, to: peer, term: this.term });
  }
}
