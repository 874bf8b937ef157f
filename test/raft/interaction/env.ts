// The interaction environment behind test/raft/testdata/*.txt: nodes n1..nN, each a RaftNode over an in-memory
// durable store, a network of queued messages, and an embedder that follows the contract on `Ready` to the
// letter (send `messages`, persist, send `persistedMessages`, apply, advance). Commands are documented in
// test/raft/testdata/README.md.
//
// Besides printing, the environment checks on every step what must hold whatever the expected output says,
// so that REWRITE=1 cannot bless a broken run: at most one leader per term, every applied entry identical on
// every node, committed entries durable before they are handed out, and every message that promises durable
// state backed by the store when it leaves (messages sent at once: before the write).

import type { RaftLimits } from '../../../src/limits.js';
import { RaftNode } from '../../../src/raft/node.js';
import { RaftError } from '../../../src/raft/errors.js';
import { index, nodeId, type ClusterConfig, type ConfChange, type Entry, type Message, type NodeId, type ReadState, type Ready } from '../../../src/raft/types.js';
import { fmtConfig, fmtEntry, fmtHardState, fmtMessage, fmtReadState, fmtSnapshotMeta, fmtSoftState, text } from './format.js';
import { ContractViolation, decodeValues, encodeValues, MemoryStorage } from './storage.js';
import { Args, runCheck } from './args.js';
import { facts, raftLogLines, statusLines, storageLines } from './inspect.js';

export interface Settings {
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly limits: Partial<RaftLimits>;
}

export interface EnvNode {
  readonly id: NodeId;
  readonly initialConfig: ClusterConfig;
  readonly settings: Settings;
  /** Nodes of one `add-nodes` (and the nodes that join after it) form one cluster; safety is per cluster. */
  readonly cluster: number;
  /** The constant the node's `random` returns: its election timeout is election * (1 + random) ticks. */
  readonly random: number;
  raft: RaftNode | null;
  readonly storage: MemoryStorage;
  /** The volatile state machine. */
  applied: number;
  values: string[];
  pendingReads: ReadState[];
  servedReads: string[];
}

const LIMIT_KEYS: Record<string, keyof RaftLimits> = {
  'max-inflight': 'maxInflightAppends',
  'max-entries-per-append': 'maxEntriesPerAppend',
  'max-append-bytes': 'maxAppendBytes',
  'max-uncommitted': 'maxUncommittedEntries',
  'snapshot-chunk': 'snapshotChunkBytes',
  'snapshot-window': 'maxInflightSnapshotChunks',
  'max-pending-reads': 'maxPendingReadIndex',
  'max-proposal-bytes': 'maxProposalBytes',
};

export class InteractionEnv {
  readonly nodes = new Map<string, EnvNode>();
  /** Messages on the wire, oldest first. */
  network: Message[] = [];
  private groups: string[][] | null = null;
  private out: string[] = [];
  private clusters = 0;
  /** Keyed by `${cluster}/${term}` and `${cluster}/${index}`. */
  private readonly leaderOfTerm = new Map<string, string>();
  private readonly appliedAt = new Map<string, string>();

  run(commandLine: string): string[] {
    this.out = [];
    const [name, ...tokens] = commandLine.trim().split(/\s+/);
    const args = new Args(tokens);
    const handler = this.commands[name ?? ''];
    if (handler === undefined) throw new Error(`unknown command "${name}"`);
    handler(args);
    args.assertConsumed();
    this.checkInvariants();
    return this.out;
  }

  node(id: string): EnvNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  raft(id: string): RaftNode {
    const raft = this.node(id).raft;
    if (raft === null) throw new Error(`${id} is down`);
    return raft;
  }

  private print(line: string): void {
    this.out.push(line);
  }

  private printError(error: RaftError | null): void {
    this.print(error === null ? 'ok' : `error ${error.message}`);
  }

