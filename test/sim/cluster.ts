// The simulated cluster: hosts, a lossy/duplicating/reordering network with partitions, a virtual clock
// and an event queue. A run is a pure function of (options, schedule): same seed, same trace.

import { RaftNode } from '../../src/raft/index.js';
import { type ConfChange, type Message, type NodeId, nodeId } from '../../src/raft/types.js';
import { Checker, fmtConfig, SimViolation } from './checker.js';
import { fmtMessage } from './format.js';
import { Host, type HostEnv, type HostOptions, type NodeFactory } from './host.js';
import { emptyStats, type RunStats, type SimEvent } from './model.js';
import { Rng } from './prng.js';
import { EventQueue } from './queue.js';
import { encodeProposal } from './statemachine.js';

/** Virtual time units per nominal tick. */
export const TICK = 100;

type QEvent =
  | { t: number; seq: number; k: 'tick'; host: Host; inc: number }
  | { t: number; seq: number; k: 'deliver'; m: Message; from: number; to: number }
  | { t: number; seq: number; k: 'disk'; host: Host; inc: number }
  | { t: number; seq: number; k: 'fault'; ev: SimEvent }
  | { t: number; seq: number; k: 'client' }
  | { t: number; seq: number; k: 'live' };

export interface ClusterOptions extends HostOptions {
  readonly seed: number;
  /** Initial voters. */
  readonly voters: number;
  /** Nodes that start outside the cluster (they may be added by membership changes). */
  readonly spares: number;
  readonly proposalRate: number;
  readonly readRate: number;
  readonly minVoters: number;
  readonly factory?: NodeFactory;
  /** Durability-promise checks on outgoing messages (default true). */
  readonly strict?: boolean;
  readonly trace?: (line: string) => void;
  /** Abort a run that processes more events than this (default 1 million). */
  readonly maxEvents?: number;
  /** Violation kinds to count rather than throw, where the run can go on (e.g. 'durability'). */
  readonly ignore?: readonly string[];
}

const defaultFactory: NodeFactory = (options) => new RaftNode(options);

export class Cluster implements HostEnv {
  readonly hosts: Host[] = [];
  readonly checker: Checker;
  readonly stats: RunStats = emptyStats();
  readonly strict: boolean;
  readonly tracing: boolean;
  private readonly queue = new EventQueue<QEvent>();
  private readonly rng: Rng;
  private readonly idxOf = new Map<string, number>();
  private readonly tickPeriod: number[] = [];
  now = 0;
  // network state
  private readonly blocked: Uint8Array;
  /** Latest delivery time scheduled per directed link (keeps links FIFO while reordering is off). */
  private readonly lastDelivery: Float64Array;
  private loss = 0;
  private dup = 0;
  private reorder = 0;
  // clients
  private clientTraffic = true;
  private nextProposal = 1;
  private nextRead = 1;
  // liveness
  private fresh: number[] = [];
  private lastFreshAt = -Infinity;
  private liveDone = false;
  private readonly maxEvents: number;
  // armed nemeses
  private isolateNextLeader = 0;
  private rebootNextVoter = 0;
  private isolateOnFirstCommit = 0;

  constructor(readonly options: ClusterOptions) {
    this.rng = new Rng(options.seed);
    this.strict = options.strict ?? true;
    this.tracing = options.trace !== undefined;
    this.maxEvents = options.maxEvents ?? 1_000_000;
    const total = options.voters + options.spares;
    const ids: NodeId[] = [];
    for (let i = 0; i < total; i++) ids.push(nodeId(`n${i + 1}`));
    const initial = { voters: ids.slice(0, options.voters), learners: [] };
    const outside = { voters: [], learners: [] };
    this.checker = new Checker(initial, new Set(options.ignore ?? []));
    const factory = options.factory ?? defaultFactory;
    for (let i = 0; i < total; i++) {
      const id = ids[i] as NodeId;
      this.idxOf.set(id, i);
      this.hosts.push(new Host(i, id, i < options.voters ? initial : outside, options, factory, this.rng.fork(), this));
      this.tickPeriod.push(TICK + this.rng.int(-6, 6));
    }
    this.blocked = new Uint8Array(total * total);
    this.lastDelivery = new Float64Array(total * total);
  }

