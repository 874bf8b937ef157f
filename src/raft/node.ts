// The Raft consensus core: a deterministic state machine. Time enters only through tick(), randomness only through
// the injected `random`, and every effect leaves through ready() (see the contract on `Ready` in types.ts).

import { raftLimits, type RaftLimits } from '../limits.js';
import { applyConfChange, encodeConfChange, isMember, members } from './confchange.js';
import { invariant, RaftError } from './errors.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { committedIndex, voteOutcome } from './quorum.js';
import { ReadIndexTracker } from './readindex.js';
import {
  index,
  NO_NODE,
  term,
  type AppendRequest,
  type AppendResponse,
  type ClusterConfig,
  type ConfChange,
  type Entry,
  type EntryType,
  type HardState,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type IncomingSnapshotChunk,
  type Index,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type RestoredState,
  type Role,
  type SnapshotChunk,
  type SnapshotMeta,
  type SnapshotResponse,
  type SoftState,
  type Term,
  type VoteRequest,
} from './types.js';

export interface RaftOptions {
  readonly id: NodeId;
  /**
   * Membership of a brand-new cluster, written as its first log entry. Ignored when the node has durable state;
   * a node joining an existing cluster passes no voters and no learners and learns the membership from the log.
   */
  readonly initialConfig: ClusterConfig;
  /** Durable state recovered after a restart. */
  readonly restored?: RestoredState;
  /** Injected source of randomness in [0, 1): the only one the core uses (randomized election timeouts). */
  readonly random: () => number;
  readonly electionTimeoutTicks?: number;
  readonly heartbeatIntervalTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly limits?: Partial<RaftLimits>;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly leader: NodeId;
  readonly vote: NodeId;
  readonly commit: Index;
  readonly applied: Index;
  readonly stable: Index;
  readonly firstIndex: Index;
  readonly lastIndex: Index;
  readonly config: ClusterConfig;
  readonly snapshot: SnapshotMeta | null;
  readonly leadTransferee: NodeId;
  readonly progress: ReadonlyMap<NodeId, { match: Index; next: Index; state: string }>;
}

interface IncomingSnapshot {
  readonly meta: SnapshotMeta;
  receivedBytes: number;
}

const EMPTY = new Uint8Array(0);

export class RaftNode {
  readonly id: NodeId;
  protected readonly limits: RaftLimits;
  protected readonly electionTimeoutTicks: number;
  protected readonly heartbeatIntervalTicks: number;
  protected readonly preVote: boolean;
  protected readonly checkQuorum: boolean;
  private readonly random: () => number;

  protected currentTerm: Term;
  protected vote: NodeId;
  protected role: Role = 'follower';
  protected leader: NodeId = NO_NODE;
  protected readonly log: RaftLog;

  protected readonly progress = new Map<NodeId, Progress>();
  protected readonly votes = new Map<NodeId, boolean>();
  protected readonly reads = new ReadIndexTracker();
  protected electionElapsed = 0;
  protected heartbeatElapsed = 0;
  protected randomizedElectionTimeout = 0;
  protected leadTransferee: NodeId = NO_NODE;
  /** The leader sends appends to all followers once per Ready rather than once per proposal. */
  protected appendsPending = false;
  private incomingSnapshot: IncomingSnapshot | null = null;

  private messages: Message[] = [];
  private persistedMessages: Message[] = [];
  private readStates: ReadState[] = [];
  private snapshotChunks: IncomingSnapshotChunk[] = [];
  private previousSoftState: SoftState;
  private previousHardState: HardState;
  /** The Ready handed out and not yet advanced: what its persistence will make durable. */
  private readyInFlight: { lastEntry: { index: Index; term: Term } | null; term: Term } | null = null;
  /** The term of the hard state known durable. Until the current term is durable, nothing we send may go out early. */
  private durableTerm: Term;