  private readonly commands: Record<string, (args: Args) => void> = {
    'add-nodes': (args) => this.addNodes(args),
    campaign: (args) => {
      const id = args.node();
      const before = this.brief(id);
      this.raft(id).campaign();
      this.print(`${id}: ${before} -> ${this.brief(id)}`);
    },
    tick: (args) => this.tick(args.nodes(), args.count()),
    'tick-all': (args) => this.tick([...this.nodes.keys()].filter((id) => this.node(id).raft !== null), args.count()),
    propose: (args) => {
      const id = args.node();
      this.printError(this.raft(id).propose(new TextEncoder().encode(args.word('value'))));
    },
    'propose-conf-change': (args) => this.proposeConfChange(args),
    'read-index': (args) => {
      const id = args.node();
      this.printError(this.raft(id).readIndex(args.word('context')));
    },
    'transfer-leadership': (args) => {
      const from = args.node();
      this.printError(this.raft(from).transferLeadership(nodeId(args.node())));
    },
    'process-ready': (args) => {
      const crash = args.flag('crash-before-persist');
      for (const id of args.nodes()) this.processReady(this.node(id), crash);
    },
    'deliver-msgs': (args) => this.deliverCommand(args, args.flag('drop')),
    'drop-msgs': (args) => this.deliverCommand(args, true),
    'print-msgs': () => {
      for (const message of this.network) this.print(fmtMessage(message));
      if (this.network.length === 0) this.print('no messages');
    },
    partition: (args) => this.partition(args),
    heal: () => {
      this.groups = null;
      this.print('ok');
    },
    stabilize: (args) => this.stabilize(args.nodes(false)),
    crash: (args) => this.crash(this.node(args.node())),
    restart: (args) => this.restart(this.node(args.node())),
    status: (args) => this.out.push(...statusLines(this.node(args.node()))),
    'raft-log': (args) => this.out.push(...raftLogLines(this.raft(args.node()))),
    storage: (args) => this.out.push(...storageLines(this.node(args.node()))),
    snapshot: (args) => this.snapshot(this.node(args.node())),
    compact: (args) => {
      const node = this.node(args.node());
      const at = args.number('index');
      this.raft(node.id).compactLog(index(at));
      node.storage.compact(at);
      this.print(`log of ${node.id} now starts at ${this.raft(node.id).status().firstIndex}`);
    },
    check: (args) => {
      const node = this.node(args.node());
      runCheck(args, facts(node));
      this.print('ok');
    },
  };

  // ---- Setup ----

  private addNodes(args: Args): void {
    const voters = args.nodes(false);
    const learners = args.list('learners');
    const join = args.flag('join');
    const randoms = new Map(args.list('random').map((pair) => {
      const [id, value] = pair.split(':');
      const parsed = Number(value);
      if (id === undefined || !(parsed >= 0 && parsed < 1)) throw new Error(`random=${pair}: expected node:value with 0 <= value < 1`);
      return [id, parsed] as const;
    }));
    const limits: Partial<Record<keyof RaftLimits, number>> = {};
    for (const [key, field] of Object.entries(LIMIT_KEYS)) {
      const value = args.optionalNumber(key);
      if (value !== undefined) limits[field] = value;
    }
    const settings: Settings = {
      electionTimeoutTicks: args.optionalNumber('election') ?? 10,
      heartbeatIntervalTicks: args.optionalNumber('heartbeat') ?? 1,
      preVote: args.optionalBool('prevote') ?? true,
      checkQuorum: args.optionalBool('checkquorum') ?? true,
      limits,
    };
    if (!join) this.clusters++;
    if (this.clusters === 0) throw new Error('join needs a cluster to join');
    const cluster = this.clusters;
    const initialConfig: ClusterConfig = join ? { voters: [], learners: [] } : { voters: voters.map(nodeId), learners: learners.map(nodeId) };
    for (const id of [...voters, ...learners]) {
      if (this.nodes.has(id)) throw new Error(`${id} exists`);
      const node: EnvNode = { id: nodeId(id), initialConfig, settings, cluster, random: randoms.get(id) ?? 0, raft: null, storage: new MemoryStorage(), applied: 0, values: [], pendingReads: [], servedReads: [] };
      node.raft = this.newRaft(node);
      this.nodes.set(id, node);
    }
    const extras = [...Object.entries(limits), ...[...randoms].map(([id, value]) => [`random ${id}`, value] as const)].map(([key, value]) => ` ${key}=${value}`).join('');
    this.print(
      `${[...voters, ...learners].join(' ')}: ${join ? 'joining with an empty config' : fmtConfig(initialConfig)}` +
        ` election=${settings.electionTimeoutTicks} heartbeat=${settings.heartbeatIntervalTicks} prevote=${settings.preVote} checkquorum=${settings.checkQuorum}${extras}`,
    );
  }