  // ---- HostEnv ----

  trace(line: string): void {
    this.options.trace?.(`${(this.now / TICK).toFixed(2).padStart(8)} ${line}`);
  }

  send(from: Host, m: Message): void {
    const to = this.idxOf.get(m.to);
    if (to === undefined) return;
    const n = this.hosts.length;
    if (this.blocked[from.idx * n + to] === 1) return;
    if (this.loss > 0 && this.rng.chance(this.loss)) return;
    // A forwarded proposal is never duplicated: Raft does not deduplicate client requests, and a
    // duplicate would be a second (legitimate) proposal of the same payload.
    const copies = this.dup > 0 && m.type !== 'forwardProposal' && this.rng.chance(this.dup) ? 2 : 1;
    const link = from.idx * n + to;
    for (let c = 0; c < copies; c++) {
      let t = this.now + this.rng.int(2, 25);
      if (this.reorder > 0) {
        // reordering network: independent delays, some of them long
        if (this.rng.chance(this.reorder)) t += this.rng.int(10, 300);
      } else {
        // FIFO per link (like a TCP connection): never overtake an earlier message on the same link
        t = Math.max(t, this.lastDelivery[link] as number);
      }
      this.lastDelivery[link] = Math.max(t, this.lastDelivery[link] as number);
      this.queue.push({ t, k: 'deliver', m, from: from.idx, to });
    }
  }

  scheduleDisk(host: Host): void {
    let delay = this.rng.int(1, 12);
    if (host.slowDisk) delay += this.rng.int(40, 400);
    else if (this.rng.chance(0.02)) delay += this.rng.int(20, 120);
    this.queue.push({ t: this.now + delay, k: 'disk', host, inc: host.incarnation });
  }

  leaderCommitted(leader: Host, commit: number, firstInTerm: boolean): void {
    if (firstInTerm && this.isolateOnFirstCommit > 0) {
      this.isolateOnFirstCommit--;
      if (this.tracing) this.trace(`NEMESIS isolates ${leader.id} at its first commit (${commit}) of term ${leader.term}`);
      this.applyFault({ at: 0, kind: 'isolate', node: leader.idx, dir: 'both' });
    }
    const node = leader.node;
    if (node === null) return;
    const commitTerm = leader.disk.termAt(commit);
    if (commitTerm === undefined) return;
    const voters = node.status().config.voters.map((id) => {
      const disk = (this.hosts[this.idxOf.get(id) as number] as Host).disk;
      const lastIndex = Math.max(disk.lastIndex, disk.snapshotIndex);
      return { id, lastIndex, lastTerm: disk.termAt(lastIndex) ?? 0, has: disk.snapshotIndex >= commit || disk.termAt(commit) === commitTerm };
    });
    this.checker.checkCommitSafety(leader.id, leader.term, commit, commitTerm, voters);
  }

  becameLeader(host: Host): void {
    if (this.isolateNextLeader === 0) return;
    this.isolateNextLeader--;
    if (this.tracing) this.trace(`NEMESIS isolates new leader ${host.id}`);
    this.applyFault({ at: 0, kind: 'isolate', node: host.idx, dir: 'both' });
  }

  grantedVote(host: Host): void {
    if (this.rebootNextVoter === 0) return;
    this.rebootNextVoter--;
    if (this.tracing) this.trace(`NEMESIS reboots voter ${host.id}`);
    this.queue.push({ t: this.now, k: 'fault', ev: { at: 0, kind: 'restart', node: host.idx } });
  }

  // ---- lifecycle ----

  start(): void {
    for (const host of this.hosts) this.startHost(host);
    this.queue.push({ t: TICK / 2, k: 'client' });
  }

