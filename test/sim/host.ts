// One simulated server: a RaftNode plus an embedder that follows the Ready contract to the letter,
// a durable disk, and a volatile state machine. All contract checks on what the node emits live here.

import type { RaftLimits } from '../../src/limits.js';
import { decodeConfChange, type RaftOptions } from '../../src/raft/index.js';
import type { RaftError } from '../../src/raft/errors.js';
import {
  type ClusterConfig,
  type ConfChange,
  index,
  type Index,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type Role,
  type SnapshotMeta,
  type Term,
} from '../../src/raft/types.js';
import type { Checker } from './checker.js';
import { Disk } from './disk.js';
import { describeReady } from './format.js';
import type { RunStats } from './model.js';
import type { Rng } from './prng.js';
import { proposalId, StateMachine } from './statemachine.js';

/** What the simulator needs of a Raft node (RaftNode, or a mutant subclass of it). */
export interface SimNode {
  readonly id: NodeId;
  tick(): void;
  step(message: Message): void;
  propose(data: Uint8Array): RaftError | null;
  proposeConfChange(change: ConfChange): RaftError | null;
  readIndex(context: string): RaftError | null;
  transferLeadership(to: NodeId): RaftError | null;
  hasReady(): boolean;
  ready(): Ready;
  advance(): void;
  createSnapshot(at: Index, sizeBytes: number): SnapshotMeta | void;
  compactLog(at: Index): void;
  status(): {
    readonly role: Role;
    readonly term: Term;
    readonly leader: NodeId;
    readonly commit: Index;
    readonly applied: Index;
    readonly lastIndex: Index;
    readonly config: ClusterConfig;
    readonly snapshot: SnapshotMeta | null;
  };
}

export type NodeFactory = (options: RaftOptions) => SimNode;

export interface HostOptions {
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly limits: Partial<RaftLimits>;
  readonly snapshotEvery: number;
  readonly keepEntries: number;
}

export interface HostEnv {
  readonly checker: Checker;
  readonly stats: RunStats;
  /** Check the durability promises of outgoing messages (votes, acknowledgements, leader messages). */
  readonly strict: boolean;
  readonly tracing: boolean;
  trace(line: string): void;
  send(from: Host, message: Message): void;
  /** Schedules completion of the host's in-flight Ready. */
  scheduleDisk(host: Host): void;
  /** A leader's commit index advanced (checked against every voter's durable log). */
  leaderCommitted(host: Host, commit: number, firstInTerm: boolean): void;
  /** The host just became leader (called before its Ready's messages are sent). */
  becameLeader(host: Host): void;
  /** The host just sent a vote grant. */
  grantedVote(host: Host): void;
}

export class Host {
  node: SimNode | null = null;
  /** Bumped on every crash and start, so that stale disk completions and ticks are ignored. */
  incarnation = 0;
  readonly disk: Disk;
  sm = new StateMachine();
  inflight: Ready | null = null;
  pendingReads: ReadState[] = [];
  slowDisk = false;
  /** Role as last reported by a Ready. */
  role: Role = 'follower';
  /** The node's term as of its latest Ready (an upper bound on the term of anything it committed). */
  term = 0;
  private leaderLogCheckedTerm = 0;
  private leaderCommitSeen = 0;
  private leaderFirstCommitTerm = 0;
  /** The highest index acknowledged (appendResponse success) in term ackTerm: a durable promise to that term's leader. */
  private ackTerm = 0;
  private ackIndex = 0;

  constructor(
    readonly idx: number,
    readonly id: NodeId,
    private readonly initialConfig: ClusterConfig,
    private readonly options: HostOptions,
    private readonly factory: NodeFactory,
    private readonly rng: Rng,
    private readonly env: HostEnv,
  ) {
    this.disk = new Disk(id, env.checker);
  }

  get alive(): boolean {
    return this.node !== null;
  }

