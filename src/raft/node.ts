// The Raft consensus core: a deterministic state machine. Time enters only through tick(), randomness only through
// the injected `random`, and every effect leaves through ready() (see the contract on `Ready` in types.ts).

import { raftLimits, type RaftLimits } from '../limits.js';
import { applyConfChange, encodeConfChange } from './confchange.js';
import { invariant, RaftError } from './errors.js';
import { RaftLog } from './log.js';
import { Leadership, type LeaderHost } from './leader.js';
import type { Progress } from './progress.js';
import { coalesceAppendAcks, sameHardState, sameSoftState } from './ready-helpers.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import { committedIndex, hasQuorum, voteOutcome } from './quorum.js';
import {
  index,
  NO_NODE,
  term,
  type AppendRequest,
  type AppendResponse,
  type ClusterConfig,
  type ConfChange,
  type Entry,
  type HardState,
  type HeartbeatRequest,
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

const EMPTY = new Uint8Array(0);
const NO_PROGRESS: ReadonlyMap<NodeId, Progress> = new Map();

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

  /** Present exactly while this node is the leader. */
  protected leadership: Leadership | null = null;
  protected readonly votes = new Map<NodeId, boolean>();
  protected electionElapsed = 0;
  protected heartbeatElapsed = 0;
  protected randomizedElectionTimeout = 0;
  private readonly snapshotReceiver = new SnapshotReceiver();

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
    if (this.leadership !== null) this.tickLeader(this.leadership);
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
        (this.leadership as Leadership).step(message);
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
    if (this.leadership !== null) return this.leadership.propose([{ type: 'normal', data }]);
    if (this.role === 'follower' && this.leader !== NO_NODE) {
      this.send({ type: 'forwardProposal', from: this.id, to: this.leader, term: this.currentTerm, entries: [{ type: 'normal', data }] });
      return null;
    }
    return new RaftError('ErrNoLeader', 'no leader is known; retry after an election');
  }

  proposeConfChange(change: ConfChange): RaftError | null {
    if (this.leadership === null) return new RaftError('ErrNotLeader', `membership changes go to the leader (${this.leader || 'unknown'})`);
    if (this.log.lastConfigIndex() > this.log.committed) {
      return new RaftError('ErrConfChangePending', `configuration change at ${this.log.lastConfigIndex()} is not committed yet`);
    }
    if (this.log.termAt(this.log.committed) !== this.currentTerm) {
      return new RaftError('ErrConfChangeBeforeCommitInTerm', 'the leader has not committed an entry of its term yet');
    }
    const config = applyConfChange(this.log.config(), change);
    if (config instanceof RaftError) return config;
    return this.leadership.propose([{ type: 'confChange', data: encodeConfChange({ change, config }) }]);
  }

  readIndex(context: string): RaftError | null {
    if (this.leadership !== null) return this.leadership.readIndex(context, this.id);
    if (this.role === 'follower' && this.leader !== NO_NODE) {
      this.send({ type: 'readIndex', from: this.id, to: this.leader, term: this.currentTerm, context });
      return null;
    }
    return new RaftError('ErrNoLeader', 'no leader is known to confirm the read');
  }

  transferLeadership(to: NodeId): RaftError | null {
    if (this.leadership === null) return new RaftError('ErrNotLeader', 'only the leader can transfer leadership');
    if (to === this.id) return null;
    if (!this.log.config().voters.includes(to)) return new RaftError('ErrUnknownMember', `${to} is not a voter`);
    if (this.leadership.leadTransferee !== to) this.electionElapsed = 0;
    this.leadership.transferTo(to);
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
      this.leadership?.hasPendingBroadcast() === true ||
      this.log.hasUnhandedEntries() ||
      this.log.pendingSnapshot !== null ||
      this.log.hasEntriesToApply() ||
      !sameHardState(this.hardState(), this.previousHardState) ||
      !sameSoftState(this.softState(), this.previousSoftState)
    );
  }

  ready(): Ready {
    invariant(this.readyInFlight === null, 'ready() called before the previous Ready was advanced');
    this.leadership?.flush();
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
      leadTransferee: this.leadership?.leadTransferee ?? NO_NODE,
      progress,
    };
  }

  /** The current term, leader and role without building a whole status (read on every client response). */
  get term(): Term {
    return this.currentTerm;
  }

  get leaderId(): NodeId {
    return this.leader;
  }

  get isLeader(): boolean {
    return this.leadership !== null;
  }

  get lastIndex(): Index {
    return this.log.lastIndex();
  }

  get commitIndex(): Index {
    return this.log.committed;
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
    this.leadership = new Leadership(this.leaderHost(), this.currentTerm);
    // The no-op: commits the entries of earlier terms (they are only committed with one of the current term).
    this.leadership.appendEntries([{ type: 'normal', data: EMPTY }]);
  }

  private resetRoleState(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetElectionTimer();
    this.votes.clear();
    this.leadership = null;
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
      this.snapshotReceiver.reset();
      this.send(this.appendResponse(message.from, true, this.log.committed));
      return;
    }
    const outcome = this.snapshotReceiver.accept(message);
    if (outcome.stored) this.snapshotChunks.push({ snapshot: meta, offset: message.offset, data: message.data });
    if (outcome.complete) this.log.restore(meta);
    this.send(this.snapshotResponse(message.from, meta.index, outcome.receivedBytes, outcome.complete));
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

  /** The follower progress the leader tracks (empty when not leading). */
  protected get progress(): ReadonlyMap<NodeId, Progress> {
    return this.leadership?.progress ?? NO_PROGRESS;
  }

  private leaderHost(): LeaderHost {
    return {
      id: this.id,
      log: this.log,
      limits: this.limits,
      heartbeatIntervalTicks: this.heartbeatIntervalTicks,
      send: (message) => this.send(message),
      maybeCommit: () => this.maybeCommit(),
      pushReadState: (state) => this.readStates.push(state),
    };
  }

  private tickLeader(leadership: Leadership): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.currentTerm, NO_NODE);
        return;
      }
      leadership.leadTransferee = NO_NODE; // a transfer that did not finish within an election timeout is abandoned
    }
    leadership.tickSnapshots();
    if (this.heartbeatElapsed >= this.heartbeatIntervalTicks) {
      this.heartbeatElapsed = 0;
      leadership.broadcastHeartbeats('');
    }
  }

  /** CheckQuorum: did a majority of voters answer during the last election timeout? Resets the window. */
  protected quorumActive(): boolean {
    const active = hasQuorum(this.log.config().voters, (voter) => voter === this.id || this.progress.get(voter)?.recentActive === true);
    for (const progress of this.progress.values()) progress.recentActive = false;
    return active;
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
    this.leadership?.onCommitAdvanced();
    // A leader removed by a committed configuration steps down (Ongaro's thesis, section 4.2.2).
    const config = this.log.config();
    if (!config.voters.includes(this.id) && this.log.lastConfigIndex() <= this.log.committed) {
      this.becomeFollower(this.currentTerm, NO_NODE);
    }
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