  addFaults(events: readonly SimEvent[]): void {
    for (const ev of events) this.queue.push({ t: Math.max(1, Math.round(ev.at * TICK) + 37), k: 'fault', ev });
  }

  private startHost(host: Host): void {
    host.start();
    if (this.tracing) this.trace(`${host.id} started (incarnation ${host.incarnation})`);
    this.queue.push({ t: this.now + this.rng.int(1, this.tickPeriod[host.idx] as number), k: 'tick', host, inc: host.incarnation });
  }

  private crashHost(host: Host): void {
    if (!host.alive) return;
    host.crash();
    if (this.tracing) this.trace(`${host.id} CRASHED`);
  }

  /** Processes events up to time `end` (or until the liveness goal is met). */
  runUntil(end: number): void {
    const q = this.queue;
    while (!this.liveDone && q.peekTime() <= end) {
      const ev = q.pop() as QEvent;
      this.now = ev.t;
      this.checker.time = ev.t;
      if (++this.stats.events > this.maxEvents) this.checker.fail('runaway', `more than ${this.maxEvents} events`);
      try {
        this.dispatch(ev);
      } catch (error) {
        if (error instanceof SimViolation) throw error;
        const where = ev.k === 'deliver' ? `delivering ${fmtMessage(ev.m)}` : ev.k === 'fault' ? `fault ${JSON.stringify(ev.ev)}` : ev.k;
        const e = error as Error;
        throw new SimViolation('core-exception', `${e.name}: ${e.message} (while ${where})\n${e.stack ?? ''}`, this.now);
      }
    }
    if (!this.liveDone && this.now < end) this.now = end;
  }

  private dispatch(ev: QEvent): void {
    switch (ev.k) {
      case 'tick': {
        const host = ev.host;
        if (host.incarnation !== ev.inc || host.node === null) return;
        this.stats.ticks++;
        host.node.tick();
        host.pump();
        this.queue.push({ t: ev.t + (this.tickPeriod[host.idx] as number), k: 'tick', host, inc: ev.inc });
        return;
      }
      case 'deliver': {
        const host = this.hosts[ev.to] as Host;
        if (host.node === null || this.blocked[ev.from * this.hosts.length + ev.to] === 1) return;
        this.stats.delivered++;
        if (this.tracing) this.trace(`deliver ${fmtMessage(ev.m)}`);
        host.node.step(ev.m);
        host.pump();
        return;
      }
      case 'disk':
        if (ev.host.incarnation === ev.inc) ev.host.diskDone();
        return;
      case 'fault':
        this.stats.faults++;
        if (this.tracing) this.trace(`FAULT ${JSON.stringify(ev.ev)}`);
        this.applyFault(ev.ev);
        return;
      case 'client':
        if (!this.clientTraffic) return;
        if (this.rng.chance(this.options.proposalRate)) this.proposeAt(this.randomLiveHost());
        if (this.rng.chance(this.options.readRate)) this.readAt(this.randomLiveHost());
        this.queue.push({ t: ev.t + TICK, k: 'client' });
        return;
      case 'live':
        this.liveStep();
        if (!this.liveDone) this.queue.push({ t: ev.t + TICK, k: 'live' });
        return;
    }
  }

  // ---- clients ----

  private randomLiveHost(): Host | null {
    const live = this.hosts.filter((h) => h.alive);
    return live.length === 0 ? null : this.rng.pick(live);
  }

  proposeAt(host: Host | null): number {
    if (host === null || host.node === null) return -1;
    const id = this.nextProposal++;
    const error = host.node.propose(encodeProposal(id, this.rng.int(0, 24)));
    if (this.tracing) this.trace(`client proposes p${id} at ${host.id}: ${error?.code ?? 'ok'}`);
    if (error === null) this.stats.proposals++;
    host.pump();
    return error === null ? id : -1;
  }