  start(): void {
    const c: Checker = this.env.checker;
    this.incarnation++;
    const restored = this.disk.restored();
    const snap = this.disk.snapshot;
    if (snap !== null) {
      try {
        this.sm = StateMachine.fromBytes(snap.bytes);
      } catch (error) {
        c.fail('snapshot', `${this.id}: stored snapshot unreadable: ${String(error)}`);
      }
    } else {
      this.sm = new StateMachine();
    }
    this.term = restored?.hardState.term ?? 0;
    this.inflight = null;
    this.pendingReads = [];
    this.role = 'follower';
    const o = this.options;
    const options: RaftOptions = {
      id: this.id,
      initialConfig: this.initialConfig,
      random: this.rng.fork().asFunction(),
      electionTimeoutTicks: o.electionTimeoutTicks,
      heartbeatIntervalTicks: o.heartbeatIntervalTicks,
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      limits: o.limits,
      ...(restored === undefined ? {} : { restored }),
    };
    this.node = this.factory(options);
    this.pump();
  }

  crash(): void {
    this.node = null;
    this.inflight = null;
    this.pendingReads = [];
    this.role = 'follower';
    this.incarnation++;
  }

  /** Hands out Readies until one needs the disk (or there is nothing to do). */
  pump(): void {
    let rounds = 0;
    while (this.node !== null && this.inflight === null && this.node.hasReady()) {
      if (++rounds > 10_000) this.env.checker.fail('livelock', `${this.id}: hasReady() stays true through 10000 Readies`);
      const rd = this.node.ready();
      this.env.stats.readies++;
      if (this.handOut(rd)) {
        this.inflight = rd;
        this.env.scheduleDisk(this);
        return;
      }
      this.complete(rd);
    }
  }

  /** Step 1 of the contract; returns true when the Ready has a durable part to write. */
  private handOut(rd: Ready): boolean {
    const node = this.node as SimNode;
    const c: Checker = this.env.checker;
    if (this.env.tracing) this.env.trace(`${this.id} ready ${describeReady(rd)}`);
    if (rd.softState !== null) {
      this.role = rd.softState.role;
      if (rd.softState.role === 'leader') {
        const t = node.status().term;
        if (c.observeLeader(this.id, t, 'softState')) this.env.stats.leaders++;
        if (this.env.tracing) this.env.trace(`${this.id} is leader of term ${t}`);
        this.env.becameLeader(this);
      }
    }
    if (rd.hardState !== null) {
      if (rd.hardState.term < this.term) c.fail('term', `${this.id}: term went back from ${this.term} to ${rd.hardState.term}`);
      this.term = rd.hardState.term;
      if (this.term > this.env.stats.maxTerm) this.env.stats.maxTerm = this.term;
      c.noteCommit(rd.hardState.commit);
      if (this.role === 'leader' && rd.hardState.commit > this.leaderCommitSeen) {
        this.leaderCommitSeen = rd.hardState.commit;
        const first = this.leaderFirstCommitTerm !== this.term;
        this.leaderFirstCommitTerm = this.term;
        this.env.leaderCommitted(this, rd.hardState.commit, first);
      }
    }
    for (const m of rd.messages) this.out(m);
    return rd.snapshotChunks.length > 0 || rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null;
  }

  /** Called when the disk write of the in-flight Ready completes. */
  diskDone(): void {
    const rd = this.inflight;
    if (rd === null || this.node === null) return;
    this.inflight = null;
    this.complete(rd);
    this.pump();
  }