  private newRaft(node: EnvNode): RaftNode {
    const restarting = node.storage.hardState.term > 0 || node.storage.snapshot !== null || node.storage.entries.length > 0;
    return new RaftNode({
      id: node.id,
      initialConfig: node.initialConfig,
      ...(restarting ? { restored: node.storage.restoredState() } : {}),
      random: () => node.random, // 0 unless set: election timeouts are exactly electionTimeoutTicks
      electionTimeoutTicks: node.settings.electionTimeoutTicks,
      heartbeatIntervalTicks: node.settings.heartbeatIntervalTicks,
      preVote: node.settings.preVote,
      checkQuorum: node.settings.checkQuorum,
      limits: node.settings.limits,
    });
  }

  private proposeConfChange(args: Args): void {
    const leader = args.node();
    const kind = args.word('change');
    const target = nodeId(args.word('node'));
    const types: Record<string, ConfChange['type']> = { 'add-learner': 'addLearner', 'add-voter': 'addVoter', remove: 'removeNode' };
    const type = types[kind];
    if (type === undefined) throw new Error(`unknown conf change "${kind}" (add-learner | add-voter | remove)`);
    this.printError(this.raft(leader).proposeConfChange({ type, node: target }));
  }

  // ---- Time ----

  private brief(id: string): string {
    const raft = this.node(id).raft;
    if (raft === null) return 'down';
    const status = raft.status();
    return `${status.role} term=${status.term} leader=${status.leader || 'none'}`;
  }

  private tick(ids: string[], count: number): void {
    for (let tick = 1; tick <= count; tick++) {
      for (const id of ids) {
        const before = this.brief(id);
        this.raft(id).tick();
        const after = this.brief(id);
        if (after !== before) this.print(`${id} at tick ${tick}: ${before} -> ${after}`);
        this.checkInvariants();
      }
    }
    if (this.out.length === 0) this.print('ok');
  }

  // ---- The Ready loop ----

  private processReady(node: EnvNode, crashBeforePersist: boolean): void {
    const raft = node.raft;
    if (raft === null) throw new Error(`${node.id} is down`);
    if (!raft.hasReady()) {
      this.print(`> ${node.id} has no Ready`);
      return;
    }
    const ready = raft.ready();
    this.printReady(node.id, ready);
    // 1. Messages that may leave at once: they may promise only what is durable already.
    for (const message of ready.messages) {
      this.checkPromise(node, message);
      this.send(node, message);
    }
    if (crashBeforePersist) {
      this.crash(node);
      return;
    }
    for (const entry of ready.committedEntries) {
      const stored = node.storage.entryAt(entry.index);
      if (stored?.term !== entry.term) throw new ContractViolation(`${node.id} was handed ${entry.term}/${entry.index} to apply before it was durable`);
    }
    // 2. One atomic write.
    for (const chunk of ready.snapshotChunks) node.storage.writeChunk(chunk);
    if (ready.snapshot !== null) {
      const installed = node.storage.install(ready.snapshot);
      node.values = decodeValues(installed.data);
      node.applied = installed.meta.index;
    }
    node.storage.writeEntries(ready.entries);
    if (ready.hardState !== null) node.storage.hardState = ready.hardState;
    // 3. Messages that promise what was just written.
    for (const message of ready.persistedMessages) {
      this.checkPromise(node, message);
      this.send(node, message);
    }
    // 4. Apply, then serve reads.
    for (const entry of ready.committedEntries) this.apply(node, entry);
    node.pendingReads.push(...ready.readStates);
    this.serveReads(node);
    // 5.
    raft.advance();
  }