  constructor(options: RaftOptions) {
    this.id = options.id;
    this.limits = { ...raftLimits, ...options.limits };
    this.electionTimeoutTicks = options.electionTimeoutTicks ?? raftLimits.electionTimeoutTicks;
    this.heartbeatIntervalTicks = options.heartbeatIntervalTicks ?? raftLimits.heartbeatIntervalTicks;
    invariant(this.heartbeatIntervalTicks > 0 && this.electionTimeoutTicks > this.heartbeatIntervalTicks, 'electionTimeoutTicks must exceed heartbeatIntervalTicks > 0');
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    this.random = options.random;
    const restored = options.restored;
    const hardState = restored?.hardState ?? { term: term(0), vote: NO_NODE, commit: index(0) };
    this.log = new RaftLog({
      snapshot: restored?.snapshot ?? null,
      entries: restored?.entries ?? [],
      committed: hardState.commit,
      applied: restored?.applied ?? index(0),
    });
    this.currentTerm = hardState.term;
    this.vote = hardState.vote;
    this.previousHardState = { term: this.currentTerm, vote: this.vote, commit: this.log.committed };
    this.durableTerm = this.currentTerm;
    const isEmpty = this.log.lastIndex() === 0 && this.currentTerm === 0;
    if (isEmpty && options.initialConfig.voters.length > 0) this.bootstrap(options.initialConfig);
    this.previousSoftState = { leader: NO_NODE, role: 'follower' };
    this.resetElectionTimer();
  }

  /**
   * A member of a brand-new cluster writes the initial membership as entry 1 of term 1, committed: every initial
   * member writes the same entry, and a member that joins later learns the membership from it (as etcd does).
   */
  private bootstrap(config: ClusterConfig): void {
    this.currentTerm = term(1);
    const data = encodeConfChange({ change: { type: 'bootstrap' }, config });
    this.log.appendOwn([{ term: this.currentTerm, index: index(1), type: 'confChange', data }]);
    this.log.commitTo(index(1));
  }

  // ---- Inputs ----

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** Starts an election now (with a pre-vote when enabled), as an expired election timer would. */
  campaign(): void {
    if (this.role === 'leader' || !this.promotable()) return;
    this.electionElapsed = 0;
    this.startCampaign(this.preVote ? 'preElection' : 'election', false);
  }

  step(message: Message): void {
    if (message.to !== this.id) return;
    if (!this.stepTerm(message)) return;
    if (message.type === 'preVote' || message.type === 'vote') {
      this.handleVoteRequest(message);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(message);
        break;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(message);
        break;
      case 'follower':
        this.stepFollower(message);
        break;
    }
  }

  propose(data: Uint8Array): RaftError | null {
    if (data.length > this.limits.maxProposalBytes) {
      return new RaftError('ErrProposalTooLarge', `proposal of ${data.length} bytes exceeds maxProposalBytes (${this.limits.maxProposalBytes})`);
    }
    if (this.role === 'leader') return this.appendProposals([{ type: 'normal', data }]);
    if (this.role === 'follower' && this.leader !== NO_NODE) {
      this.send({ type: 'forwardProposal', from: this.id, to: this.leader, term: this.currentTerm, entries: [{ type: 'normal', data }] });
      return null;
    }
    return new RaftError('ErrNoLeader', 'no leader is known; retry after an election');
  }

  proposeConfChange(change: ConfChange): RaftError | null {
    if (this.role !== 'leader') return new RaftError('ErrNotLeader', `membership changes go to the leader (${this.leader || 'unknown'})`);
    if (this.log.lastConfigIndex() > this.log.committed) {
      return new RaftError('ErrConfChangePending', `configuration change at ${this.log.lastConfigIndex()} is not committed yet`);
    }
    if (this.log.termAt(this.log.committed) !== this.currentTerm) {
      return new RaftError('ErrConfChangeBeforeCommitInTerm', 'the leader has not committed an entry of its term yet');
    }
    const config = applyConfChange(this.log.config(), change);
    if (config instanceof RaftError) return config;
    return this.appendProposals([{ type: 'confChange', data: encodeConfChange({ change, config }) }]);
  }

  readIndex(context: string): RaftError | null {
    if (this.role === 'leader') {
      if (this.reads.size() >= this.limits.maxPendingReadIndex) {
        return new RaftError('ErrTooManyPendingReads', `maxPendingReadIndex (${this.limits.maxPendingReadIndex}) reads are waiting`);
      }
      this.handleReadIndex(context, this.id);
      return null;
    }
    if (this.role === 'follower' && this.leader !== NO_NODE) {
      this.send({ type: 'readIndex', from: this.id, to: this.leader, term: this.currentTerm, context });
      return null;
    }
    return new RaftError('ErrNoLeader', 'no leader is known to confirm the read');
  }