  /** Steps 2-5 of the contract (the durable write happens here, atomically). */
  private complete(rd: Ready): void {
    const c: Checker = this.env.checker;
    const disk = this.disk;
    // 2. the atomic batch
    for (const chunk of rd.snapshotChunks) disk.writeChunk(chunk.snapshot, chunk.offset, chunk.data);
    if (rd.snapshot !== null) this.install(rd.snapshot);
    if (rd.entries.length > 0) disk.writeEntries(rd.entries, disk.hardState?.commit ?? 0);
    if (rd.hardState !== null) {
      const hs = rd.hardState;
      const prev = disk.hardState;
      if (prev !== null) {
        if (hs.term < prev.term) c.fail('durability', `${this.id}: durable term went back from ${prev.term} to ${hs.term}`);
        if (hs.term === prev.term && prev.vote !== '' && hs.vote !== prev.vote) {
          c.fail('election-safety', `${this.id}: changed its durable vote in term ${hs.term} from ${prev.vote} to ${hs.vote || '(none)'}`);
        }
        if (hs.commit < prev.commit) c.fail('durability', `${this.id}: durable commit went back from ${prev.commit} to ${hs.commit}`);
      }
      disk.hardState = hs;
    }
    const durableLast = Math.max(disk.lastIndex, disk.snapshotIndex);
    if (disk.hardState !== null && disk.hardState.term === this.ackTerm && durableLast < this.ackIndex) {
      c.report(
        'ack-lost',
        `${this.id} acknowledged index ${this.ackIndex} to the leader of term ${this.ackTerm}, but its durable log now ends at ${durableLast}${rd.snapshot ? ` (after installing snapshot ${rd.snapshot.index})` : ''}`,
      );
    }
    const durableCommit = disk.hardState?.commit ?? 0;
    if (durableCommit > Math.max(disk.lastIndex, disk.snapshotIndex)) {
      c.fail('durability', `${this.id}: durable commit ${durableCommit} beyond its durable log (last ${disk.lastIndex})`);
    }
    // Leader completeness, on the durable log, once the leader's first own entry is durable.
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined && lastEntry.term > this.leaderLogCheckedTerm && c.leaderOfTerm.get(lastEntry.term) === this.id) {
      this.leaderLogCheckedTerm = lastEntry.term;
      c.checkLeaderLog(this.id, lastEntry.term, disk.snapshot?.meta ?? null, disk.base, disk.entries);
    }
    // 3. acknowledgements
    for (const m of rd.persistedMessages) this.out(m);
    // 4. apply
    const sm = this.sm;
    for (const e of rd.committedEntries) {
      if (e.index !== sm.applied + 1) c.fail('apply-order', `${this.id} applies ${e.index} after ${sm.applied}`);
      if (disk.termAt(e.index) !== e.term) {
        c.fail('contract', `${this.id} applies (${e.index}, term ${e.term}) which is not in its durable log (term ${disk.termAt(e.index)})`);
      }
      sm.chain = c.onApply(this.id, e, sm.chain, this.term);
      const pid = proposalId(e);
      if (pid >= 0) {
        if (sm.ids.has(pid)) c.fail('exactly-once', `${this.id} applied proposal ${pid} twice (again at index ${e.index})`);
        sm.ids.add(pid);
      } else if (e.type === 'confChange') {
        c.onConfigApplied(e.index, decodeConfChange(e.data).config);
      }
      sm.applied = e.index;
      this.env.stats.applied++;
    }
    if (sm.applied > this.env.stats.maxCommit) this.env.stats.maxCommit = sm.applied;
    for (const rs of rd.readStates) {
      c.onReadState(this.id, rs);
      this.pendingReads.push(rs);
    }
    if (this.pendingReads.length > 0) {
      const before = this.pendingReads.length;
      this.pendingReads = this.pendingReads.filter((r) => r.index > sm.applied);
      this.env.stats.reads += before - this.pendingReads.length;
    }
    // 5.
    (this.node as SimNode).advance();
    this.maybeSnapshot();
  }

  private install(meta: SnapshotMeta): void {
    const c: Checker = this.env.checker;
    const bytes = this.disk.installSnapshot(meta);
    c.checkSnapshotMeta(meta, `installed by ${this.id}`);
    let sm: StateMachine;
    try {
      sm = StateMachine.fromBytes(bytes);
    } catch (error) {
      c.fail('snapshot', `${this.id} installed an unreadable snapshot (${meta.index}, term ${meta.term}): ${String(error)}`);
    }
    if (sm.applied !== meta.index) c.fail('snapshot', `${this.id}: snapshot bytes are of index ${sm.applied}, meta says ${meta.index}`);
    if (sm.chain !== c.gChain[meta.index]) c.fail('snapshot', `${this.id}: installed snapshot at ${meta.index} differs from the committed history`);
    if (meta.index < this.sm.applied) c.fail('snapshot', `${this.id}: snapshot at ${meta.index} would move the state machine back from ${this.sm.applied}`);
    this.sm = sm;
    this.env.stats.snapshotsInstalled++;
    if (this.env.tracing) this.env.trace(`${this.id} installed snapshot (${meta.index}, term ${meta.term}, ${meta.sizeBytes} bytes)`);
  }

  private maybeSnapshot(): void {
    const node = this.node as SimNode;
    const sm = this.sm;
    if (sm.applied - this.disk.snapshotIndex < this.options.snapshotEvery) return;
    const c: Checker = this.env.checker;
    const bytes = sm.serialize();
    const returned = node.createSnapshot(index(sm.applied), bytes.length);
    const meta = returned ?? node.status().snapshot;
    // The core keeps a newer snapshot it is receiving (not yet installed) and then ignores the request.
    if (meta !== null && meta.index > sm.applied) return;
    if (meta === null || meta.index !== sm.applied || meta.sizeBytes !== bytes.length) {
      c.fail('snapshot', `${this.id}: createSnapshot(${sm.applied}, ${bytes.length}) recorded ${meta === null ? 'nothing' : `(${meta.index}, ${meta.sizeBytes} bytes)`}`);
    }
    c.checkSnapshotMeta(meta, `taken by ${this.id}`);
    this.disk.saveLocalSnapshot(meta, bytes);
    this.env.stats.snapshotsTaken++;
    const to = sm.applied - this.options.keepEntries;
    if (to > this.disk.base) {
      node.compactLog(index(to));
      this.disk.compact(to);
    }
  }

  /** Sends one message the node emitted, after checking what it claims. */
  private out(m: Message): void {
    const c: Checker = this.env.checker;
    if (m.from !== this.id) c.fail('contract', `${this.id} emitted a message from ${m.from}`);
    const hs = this.disk.hardState;
    const strict = this.env.strict;
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
      case 'timeoutNow':
        if (c.observeLeader(this.id, m.term, m.type)) this.env.stats.leaders++;
        if (strict && (hs === null || hs.term < m.term || (hs.term === m.term && hs.vote !== this.id))) {
          c.report(
            'durability',
            `${this.id} acts as leader of term ${m.term} (${m.type}) before its own vote in that term is durable (durable: term ${hs?.term ?? 0}, vote ${hs?.vote || '-'})`,
          );
        }
        c.checkLeaderMessage(m);
        if (m.type === 'snapshot') {
          const s = this.disk.snapshot;
          if (s === null || s.meta.index !== m.snapshot.index) return; // not the snapshot we store: drop
          if (s.meta.term !== m.snapshot.term || s.meta.sizeBytes !== m.snapshot.sizeBytes) {
            c.fail('snapshot', `${this.id} sends snapshot (${m.snapshot.index}, ${m.snapshot.term}) but stores (${s.meta.index}, ${s.meta.term})`);
          }
          const end = m.offset + m.length;
          if (m.offset < 0 || m.length <= 0 || end > s.meta.sizeBytes || m.last !== (end === s.meta.sizeBytes)) {
            c.fail('contract', `${this.id}: bad snapshot chunk [${m.offset}, ${end}) last=${m.last} of ${s.meta.sizeBytes} bytes`);
          }
          this.env.send(this, { ...m, data: s.bytes.subarray(m.offset, end) });
          return;
        }
        break;
      case 'voteResponse':
        if (!m.granted) break;
        c.observeVoteGranted(this.id, m.to, m.term);
        // Safe once durable: this very vote, or a later term (the node can never vote in m.term again).
        if (strict && (hs === null || hs.term < m.term || (hs.term === m.term && hs.vote !== m.to))) {
          c.report('durability', `${this.id} grants its vote in term ${m.term} to ${m.to} before that vote is durable (durable: term ${hs?.term ?? 0}, vote ${hs?.vote || '-'})`);
        }
        this.env.send(this, m);
        this.env.grantedVote(this);
        return;
      case 'appendResponse':
        if (m.success) {
          if (m.term > this.ackTerm) {
            this.ackTerm = m.term;
            this.ackIndex = 0;
          }
          if (m.term === this.ackTerm && m.index > this.ackIndex) this.ackIndex = m.index;
        }
        if (strict && m.success) {
          const durable = Math.max(this.disk.lastIndex, this.disk.snapshotIndex);
          if (durable < m.index || hs === null || hs.term < m.term) {
            c.report('durability', `${this.id} acknowledges index ${m.index} in term ${m.term} but durably holds ${durable} (term ${hs?.term ?? 0})`);
          }
        }
        break;
      case 'snapshotResponse':
        if (strict) {
          const ok = m.installed ? this.disk.snapshotIndex >= m.snapshotIndex || this.disk.lastIndex >= m.snapshotIndex : this.disk.holdsSnapshotBytes(m.snapshotIndex, m.receivedBytes);
          if (!ok || hs === null || hs.term < m.term) {
            c.report('durability', `${this.id} acknowledges ${m.installed ? 'installing' : `${m.receivedBytes} bytes of`} snapshot ${m.snapshotIndex} before they are durable`);
          }
        }
        break;
      default:
        break;
    }
    this.env.send(this, m);
  }
}