  private printReady(id: string, ready: Ready): void {
    this.print(`> ${id} handling Ready${ready.mustSync ? ' (must sync)' : ''}`);
    const section = (title: string, lines: readonly string[]) => {
      if (lines.length === 0) return;
      this.print(`  ${title}:`);
      for (const line of lines) this.print(`    ${line}`);
    };
    if (ready.softState !== null) this.print(`  soft: ${fmtSoftState(ready.softState)}`);
    if (ready.hardState !== null) this.print(`  hard: ${fmtHardState(ready.hardState)}`);
    section('snapshot-chunks', ready.snapshotChunks.map((chunk) => `snap=${chunk.snapshot.term}/${chunk.snapshot.index} bytes=${chunk.offset}+${chunk.data.length}`));
    if (ready.snapshot !== null) this.print(`  install snapshot: ${fmtSnapshotMeta(ready.snapshot)}`);
    section('entries', ready.entries.map(fmtEntry));
    section('send', ready.messages.map(fmtMessage));
    section('send-after-persist', ready.persistedMessages.map(fmtMessage));
    section('apply', ready.committedEntries.map(fmtEntry));
    section('read-states', ready.readStates.map(fmtReadState));
  }

  private send(from: EnvNode, message: Message): void {
    if (message.type === 'snapshot') {
      // The sender's transport attaches the bytes from its stored snapshot.
      const stored = from.storage.snapshot;
      if (stored === null || stored.meta.index !== message.snapshot.index || stored.meta.term !== message.snapshot.term) {
        throw new ContractViolation(`${from.id} sends snapshot ${message.snapshot.term}/${message.snapshot.index} it has not stored`);
      }
      this.network.push({ ...message, data: stored.data.slice(message.offset, message.offset + message.length) });
      return;
    }
    this.network.push(message);
  }

  /** A persisted message is a promise about the write that precedes it. */
  private checkPromise(node: EnvNode, message: Message): void {
    const { hardState } = node.storage;
    const fail = (what: string) => {
      throw new ContractViolation(`${node.id} sends "${fmtMessage(message)}" but ${what}`);
    };
    // A vote in term T is backed by a durable vote in T, or by a durable later term (no vote in T can follow).
    const backs = (voter: NodeId) => hardState.term > message.term || (hardState.term === message.term && hardState.vote === voter);
    if (message.type === 'vote' && !backs(node.id)) fail(`its durable state is ${fmtHardState(hardState)}`);
    if (message.type === 'voteResponse' && message.granted && !backs(message.to)) fail(`its durable state is ${fmtHardState(hardState)}`);
    if (message.type === 'appendResponse' && message.success && node.storage.lastIndex() < message.index) fail(`only ${node.storage.lastIndex()} entries are durable`);
    if (message.type === 'snapshotResponse') {
      const { snapshot, partial } = node.storage;
      const installed = snapshot?.meta.index === message.snapshotIndex;
      const held = installed ? snapshot.meta.sizeBytes : partial?.meta.index === message.snapshotIndex ? partial.data.length : 0;
      if (message.installed && !installed) fail(`snapshot ${message.snapshotIndex} is not installed`);
      if (message.receivedBytes > held) fail(`only ${held} bytes of snapshot ${message.snapshotIndex} are durable`);
    }
  }

  private apply(node: EnvNode, entry: Entry): void {
    if (entry.index !== node.applied + 1) throw new ContractViolation(`${node.id} applies ${entry.index} after ${node.applied}`);
    node.applied = entry.index;
    if (entry.type === 'normal' && entry.data.length > 0) node.values.push(text(entry.data));
    const applied = fmtEntry(entry);
    const key = `${node.cluster}/${entry.index}`;
    const before = this.appliedAt.get(key);
    if (before !== undefined && before !== applied) throw new Error(`SAFETY: ${node.id} applied ${applied} where another node applied ${before}`);
    this.appliedAt.set(key, applied);
  }

  private serveReads(node: EnvNode): void {
    const waiting: ReadState[] = [];
    for (const read of node.pendingReads) {
      if (read.index <= node.applied) {
        node.servedReads.push(`${read.context}@${read.index}`);
        this.print(`  serve read ctx=${read.context} at applied=${node.applied}`);
      } else {
        waiting.push(read);
      }
    }
    node.pendingReads = waiting;
  }

  private checkInvariants(): void {
    for (const node of this.nodes.values()) {
      const status = node.raft?.status();
      if (status?.role !== 'leader') continue;
      const key = `${node.cluster}/${status.term}`;
      const known = this.leaderOfTerm.get(key);
      if (known !== undefined && known !== node.id) throw new Error(`SAFETY: two leaders in term ${status.term}: ${known} and ${node.id}`);
      this.leaderOfTerm.set(key, node.id);
    }
  }