  readAt(host: Host | null): void {
    if (host === null || host.node === null) return;
    const context = `r${this.nextRead++}`;
    this.checker.issueRead(context, host.id);
    const error = host.node.readIndex(context);
    if (this.tracing) this.trace(`client reads ${context} at ${host.id} (commit known ${this.checker.maxCommitKnown}): ${error?.code ?? 'ok'}`);
    host.pump();
  }

  /** The live node that believes it leads the highest term, if any. */
  leaderHost(): Host | null {
    let best: Host | null = null;
    let bestTerm = -1;
    for (const h of this.hosts) {
      if (h.node === null) continue;
      const st = h.node.status();
      if (st.role === 'leader' && st.term > bestTerm) {
        best = h;
        bestTerm = st.term;
      }
    }
    return best;
  }

  private host(ref: number): Host {
    return this.hosts[((ref % this.hosts.length) + this.hosts.length) % this.hosts.length] as Host;
  }

  // ---- faults ----

  private setBlocked(from: number, to: number): void {
    if (from !== to) this.blocked[from * this.hosts.length + to] = 1;
  }

  applyFault(ev: SimEvent): void {
    const n = this.hosts.length;
    switch (ev.kind) {
      case 'partition':
        for (let a = 0; a < n; a++) {
          for (let b = 0; b < n; b++) if ((ev.groups[a] ?? 0) !== (ev.groups[b] ?? 0)) this.setBlocked(a, b);
        }
        return;
      case 'isolate': {
        const x = this.host(ev.node).idx;
        for (let o = 0; o < n; o++) {
          if (ev.dir !== 'out') this.setBlocked(o, x);
          if (ev.dir !== 'in') this.setBlocked(x, o);
        }
        return;
      }
      case 'isolateLeader': {
        const leader = this.leaderHost();
        if (leader === null) return;
        const side = new Set<number>([leader.idx]);
        for (let k = 1; k <= ev.peers; k++) side.add((leader.idx + k) % n);
        for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (side.has(a) !== side.has(b)) this.setBlocked(a, b);
        return;
      }
      case 'cutLink':
        this.setBlocked(this.host(ev.from).idx, this.host(ev.to).idx);
        return;
      case 'heal':
        this.blocked.fill(0);
        return;
      case 'crash':
        this.crashHost(this.host(ev.node));
        return;
      case 'crashLeader': {
        const leader = this.leaderHost();
        if (leader !== null) this.crashHost(leader);
        return;
      }
      case 'restart': {
        const host = this.host(ev.node);
        this.crashHost(host);
        this.startHost(host);
        return;
      }
      case 'net':
        this.loss = ev.loss;
        this.dup = ev.dup;
        this.reorder = ev.reorder;
        return;
      case 'slowDisk':
        this.host(ev.node).slowDisk = ev.slow;
        return;
      case 'transfer': {
        const leader = this.leaderHost();
        if (leader === null || leader.node === null) return;
        const target = this.host(ev.target);
        const error = leader.node.transferLeadership(target.id);
        if (this.tracing) this.trace(`transfer ${leader.id} -> ${target.id}: ${error?.code ?? 'ok'}`);
        leader.pump();
        return;
      }
      case 'confChange':
        this.confChange(ev.op, ev.pick);
        return;
      case 'proposals': {
        const host = this.host(ev.node);
        for (let i = 0; i < ev.count; i++) this.proposeAt(host.alive ? host : this.randomLiveHost());
        return;
      }
      case 'reads': {
        const host = this.host(ev.node);
        for (let i = 0; i < ev.count; i++) this.readAt(host.alive ? host : this.randomLiveHost());
        return;
      }
      case 'leaderProposals': {
        const leader = this.leaderHost();
        for (let i = 0; i < ev.count; i++) this.proposeAt(leader);
        return;
      }
      case 'isolateNextLeader':
        this.isolateNextLeader++;
        return;
      case 'rebootNextVoter':
        this.rebootNextVoter++;
        return;
      case 'isolateLeaderOnFirstCommit':
        this.isolateOnFirstCommit++;
        return;
    }
  }