  transferLeadership(to: NodeId): RaftError | null {
    if (this.role !== 'leader') return new RaftError('ErrNotLeader', 'only the leader can transfer leadership');
    if (to === this.id) return null;
    if (!this.log.config().voters.includes(to)) return new RaftError('ErrUnknownMember', `${to} is not a voter`);
    if (this.leadTransferee === to) return null;
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const progress = this.progress.get(to) as Progress;
    if (progress.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
    return null;
  }

  /** The embedder stored a snapshot of its state machine as of applied index `at`. */
  createSnapshot(at: Index, sizeBytes: number): SnapshotMeta {
    if (this.log.snapshot !== null && at <= this.log.snapshot.index) return this.log.snapshot;
    return this.log.recordSnapshot(at, sizeBytes);
  }

  /** Discards log entries up to `at`, which the latest snapshot must cover. */
  compactLog(at: Index): void {
    this.log.compactTo(at);
  }

  // ---- Output ----

  hasReady(): boolean {
    if (this.readyInFlight !== null) return false;
    return (
      this.messages.length > 0 ||
      this.persistedMessages.length > 0 ||
      this.readStates.length > 0 ||
      this.snapshotChunks.length > 0 ||
      this.appendsPending ||
      this.reads.hasOpenRound() ||
      this.log.hasUnhandedEntries() ||
      this.log.pendingSnapshot !== null ||
      this.log.hasEntriesToApply() ||
      !sameHardState(this.hardState(), this.previousHardState) ||
      !sameSoftState(this.softState(), this.previousSoftState)
    );
  }

  ready(): Ready {
    invariant(this.readyInFlight === null, 'ready() called before the previous Ready was advanced');
    if (this.role === 'leader') {
      if (this.appendsPending) this.broadcastAppends();
      if (this.reads.hasOpenRound()) this.broadcastHeartbeats(this.reads.startRound());
    }
    const softState = this.softState();
    const hardState = this.hardState();
    const snapshot = this.log.takePendingSnapshot();
    const entries = this.log.takeUnhandedEntries();
    const committedEntries = this.log.takeEntriesToApply();
    const hardStateChanged = !sameHardState(hardState, this.previousHardState);
    const mustSync =
      entries.length > 0 ||
      snapshot !== null ||
      this.snapshotChunks.length > 0 ||
      hardState.term !== this.previousHardState.term ||
      hardState.vote !== this.previousHardState.vote;
    const last = entries[entries.length - 1];
    const ready: Ready = {
      softState: sameSoftState(softState, this.previousSoftState) ? null : softState,
      hardState: hardStateChanged ? hardState : null,
      snapshotChunks: this.snapshotChunks,
      snapshot,
      entries,
      messages: this.messages,
      persistedMessages: coalesceAppendAcks(this.persistedMessages),
      committedEntries,
      readStates: this.readStates,
      mustSync,
    };
    this.previousSoftState = softState;
    this.previousHardState = hardState;
    this.messages = [];
    this.persistedMessages = [];
    this.readStates = [];
    this.snapshotChunks = [];
    this.readyInFlight = { lastEntry: last ? { index: last.index, term: last.term } : null, term: hardState.term };
    return ready;
  }

  advance(): void {
    invariant(this.readyInFlight !== null, 'advance() called without a Ready in flight');
    const { lastEntry, term: persistedTerm } = this.readyInFlight;
    this.readyInFlight = null;
    this.durableTerm = persistedTerm;
    if (lastEntry) this.log.stableTo(lastEntry.index, lastEntry.term);
    // The leader counts its own entries only now that they are durable.
    if (this.role === 'leader') this.maybeCommit();
  }

  status(): RaftStatus {
    const progress = new Map<NodeId, { match: Index; next: Index; state: string }>();
    for (const [peer, p] of this.progress) progress.set(peer, { match: p.match, next: p.next, state: p.state });
    return {
      id: this.id,
      role: this.role,
      term: this.currentTerm,
      leader: this.leader,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applying,
      stable: this.log.stable,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      config: this.log.config(),
      snapshot: this.log.snapshot,
      leadTransferee: this.leadTransferee,
      progress,
    };
  }

  /** The log entry at `at`, if this node still holds it (for inspection and tests). */
  entryAt(at: Index): Entry | undefined {
    return this.log.entry(at);
  }

  // ---- Terms and roles ----

  /** Applies the term rules common to every role; returns false when the message must be dropped. */
  protected stepTerm(message: Message): boolean {
    if (message.term > this.currentTerm) {
      if (message.type === 'preVote' || message.type === 'vote') {
        // Leader lease: while we hear from a leader, a campaign (from a partitioned or removed node) is ignored.
        const inLease = this.checkQuorum && this.leader !== NO_NODE && this.electionElapsed < this.electionTimeoutTicks;
        if (inLease && !message.transfer) return false;
      }
      if (message.type === 'preVote') return true; // a pre-vote never changes our term
      if (message.type === 'preVoteResponse' && message.granted) return true; // granted in the future term
      const fromLeader = message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot';
      this.becomeFollower(message.term, fromLeader ? message.from : NO_NODE);
      return true;
    }
    if (message.term < this.currentTerm) {
      if (message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot') {
        // A stale leader (e.g. healed from a partition) learns of the newer term and steps down.
        this.send(this.appendResponse(message.from, false, index(0)));
      } else if (message.type === 'preVote') {
        this.send({ type: 'preVoteResponse', from: this.id, to: message.from, term: this.currentTerm, granted: false });
      }
      return false;
    }
    return true;
  }

  protected handleVoteRequest(message: VoteRequest): void {
    const isPreVote = message.type === 'preVote';
    const canVote =
      this.vote === message.from ||
      (this.vote === NO_NODE && this.leader === NO_NODE) ||
      (isPreVote && message.term > this.currentTerm);
    const granted = canVote && this.log.isUpToDate(message.lastLogIndex, message.lastLogTerm);
    this.send({
      type: isPreVote ? 'preVoteResponse' : 'voteResponse',
      from: this.id,
      to: message.from,
      term: granted ? message.term : this.currentTerm,
      granted,
    });
    if (granted && !isPreVote) {
      this.electionElapsed = 0;
      this.vote = message.from;
    }
  }

  protected becomeFollower(newTerm: Term, leader: NodeId): void {
    invariant(newTerm >= this.currentTerm, () => `term going back from ${this.currentTerm} to ${newTerm}`);
    if (newTerm !== this.currentTerm) this.enterTerm(newTerm, NO_NODE);
    this.role = 'follower';
    this.leader = leader;
    this.resetRoleState();
  }

  private enterTerm(newTerm: Term, vote: NodeId): void {
    this.currentTerm = newTerm;
    this.vote = vote;
    // Acknowledgements queued in an earlier term and not yet handed out promise entries that a leader of the new
    // term may truncate before they are written (in the same Ready): they must not go out. Acknowledgements of
    // this term can never be truncated, since this term's leader never rewrites its log.
    this.persistedMessages = this.persistedMessages.filter(
      (message) => !((message.type === 'appendResponse' && message.success) || message.type === 'snapshotResponse'),
    );
  }

  protected becomePreCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a pre-candidate');
    this.role = 'preCandidate';
    this.leader = NO_NODE;
    this.votes.clear();
  }