  // ---- The network ----

  private connected(a: string, b: string): boolean {
    if (this.groups === null) return true;
    return this.groups.some((group) => group.includes(a) && group.includes(b));
  }

  private partition(args: Args): void {
    const groups: string[][] = [[]];
    for (const token of args.rest()) {
      if (token === '|') groups.push([]);
      else (groups[groups.length - 1] as string[]).push(this.node(token).id);
    }
    this.groups = groups;
    this.print(groups.map((group) => group.join(' ')).join(' | '));
  }

  private deliverCommand(args: Args, drop: boolean): void {
    const from = args.optionalWord('from');
    const type = args.optionalWord('type');
    const count = args.optionalNumber('count') ?? Infinity;
    const to = [...args.nodes(false), ...args.list('to')];
    const delivered = this.deliver((message) => (to.length === 0 || to.includes(message.to)) && (from === undefined || message.from === from) && (type === undefined || message.type === type), drop, count);
    if (delivered === 0) this.print('no messages');
  }

  /** Delivers (or drops) the queued messages that match, grouped by recipient; returns how many. */
  private deliver(matches: (message: Message) => boolean, drop: boolean, count = Infinity): number {
    const chosen: Message[] = [];
    this.network = this.network.filter((message) => {
      if (chosen.length >= count || !matches(message)) return true;
      chosen.push(message);
      return false;
    });
    for (const id of this.nodes.keys()) {
      const mine = chosen.filter((message) => message.to === id);
      if (mine.length === 0) continue;
      this.print(drop ? `> dropping messages to ${id}` : `> ${id} receiving`);
      for (const message of mine) {
        const raft = this.node(id).raft;
        if (drop) this.print(`  ${fmtMessage(message)}`);
        else if (!this.connected(message.from, message.to)) this.print(`  ${fmtMessage(message)} (dropped: partition)`);
        else if (raft === null) this.print(`  ${fmtMessage(message)} (dropped: ${id} is down)`);
        else {
          this.print(`  ${fmtMessage(message)}`);
          raft.step(message);
          this.checkInvariants();
        }
      }
    }
    return chosen.length;
  }

  private stabilize(only: string[]): void {
    const selected = only.length > 0 ? only : [...this.nodes.keys()];
    for (let round = 0; ; round++) {
      if (round > 1000) throw new Error('stabilize did not settle');
      let busy = false;
      for (const id of selected) {
        const raft = this.node(id).raft;
        if (raft === null || !raft.hasReady()) continue;
        this.processReady(this.node(id), false);
        busy = true;
      }
      for (const id of selected) {
        if (this.deliver((message) => message.to === id && selected.includes(message.from), false) > 0) busy = true;
      }
      if (!busy) return;
    }
  }

  // ---- Crashes ----

  private crash(node: EnvNode): void {
    node.raft = null;
    node.values = [];
    node.applied = 0;
    node.pendingReads = [];
    this.print(`${node.id} crashed`);
    this.deliver((message) => message.to === node.id, true);
  }

  private restart(node: EnvNode): void {
    if (node.raft !== null) throw new Error(`${node.id} is running`);
    const stored = node.storage.snapshot;
    node.values = stored ? decodeValues(stored.data) : [];
    node.applied = stored?.meta.index ?? 0;
    node.raft = this.newRaft(node);
    const status = node.raft.status();
    this.print(`${node.id} restarted: term=${status.term} vote=${status.vote || 'none'} commit=${status.commit} log=${status.firstIndex}..${status.lastIndex} applied=${node.applied}`);
  }

  // ---- Snapshots ----

  private snapshot(node: EnvNode): void {
    const raft = this.raft(node.id);
    const data = encodeValues(node.values);
    const meta = raft.createSnapshot(index(node.applied), data.length);
    if (meta.index === node.applied && node.storage.snapshot?.meta.index !== meta.index) node.storage.snapshot = { meta, data };
    this.print(`snapshot of ${node.id}: ${fmtSnapshotMeta(meta)} values=${JSON.stringify(decodeValues(node.storage.snapshot?.data ?? data))}`);
  }
}