  private confChange(op: 'addLearner' | 'addVoter' | 'remove', pick: number): void {
    const leader = this.leaderHost();
    if (leader === null || leader.node === null) return;
    const config = leader.node.status().config;
    const isMember = (id: NodeId) => config.voters.includes(id) || config.learners.includes(id);
    const outside = this.hosts.map((h) => h.id).filter((id) => !isMember(id));
    let candidates: readonly NodeId[];
    let type: ConfChange['type'];
    if (op === 'addLearner') {
      candidates = outside;
      type = 'addLearner';
    } else if (op === 'addVoter') {
      candidates = config.learners.length > 0 ? config.learners : outside;
      type = 'addVoter';
    } else {
      candidates = [...(config.voters.length > this.options.minVoters ? config.voters : []), ...config.learners];
      type = 'removeNode';
    }
    if (candidates.length === 0) return;
    const node = candidates[pick % candidates.length] as NodeId;
    const change: ConfChange = { type, node };
    const error = leader.node.proposeConfChange(change);
    if (this.tracing) this.trace(`conf change ${type} ${node} at ${leader.id} (config ${fmtConfig(config)}): ${error?.code ?? 'ok'}`);
    leader.pump();
  }

  // ---- healing and liveness ----

  /** Ends every fault: restarts crashed nodes, heals the network, restores disks; stops background traffic. */
  healAll(): void {
    if (this.tracing) this.trace('HEAL ALL');
    this.blocked.fill(0);
    this.loss = 0;
    this.dup = 0;
    this.reorder = 0;
    this.clientTraffic = false;
    this.isolateNextLeader = 0;
    this.rebootNextVoter = 0;
    this.isolateOnFirstCommit = 0;
    for (const host of this.hosts) {
      host.slowDisk = false;
      if (!host.alive) this.startHost(host);
    }
  }

  /** After healAll(): a leader must emerge and a fresh proposal must be applied by every member. */
  checkLiveness(boundTicks: number): void {
    const start = this.now;
    this.fresh = [];
    this.lastFreshAt = -Infinity;
    this.liveDone = false;
    this.queue.push({ t: this.now + 1, k: 'live' });
    this.runUntil(start + boundTicks * TICK);
    this.stats.livenessTicks = Math.round((this.now - start) / TICK);
    if (!this.liveDone) {
      this.checker.fail('liveness', `no fresh proposal committed on all members within ${boundTicks} ticks of healing\n${this.describe()}`);
    }
  }

  private liveStep(): void {
    const leader = this.leaderHost();
    if (leader === null || leader.node === null) return;
    const config = leader.node.status().config;
    const members = [...config.voters, ...config.learners].map((id) => this.hosts[this.idxOf.get(id) as number] as Host);
    for (const id of this.fresh) {
      if (members.every((h) => h.alive && h.sm.ids.has(id))) {
        this.liveDone = true;
        if (this.tracing) this.trace(`LIVE: p${id} applied on all members ${fmtConfig(config)}`);
        return;
      }
    }
    const retryAfter = 3 * this.options.electionTimeoutTicks * TICK;
    if (this.now - this.lastFreshAt >= retryAfter) {
      const id = this.proposeAt(leader);
      if (id >= 0) {
        this.fresh.push(id);
        this.lastFreshAt = this.now;
      }
    }
  }

  describe(): string {
    return this.hosts
      .map((h) => {
        if (h.node === null) return `  ${h.id}: down`;
        const s = h.node.status();
        return `  ${h.id}: ${s.role} term ${s.term} leader ${s.leader || '-'} commit ${s.commit} applied ${s.applied}/${h.sm.applied} last ${s.lastIndex} snapshot ${s.snapshot?.index ?? 0} config ${fmtConfig(s.config)} inflightReady=${h.inflight !== null}`;
      })
      .join('\n');
  }
}