  protected becomeCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a candidate');
    this.enterTerm(term(this.currentTerm + 1), this.id);
    this.role = 'candidate';
    this.leader = NO_NODE;
    this.resetRoleState();
  }

  protected becomeLeader(): void {
    invariant(this.role === 'candidate', () => `only a candidate becomes leader (was ${this.role})`);
    this.role = 'leader';
    this.leader = this.id;
    this.resetRoleState();
    this.syncProgress();
    // The no-op: commits the entries of earlier terms (they are only committed with one of the current term).
    this.appendEntries([{ type: 'normal', data: EMPTY }]);
  }

  private resetRoleState(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetElectionTimer();
    this.votes.clear();
    this.progress.clear();
    this.reads.reset();
    this.leadTransferee = NO_NODE;
    this.appendsPending = false;
  }

  private resetElectionTimer(): void {
    this.randomizedElectionTimeout = this.electionTimeoutTicks + Math.floor(this.random() * this.electionTimeoutTicks);
  }

  /**
   * Only a voter may campaign; a learner or a removed node stays silent. A node whose own removal is still
   * uncommitted may be needed to commit it (Ongaro's thesis, 4.2.2): it may campaign, counting the votes of the
   * new configuration, and steps down once that configuration commits.
   */
  protected promotable(): boolean {
    if (this.log.config().voters.includes(this.id)) return true;
    const pendingAt = this.log.lastConfigIndex();
    return pendingAt > this.log.committed && this.log.configAt(index(pendingAt - 1)).voters.includes(this.id);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.startCampaign(this.preVote ? 'preElection' : 'election', false);
    }
  }

  protected startCampaign(kind: 'preElection' | 'election', transfer: boolean): void {
    if (kind === 'preElection') this.becomePreCandidate();
    else this.becomeCandidate();
    const voteTerm = kind === 'preElection' ? term(this.currentTerm + 1) : this.currentTerm;
    const voters = this.log.config().voters;
    this.votes.set(this.id, true);
    if (voteOutcome(voters, this.votes) === 'won') {
      if (kind === 'preElection') this.startCampaign('election', transfer);
      else this.becomeLeader();
      return;
    }
    for (const voter of voters) {
      if (voter === this.id) continue;
      this.send({
        type: kind === 'preElection' ? 'preVote' : 'vote',
        from: this.id,
        to: voter,
        term: voteTerm,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  // ---- Follower and candidate ----

  private stepCandidate(message: Message): void {
    switch (message.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.becomeFollower(message.term, message.from);
        this.stepFollower(message);
        return;
      case 'preVoteResponse':
      case 'voteResponse': {
        const expected = this.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
        if (message.type !== expected) return;
        this.votes.set(message.from, message.granted);
        const outcome = voteOutcome(this.log.config().voters, this.votes);
        if (outcome === 'won') {
          if (this.role === 'preCandidate') this.startCampaign('election', false);
          else this.becomeLeader();
        } else if (outcome === 'lost') {
          this.becomeFollower(this.currentTerm, NO_NODE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(message: Message): void {
    switch (message.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leader = message.from;
        this.handleAppend(message);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leader = message.from;
        this.handleHeartbeat(message);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leader = message.from;
        this.handleSnapshotChunk(message);
        return;
      case 'timeoutNow':
        // Leader transfer: campaign at once, skipping the pre-vote, with the right to override leader leases.
        if (this.promotable()) this.startCampaign('election', true);
        return;
      case 'readIndexResponse':
        this.readStates.push({ context: message.context, index: message.index });
        return;
      default:
        return;
    }
  }

  private handleAppend(message: AppendRequest): void {
    if (message.prevLogIndex < this.log.committed) {
      this.send(this.appendResponse(message.from, true, this.log.committed));
      return;
    }
    const lastNewIndex = this.log.maybeAppend(message.prevLogIndex, message.prevLogTerm, message.entries);
    if (lastNewIndex !== null) {
      this.log.commitTo(index(Math.min(message.commit, lastNewIndex)));
      this.send(this.appendResponse(message.from, true, lastNewIndex));
      return;
    }
    const hint = this.log.findConflictByTerm(index(Math.min(message.prevLogIndex, this.log.lastIndex())), message.prevLogTerm);
    this.send({ ...this.appendResponse(message.from, false, message.prevLogIndex), rejectHintIndex: hint.index, rejectHintTerm: hint.term });
  }

  private handleHeartbeat(message: HeartbeatRequest): void {
    this.log.commitTo(index(Math.min(message.commit, this.log.lastIndex())));
    this.send({ type: 'heartbeatResponse', from: this.id, to: message.from, term: this.currentTerm, context: message.context });
  }

  private handleSnapshotChunk(message: SnapshotChunk): void {
    const meta = message.snapshot;
    if (this.alreadyHolds(meta)) {
      this.incomingSnapshot = null;
      this.send(this.appendResponse(message.from, true, this.log.committed));
      return;
    }
    if (message.data.length !== message.length) return;
    let incoming = this.incomingSnapshot;
    if (incoming === null || incoming.meta.index !== meta.index || incoming.meta.term !== meta.term) {
      if (message.offset !== 0) {
        this.send(this.snapshotResponse(message.from, meta.index, 0, false));
        return;
      }
      incoming = { meta, receivedBytes: 0 };
      this.incomingSnapshot = incoming;
    }
    if (message.offset === incoming.receivedBytes) {
      this.snapshotChunks.push({ snapshot: meta, offset: message.offset, data: message.data });
      incoming.receivedBytes += message.length;
      if (message.last) {
        invariant(incoming.receivedBytes === meta.sizeBytes, () => `snapshot ${meta.index} complete at ${incoming.receivedBytes} of ${meta.sizeBytes} bytes`);
        this.incomingSnapshot = null;
        this.log.restore(meta);
        this.send(this.snapshotResponse(message.from, meta.index, meta.sizeBytes, true));
        return;
      }
    }
    this.send(this.snapshotResponse(message.from, meta.index, incoming.receivedBytes, false));
  }

  /**
   * True when our log already covers the snapshot: everything up to its index is committed here, or our log holds
   * its last entry (same index and term), in which case the prefix is identical and committed (Raft section 7).
   * Restoring then would discard entries after it that we may already have acknowledged.
   */
  private alreadyHolds(meta: SnapshotMeta): boolean {
    if (meta.index <= this.log.committed) return true;
    if (!this.log.matchTerm(meta.index, meta.term)) return false;
    this.log.commitTo(meta.index);
    return true;
  }

  // ---- Leader ----

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.currentTerm, NO_NODE);
        return;
      }
      this.leadTransferee = NO_NODE; // a transfer that did not finish within an election timeout is abandoned
    }
    for (const [peer, progress] of this.progress) {
      if (progress.state !== 'snapshot') continue;
      progress.snapshotStalledTicks++;
      if (progress.snapshotStalledTicks >= 3 * this.heartbeatIntervalTicks) {
        // Chunks were lost: resume from what the follower acknowledged.
        progress.snapshotStalledTicks = 0;
        progress.resendSnapshotFrom(progress.snapshotAckedBytes);
        this.sendSnapshotChunks(peer, progress);
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatIntervalTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeats('');
    }
  }

  /** CheckQuorum: did a majority of voters answer during the last election timeout? Resets the window. */
  protected quorumActive(): boolean {
    const voters = this.log.config().voters;
    let active = 0;
    for (const voter of voters) {
      const progress = this.progress.get(voter);
      if (voter === this.id || progress?.recentActive) active++;
    }
    for (const progress of this.progress.values()) progress.recentActive = false;
    return active >= Math.floor(voters.length / 2) + 1;
  }

  private stepLeader(message: Message): void {
    if (message.type === 'forwardProposal') {
      if (message.entries.every((entry) => entry.type === 'normal' && entry.data.length <= this.limits.maxProposalBytes)) {
        this.appendProposals(message.entries);
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
        if (this.reads.size() < this.limits.maxPendingReadIndex) this.handleReadIndex(message.context, message.from);
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
    if (!this.maybeCommit()) this.sendAppend(peer, false);
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
    if (message.installed && message.snapshotIndex > progress.match) {
      // Possibly an older snapshot than the one now being sent: the follower holds everything up to it.
      progress.maybeUpdate(message.snapshotIndex);
      progress.becomeProbe();
      this.sendAppend(message.from, true);
      return;
    }
    if (message.snapshotIndex !== progress.snapshotIndex) return;
    if (message.installed) {
      progress.maybeUpdate(message.snapshotIndex);
      progress.becomeProbe();
      this.sendAppend(message.from, true);
      return;
    }
    progress.snapshotStalledTicks = 0;
    if (message.receivedBytes < progress.snapshotAckedBytes || message.receivedBytes > progress.snapshotSentBytes) {
      // The follower lost its partial copy (or answered an older round): resume from what it holds.
      progress.resendSnapshotFrom(message.receivedBytes);
    }
    progress.snapshotAckedBytes = message.receivedBytes;
    this.sendSnapshotChunks(message.from, progress);
  }

  private handleReadIndex(context: string, from: NodeId): void {
    if (this.log.termAt(this.log.committed) !== this.currentTerm) {
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
    if (from === this.id) this.readStates.push({ context, index: at });
    else this.send({ type: 'readIndexResponse', from: this.id, to: from, term: this.currentTerm, context, index: at });
  }

  protected appendProposals(proposals: readonly { type: EntryType; data: Uint8Array }[]): RaftError | null {
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

  private appendEntries(proposals: readonly { type: EntryType; data: Uint8Array }[]): void {
    const first = this.log.lastIndex() + 1;
    const entries = proposals.map((proposal, position): Entry => ({
      term: this.currentTerm,
      index: index(first + position),
      type: proposal.type,
      data: proposal.data,
    }));
    this.log.appendOwn(entries);
    if (entries.some((entry) => entry.type === 'confChange')) this.syncProgress();
    this.appendsPending = true;
  }

  /** Makes the progress map match the configuration in force (the latest one in the log). */
  private syncProgress(): void {
    const config = this.log.config();
    for (const peer of members(config)) {
      if (peer === this.id || this.progress.has(peer)) continue;
      this.progress.set(peer, new Progress(index(this.log.lastIndex() + 1), this.limits.maxInflightAppends));
    }
    for (const peer of [...this.progress.keys()]) if (!isMember(config, peer)) this.progress.delete(peer);
    if (this.leadTransferee !== NO_NODE && !config.voters.includes(this.leadTransferee)) this.leadTransferee = NO_NODE;
  }

  /** Advances the commit index to what a majority of voters stores, counting only entries of this term. */
  protected maybeCommit(): boolean {
    const voters = this.log.config().voters;
    const candidate = committedIndex(voters, (voter) => (voter === this.id ? this.log.stable : (this.progress.get(voter)?.match ?? index(0))));
    if (candidate <= this.log.committed || this.log.termAt(candidate) !== this.currentTerm) return false;
    this.log.commitTo(candidate);
    this.onCommitAdvanced();
    return true;
  }

  private onCommitAdvanced(): void {
    this.appendsPending = true; // followers learn the new commit index
    if (this.log.termAt(this.log.committed) === this.currentTerm) {
      for (const waiting of this.reads.takeWaitingForTermCommit()) this.handleReadIndex(waiting.context, waiting.from);
    }
    // A leader removed by a committed configuration steps down (Ongaro's thesis, section 4.2.2).
    const config = this.log.config();
    if (!config.voters.includes(this.id) && this.log.lastConfigIndex() <= this.log.committed) {
      this.becomeFollower(this.currentTerm, NO_NODE);
    }
  }

  private broadcastAppends(): void {
    this.appendsPending = false;
    for (const peer of this.progress.keys()) this.sendAppend(peer, true);
  }

  private broadcastHeartbeats(context: string): void {
    for (const [peer, progress] of this.progress) {
      this.send({
        type: 'heartbeat',
        from: this.id,
        to: peer,
        term: this.currentTerm,
        commit: index(Math.min(progress.match, this.log.committed)),
        context,
      });
    }
  }

  /**
   * Sends as many appends as the peer's flow control allows (one when probing, up to the in-flight window when
   * replicating). `sendIfEmpty` sends an empty append (carrying the commit index) when there are no new entries.
   */
  protected sendAppend(peer: NodeId, sendIfEmpty: boolean): void {
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
      this.send({
        type: 'append',
        from: this.id,
        to: peer,
        term: this.currentTerm,
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
      this.send({ type: 'snapshot', from: this.id, to: peer, term: this.currentTerm, snapshot, offset, length, last, data: EMPTY });
      progress.snapshotSentBytes = offset + length;
      progress.snapshotAllSent = last;
    }
  }

  private sendTimeoutNow(peer: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.id, to: peer, term: this.currentTerm });
  }

  // ---- Messages ----

  /** Messages that promise durable state go out only after the Ready that holds that state is persisted. */
  protected needsPersistence(message: Message): boolean {
    return (
      message.type === 'vote' ||
      message.type === 'voteResponse' ||
      message.type === 'appendResponse' ||
      message.type === 'snapshotResponse'
    );
  }

  protected send(message: Message): void {
    // E.g. a sole voter that wins its election at once must not act as leader of a term it could forget in a crash.
    if (this.needsPersistence(message) || this.currentTerm !== this.durableTerm) this.persistedMessages.push(message);
    else this.messages.push(message);
  }

  private appendResponse(to: NodeId, success: boolean, at: Index): AppendResponse {
    return { type: 'appendResponse', from: this.id, to, term: this.currentTerm, success, index: at, rejectHintIndex: index(0), rejectHintTerm: term(0) };
  }

  private snapshotResponse(to: NodeId, snapshotIndex: Index, receivedBytes: number, installed: boolean): SnapshotResponse {
    return { type: 'snapshotResponse', from: this.id, to, term: this.currentTerm, snapshotIndex, receivedBytes, installed };
  }

  private hardState(): HardState {
    return { term: this.currentTerm, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { leader: this.leader, role: this.role };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

/** Several acknowledgements of appends to the same leader collapse into the highest one. */
function coalesceAppendAcks(messages: Message[]): Message[] {
  const highest = new Map<NodeId, AppendResponse>();
  for (const message of messages) {
    if (message.type !== 'appendResponse' || !message.success) continue;
    const seen = highest.get(message.to);
    if (!seen || message.term > seen.term || (message.term === seen.term && message.index >= seen.index)) highest.set(message.to, message);
  }
  if (highest.size === 0) return messages;
  return messages.filter((message) => message.type !== 'appendResponse' || !message.success || highest.get(message.to) === message);
}
