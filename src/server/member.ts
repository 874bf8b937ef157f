// One member of a Conclave cluster: the Raft core on durable storage, driven by a real clock, talking to its peers
// over the transport, applying committed entries to the replicated state, and serving client requests: proposals
// tracked by request ID, linearizable reads by batched ReadIndex, serializable reads from the local state.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kvLimits, leaseClockLimits, leaseLimits, serverLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { ClientRequest } from '../protocol/request-id.js';
import type { RangeRequest, RangeResponse, ResponseHeader } from '../protocol/kv.js';
import { nodeId, RaftNode, type ClusterConfig, type Entry, type NodeId, type RaftError } from '../raft/index.js';
import { hashStatePages, KvStore, type KvCommand, type KvResult, type StateReader } from '../state/index.js';
import { readMember, type MemberAttributes, type MemberCommand } from '../state/members.js';
import { NodeStorage } from '../storage/index.js';
import { PeerFaults, PeerTransport } from '../transport/index.js';
import type { ServerConfig } from './config.js';
import { DISCOVERY_PATH, resolveIdentity, type DiscoveryAnswer, type Identity } from './identity.js';
import { removalVerdict } from './removal.js';
import { silentLogger, type Logger } from './log.js';
import { ProposalTracker } from './proposals.js';
import { RaftLoop } from './raft-loop.js';
import { ReadBatcher } from './reads.js';
import { KeepAliveRelay } from './keepalive-relay.js';
import { decodeClockSample, encodeClockSample, LeaseClock } from './lease-clock.js';
import { Lessor } from './lessor.js';
import { HealthChecker, isRegistryKey, REGISTRY_RANGE } from './registry-health.js';
import type { WatchEvent } from '../protocol/watch.js';
import { WatchHub } from './watch-hub.js';
import { ConclaveStateMachine, encodeProposal, type Applied, type Command } from './state-machine.js';

export interface MemberOptions {
  readonly config: ServerConfig;
  readonly log?: Logger;
  /** The member stopped on its own (an unrecoverable error, or it was removed from the cluster). */
  readonly onStopped?: (reason: { readonly error: Error | null; readonly removed: boolean }) => void;
}

/** How a RaftError from the core reaches a client. */
export function clientErrorOf(error: RaftError): ConclaveError {
  switch (error.code) {
    case 'ErrNoLeader':
    case 'ErrUnavailable':
      return new ConclaveError('ErrNoLeader', error.message);
    case 'ErrTooManyPendingProposals':
    case 'ErrTooManyPendingReads':
      return new ConclaveError('ErrTooManyRequests', error.message);
    case 'ErrProposalTooLarge':
      return new ConclaveError('ErrRequestTooLarge', error.message);
    case 'ErrLeaderTransferInProgress':
      return new ConclaveError('ErrLeaderChanged', error.message);
    case 'ErrConfChangePending':
    case 'ErrConfChangeBeforeCommitInTerm':
      return new ConclaveError('ErrConfChangeInProgress', error.message);
    case 'ErrNotLeader':
      return new ConclaveError('ErrNotLeader', error.message);
    case 'ErrUnknownMember':
      return new ConclaveError('ErrMemberNotFound', error.message);
    default:
      return new ConclaveError('ErrInternal', error.message);
  }
}

const EMPTY_PING = Buffer.alloc(0);

type ConfigWaiter = { readonly until: (config: ClusterConfig) => boolean; readonly resolve: () => void };

export class Member {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly kv: KvStore;
  /** The watches served by this member, fed with every revision it applies. */
  readonly watches: WatchHub;
  /** Lease time: expiries and renewals at the leader, deadline estimates everywhere. */
  readonly lessor: Lessor;
  /** The clock leases are measured on, held to what a quorum of voters measured (lease-clock.ts). */
  readonly leaseClock: LeaseClock;
  /** The registry's active health checks, run while this member leads. */
  readonly healthChecks: HealthChecker;
  /** Renewals taken here while another member leads, on their way to it. */
  readonly keepAliveRelay: KeepAliveRelay;
  /** The cuts a test makes to partition this member (peer-faults.ts); null unless --unsafe-peer-fault-injection. */
  readonly peerFaults: PeerFaults | null;
  private readonly node: RaftNode;
  private readonly loop: RaftLoop;
  private readonly proposals: ProposalTracker<KvResult | null>;
  private readonly reads: ReadBatcher;
  private readonly ticker: NodeJS.Timeout;
  private readonly progressTicker: NodeJS.Timeout;
  private readonly leaseTicker: NodeJS.Timeout;
  /** One tick is one heartbeat interval (as etcd counts). */
  private readonly electionTimeoutTicks: number;
  private readonly log: Logger;
  private configWaiters: ConfigWaiter[] = [];
  private stopping = false;
  private closed: Promise<void> | null = null;
  private publishing = false;
  private published = false;
  private wasMember = false;
  private loopStopped = false;
  private ticksWithoutLeader = 0;
  private checkingRemoval = false;
  private leaderWaiters: { resolve: () => void; reject: (error: ConclaveError) => void; timer: NodeJS.Timeout }[] = [];

  private constructor(
    readonly config: ServerConfig,
    identity: Identity,
    private readonly storage: NodeStorage,
    kv: KvStore,
    private readonly transport: PeerTransport,
    private readonly initialPeerUrls: ReadonlyMap<string, readonly string[]>,
    private readonly options: MemberOptions,
    peerFaults: PeerFaults | null,
  ) {
    this.peerFaults = peerFaults;
    this.id = nodeId(identity.memberId);
    this.keepAliveRelay = new KeepAliveRelay(this.id);
    this.clusterId = identity.clusterId;
    this.log = (options.log ?? silentLogger).with({ member: this.id });
    this.electionTimeoutTicks = Math.max(2, Math.floor(config.electionTimeoutMs / config.heartbeatIntervalMs));
    this.node = new RaftNode({
      id: this.id,
      initialConfig: identity.initialConfig,
      random: Math.random,
      electionTimeoutTicks: this.electionTimeoutTicks,
      heartbeatIntervalTicks: 1,
      ...(storage.restored === undefined ? {} : { restored: storage.restored }),
    });
    this.kv = kv;
    this.watches = new WatchHub({ store: this.kv, reader: () => this.storage.backend });
    const nonce = randomBytes(6).toString('hex');
    const now = () => performance.now();
    this.leaseClock = new LeaseClock({
      member: this.id,
      incarnation: randomBytes(4).readUInt32BE(0),
      monotonicMs: now,
      voters: () => this.appliedConfig.voters,
      limits: leaseClockLimits,
    });
    this.lessor = new Lessor({
      leases: this.kv.leases,
      nowMs: () => this.leaseClock.nowMs(),
      stamps: { stamp: () => this.leaseClock.stamp(), mapDeadline: (stamp, remainingMs) => this.leaseClock.mapDeadline(stamp, remainingMs) },
      expiryMarginMs: leaseClockLimits.expiryMarginMs,
      propose: (command) => this.proposeAsLeader(command),
      graceMs: config.electionTimeoutMs,
      maxCheckpointsPerCommand: kvLimits.maxCheckpointsPerCommand,
      log: this.log,
    });
    this.lessor.loaded();
    this.healthChecks = new HealthChecker({
      scan: async () => {
        const { revision, response } = await this.kv.range({ ...REGISTRY_RANGE, serializable: true }, this.storage.backend);
        return { revision, kvs: response.kvs };
      },
      replay: async (from, through) => {
        const events: WatchEvent[] = [];
        await this.kv.replayEvents(this.storage.backend, from, through, (batch) => {
          for (const { event } of batch.events) if (isRegistryKey(event.kv.key)) events.push(event);
          return true;
        });
        return events;
      },
      propose: (command) => this.proposeAsLeader(command),
      log: this.log,
    });
    this.proposals = new ProposalTracker(nonce, serverLimits.maxPendingProposals, serverLimits.requestTimeoutMs, now);
    this.reads = new ReadBatcher({
      requestReadIndex: (context) => {
        const error = this.node.readIndex(context);
        if (error !== null) return clientErrorOf(error);
        this.loop.kick();
        return null;
      },
      appliedIndex: () => this.storage.backend.appliedIndex,
      nonce,
      maxPending: serverLimits.maxPendingReads,
      timeoutMs: serverLimits.requestTimeoutMs,
      retryMs: config.electionTimeoutMs,
      nowMs: now,
    });
    this.loop = new RaftLoop({
      node: this.node,
      storage,
      stateMachine: new ConclaveStateMachine(this.kv),
      send: (message) => this.transport.send([message]),
      flush: () => this.transport.flush(),
      onApplied: (entry, applied) => this.onApplied(entry, applied as Applied | null),
      onReadState: (readState) => this.reads.onReadState(readState),
      whileReplacingState: (install) => this.kv.whileReplacing(install),
      onSnapshotInstalled: async () => {
        await this.kv.load(this.storage.backend);
        this.lessor.loaded();
        this.watches.resync();
        this.membershipChanged();
        this.reads.onApplied(this.storage.backend.appliedIndex);
      },
      onSoftState: (soft) => {
        this.log.info(soft.role === 'leader' ? 'became leader' : soft.leader === '' ? 'no leader' : 'following', { role: soft.role, leader: soft.leader, term: this.node.term });
        if (soft.leader !== '') this.wakeLeaderWaiters(null);
        if (soft.role === 'leader') {
          this.lessor.promote();
          this.healthChecks.promote();
        } else {
          this.lessor.demote();
          this.healthChecks.demote();
        }
      },
      onFatal: (error) => this.fatal(error),
    });
    this.wasMember = this.isInConfig(this.storage.backend.config);
    this.ticker = setInterval(() => this.tick(), config.heartbeatIntervalMs);
    this.progressTicker = setInterval(() => this.watches.progressTick(), config.watchProgressNotifyIntervalMs);
    this.progressTicker.unref();
    this.leaseTicker = setInterval(() => this.lessor.tick(), leaseLimits.expiryCheckIntervalMs);
  }

  static async start(options: MemberOptions): Promise<Member> {
    const { config } = options;
    const log = options.log ?? silentLogger;
    const storage = await NodeStorage.open({ dataDir: config.dataDir, limits: { snapshotEntries: config.snapshotCount } });
    let transport: PeerTransport | null = null;
    try {
      const kv = new KvStore();
      await kv.load(storage.backend);
      const identity = await resolveIdentity(config, storage.restored !== undefined, log);
      const initialPeerUrls = new Map<string, readonly string[]>(identity.initialPeers);
      let member: Member | null = null;
      const peerFaults = config.unsafePeerFaultInjection ? new PeerFaults() : null;
      transport = await PeerTransport.start({
        clusterId: identity.clusterId,
        memberId: nodeId(identity.memberId),
        listenUrls: config.listenPeerUrls,
        onMessage: (message) => member?.receive(message),
        onPeerStatus: (peer, connected) => log.debug(connected ? 'peer connected' : 'peer disconnected', { peer }),
        log: (level, text, fields) => log[level](text, fields),
        serveHttp: (request, response) => member?.servePeerHttp(request, response) ?? false,
        pings: {
          payload: () => (member === null ? EMPTY_PING : encodeClockSample(member.leaseClock.sample())),
          received: (peer, payload) => {
            const sample = decodeClockSample(payload);
            if (sample !== null) member?.leaseClock.observe(peer, sample);
          },
        },
        ...(peerFaults === null ? {} : { faults: peerFaults }),
      });
      if (peerFaults !== null) log.warn('peer fault injection is on (--unsafe-peer-fault-injection): /debug/peer-faults can partition this member');
      member = new Member(config, identity, storage, kv, transport, initialPeerUrls, options, peerFaults);
      member.membershipChanged();
      // Alone in the cluster, there is no one to wait for: lead at once.
      const voters = member.appliedConfig.voters;
      if (voters.length === 1 && voters[0] === member.id) member.node.campaign();
      member.loop.kick();
      member.log.info('member started', { name: config.name, cluster: identity.clusterId, restored: storage.restored !== undefined });
      return member;
    } catch (error) {
      await transport?.close();
      await storage.close();
      throw error;
    }
  }

  // ---- Serving clients ----

  header(revision: number = this.kv.revision): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.id, revision, raftTerm: this.node.term };
  }

  /** Proposes a KV command and resolves with its result once applied on this member. */
  async proposeKv(command: KvCommand, client?: ClientRequest): Promise<KvResult> {
    return (await this.propose({ kind: 'kv', command }, client)) as KvResult;
  }

  /**
   * A proposal that only the leader may make, from its own view of time (the lessor's revokes and checkpoints, the
   * health checker's results): refused when the Raft core is not leading now, never forwarded. The core steps down
   * the moment a message from a newer term arrives; the lessor learns of it when the loop next hands it the change,
   * which a stalled disk can hold back for seconds. Meanwhile such a deposed leader's lessor expired a lease from
   * its stale expiries, and its revoke, forwarded to the new leader, revoked a lease the new leader had just renewed
   * (the jepsen-like registry workload under fsync-stall: a live instance gone).
   */
  async proposeAsLeader(command: KvCommand): Promise<KvResult> {
    if (!this.node.isLeader) throw new ConclaveError('ErrNotLeader', `${command.type} is proposed by the leader only, and this member no longer leads`);
    return this.proposeKv(command);
  }

  /** `client`: the client's request ID, by which the state machine applies the command at most once. */
  async propose(command: Command, client?: ClientRequest): Promise<KvResult | null> {
    if (this.stopping) throw new ConclaveError('ErrStopped');
    if (this.node.leaderId === '') await this.leaderKnown();
    const { id, result } = this.proposals.open();
    const error = this.node.propose(encodeProposal(id, command, client));
    if (error !== null) this.proposals.fail(id, clientErrorOf(error));
    else this.loop.kick();
    return result;
  }

  /** Resolves once a read served now is linearizable (ReadIndex confirmed and applied up to it). */
  async linearizableBarrier(): Promise<void> {
    if (this.stopping) throw new ConclaveError('ErrStopped');
    if (this.node.leaderId === '') await this.leaderKnown();
    return this.reads.wait();
  }

  /** Resolves once a leader is known (waiting as a request does, see leaderKnown). */
  async leaderElected(): Promise<void> {
    if (this.stopping) throw new ConclaveError('ErrStopped');
    await this.leaderKnown();
  }

  /**
   * Requests made while there is no leader (during an election, or before the first one) wait for one, as etcd's do,
   * rather than fail at once; after serverLimits.requestTimeoutMs they fail with ErrNoLeader.
   */
  private leaderKnown(): Promise<void> {
    if (this.node.leaderId !== '') return Promise.resolve();
    if (this.leaderWaiters.length >= serverLimits.maxPendingProposals) {
      return Promise.reject(new ConclaveError('ErrTooManyRequests', `${this.leaderWaiters.length} requests wait for a leader (serverLimits.maxPendingProposals)`));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.leaderWaiters = this.leaderWaiters.filter((w) => w !== waiter);
          reject(new ConclaveError('ErrNoLeader', `no leader elected within ${serverLimits.requestTimeoutMs} ms`));
        }, serverLimits.requestTimeoutMs),
      };
      this.leaderWaiters.push(waiter);
    });
  }

  private wakeLeaderWaiters(error: ConclaveError | null): void {
    const waiters = this.leaderWaiters;
    this.leaderWaiters = [];
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
  }

  async range(request: RangeRequest): Promise<{ header: ResponseHeader; response: RangeResponse }> {
    if (request.serializable !== true) await this.linearizableBarrier();
    const { revision, response } = await this.kv.range(request, this.storage.backend);
    return { header: this.header(revision), response };
  }

  /** Has the loop handle what the core has to do (after a direct input to the core). */
  kick(): void {
    this.loop.kick();
  }

  // ---- What the cluster looks like from here ----

  get raftNode(): RaftNode {
    return this.node;
  }

  get appliedConfig(): ClusterConfig {
    return this.storage.backend.config;
  }

  /** The applied state, for reads outside the client API (the key-value digest). */
  get backendReader(): StateReader {
    return this.storage.backend;
  }

  get appliedIndex(): number {
    return this.storage.backend.appliedIndex;
  }

  /**
   * A digest of the whole replicated state as it is durable (every backend record: the KV store, leases, recipes,
   * the deduplication table, the member list) and the index it is applied through: members at the same index
   * have equal digests. The durable state trails the applied one by at most a flush (stagedApplyFlushMs).
   */
  stateDigest(): Promise<{ hash: number; appliedIndex: number }> {
    return this.storage.readDurableBackend(async (record, pairs) => ({ hash: await hashStatePages(pairs), appliedIndex: record.appliedIndex }));
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  attributesOf(id: string): MemberAttributes {
    const stored = readMember(this.storage.backend, id);
    const initial = this.initialPeerUrls.get(id);
    if (stored !== undefined) return stored.peerUrls.length > 0 || initial === undefined ? stored : { ...stored, peerUrls: initial };
    return { name: '', peerUrls: initial ?? [], clientUrls: [] };
  }

  peerConnected(id: string): boolean {
    return this.transport.stats().get(nodeId(id))?.connected ?? false;
  }

  storageStats(): ReturnType<NodeStorage['stats']> {
    return this.storage.stats();
  }

  /** Resolves when the applied configuration satisfies `until`, or rejects with ErrTimeout. */
  waitForConfig(until: (config: ClusterConfig) => boolean, timeoutMs = serverLimits.requestTimeoutMs): Promise<void> {
    if (until(this.appliedConfig)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.configWaiters = this.configWaiters.filter((w) => w !== waiter);
        reject(new ConclaveError('ErrTimeout', 'the membership change was not applied in time'));
      }, timeoutMs);
      const waiter: ConfigWaiter = { until, resolve: () => (clearTimeout(timer), resolve()) };
      this.configWaiters.push(waiter);
    });
  }

  // ---- The loop's inputs ----

  private receive(message: Parameters<RaftNode['step']>[0]): void {
    if (this.loopStopped) return;
    this.node.step(message);
    this.loop.kick();
  }

  private tick(): void {
    this.node.tick();
    this.loop.kick();
    this.proposals.expire();
    this.reads.tick();
    if (!this.published && !this.publishing && this.node.leaderId !== '') void this.publishAttributes();
    this.ticksWithoutLeader = this.node.leaderId === '' ? this.ticksWithoutLeader + 1 : 0;
    if (this.ticksWithoutLeader > 0 && this.ticksWithoutLeader % (2 * this.electionTimeoutTicks) === 0) void this.checkRemoved();
  }

  /**
   * A removed member may never learn that its removal committed: the leader stops replicating to it once it applies
   * the change. So a member that hears from no leader asks its peers whether the cluster still counts it in; a peer
   * answers from its applied (so committed) membership.
   */
  private async checkRemoved(): Promise<void> {
    if (this.checkingRemoval || !this.wasMember) return;
    this.checkingRemoval = true;
    try {
      for (const id of this.appliedConfig.voters) {
        if (id === this.id) continue;
        for (const url of this.attributesOf(id).peerUrls) {
          const answer = await fetch(new URL(DISCOVERY_PATH, url), { signal: AbortSignal.timeout(1000) })
            .then((r) => (r.ok ? (r.json() as Promise<DiscoveryAnswer>) : null))
            .catch(() => null);
          const verdict = removalVerdict(answer, { clusterId: this.clusterId, id: this.id, appliedIndex: this.appliedIndex });
          if (verdict === 'unknown') continue;
          if (verdict === 'member') return;
          this.log.warn('the cluster no longer counts this member in: it was removed; stopping', { askedPeer: id, peerAppliedIndex: answer?.appliedIndex, appliedIndex: this.appliedIndex });
          void this.close({ transferLeadership: false }).then(() => this.options.onStopped?.({ error: null, removed: true }));
          return;
        }
      }
    } finally {
      this.checkingRemoval = false;
    }
  }

  private onApplied(entry: Entry, applied: Applied | null): void {
    // Before the proposer hears of its result: a client that watches from the revision it was told sees it.
    this.watches.notify(this.kv.revision);
    if (applied !== null) {
      if (applied.command.kind === 'kv' && applied.result !== null && applied.command.command.type.startsWith('lease')) this.lessor.applied(applied.command.command, applied.result);
      if (applied.command.kind === 'kv' && applied.result?.ok === true) this.healthChecks.applied(applied.command.command, applied.result.revision);
      if (this.proposals.isOwn(applied.requestId)) this.proposals.settle(applied.requestId, applied.result);
      // Applied on the leader while its news is held: the follower that proposed it answers when it applies it.
      else this.loop.sendCommitNewsNow();
      if (applied.command.kind === 'member') this.membershipChanged();
    }
    if (entry.type === 'confChange') this.membershipChanged();
    this.reads.onApplied(entry.index);
  }

  private isInConfig(config: ClusterConfig): boolean {
    return config.voters.includes(this.id) || config.learners.includes(this.id);
  }

  /** The applied membership or a member's URLs changed: reconnect the transport, wake waiters, leave if removed. */
  private membershipChanged(): void {
    const config = this.appliedConfig;
    const peers = new Map<NodeId, readonly string[]>();
    for (const id of [...config.voters, ...config.learners]) {
      if (id === this.id) continue;
      const urls = this.attributesOf(id).peerUrls;
      if (urls.length > 0) peers.set(id, urls);
    }
    // Until the entry that added this member is applied, the membership applied so far is an older one (a joining
    // member replays the log from its start, whose memberships may name none of today's members): the peers the
    // cluster named when this member joined stay, or it would refuse the leader and never get the rest of the log.
    // A new cluster's members are in their initial membership, so this only ever holds for a joining member.
    if (!this.isInConfig(config)) for (const [id, urls] of this.initialPeerUrls) if (id !== this.id && !peers.has(nodeId(id))) peers.set(nodeId(id), urls);
    this.transport.setPeers(peers);
    const waiters = this.configWaiters;
    this.configWaiters = waiters.filter((w) => !w.until(config));
    for (const waiter of waiters) if (!this.configWaiters.includes(waiter)) waiter.resolve();
    const isMember = this.isInConfig(config);
    if (this.wasMember && !isMember) {
      this.log.warn('this member was removed from the cluster; stopping');
      void this.close({ transferLeadership: false }).then(() => this.options.onStopped?.({ error: null, removed: true }));
    }
    this.wasMember ||= isMember;
  }

  /** Publishes this member's name and URLs through the log, as etcd does once a member has started. */
  private async publishAttributes(): Promise<void> {
    const { config } = this;
    const current = readMember(this.storage.backend, this.id);
    const peerUrls = config.initialAdvertisePeerUrls;
    const same = (a: readonly string[] | undefined, b: readonly string[]) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
    if (current !== undefined && current.name === config.name && same(current.clientUrls, config.advertiseClientUrls) && same(current.peerUrls, peerUrls)) {
      this.published = true;
      return;
    }
    this.publishing = true;
    const command: MemberCommand = { type: 'memberUpsert', id: this.id, name: config.name, peerUrls, clientUrls: config.advertiseClientUrls };
    try {
      await this.propose({ kind: 'member', command });
      this.published = true;
      this.log.info('published member attributes', { name: config.name, clientUrls: config.advertiseClientUrls });
    } catch (error) {
      this.log.debug('publishing member attributes failed; retrying', { error });
    } finally {
      this.publishing = false;
    }
  }

  // ---- Peer HTTP (discovery by joining members) ----

  private servePeerHttp(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'GET' || request.url !== DISCOVERY_PATH) return false;
    const config = this.appliedConfig;
    const answer: DiscoveryAnswer = {
      clusterId: this.clusterId,
      members: [...config.voters, ...config.learners].map((id) => ({ id, peerUrls: this.attributesOf(id).peerUrls })),
      appliedIndex: this.appliedIndex,
    };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer));
    return true;
  }

  // ---- Stopping ----

  /**
   * Stops the member. A leader first hands leadership to the most caught-up voter, so the cluster does not wait an
   * election timeout to notice it left. Pending proposals fail as outcome unknown (ErrTimeout: their entries may be
   * in a quorum's logs already and commit without this member); other waiting requests, which changed nothing,
   * with ErrStopped.
   */
  close(options: { transferLeadership?: boolean } = {}): Promise<void> {
    if (this.closed !== null) return this.closed;
    this.stopping = true;
    this.closed = (async () => {
      if (options.transferLeadership !== false) await this.transferLeadershipAway();
      clearInterval(this.ticker);
      clearInterval(this.progressTicker);
      clearInterval(this.leaseTicker);
      const stopped = new ConclaveError('ErrStopped');
      this.lessor.close(stopped);
      this.healthChecks.close();
      this.keepAliveRelay.close();
      this.proposals.failAll(new ConclaveError('ErrTimeout', 'the member stopped before the entry was applied: it may or may not be applied'));
      this.reads.failAll(stopped);
      this.wakeLeaderWaiters(stopped);
      this.loopStopped = true;
      await this.loop.stop();
      await this.transport.close();
      await this.storage.close();
      this.log.info('member stopped');
    })();
    return this.closed;
  }

  private async transferLeadershipAway(): Promise<void> {
    if (!this.node.isLeader) return;
    const status = this.node.status();
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const voter of status.config.voters) {
      const match = status.progress.get(voter)?.match ?? -1;
      if (voter !== this.id && match > bestMatch && this.peerConnected(voter)) [best, bestMatch] = [voter, match];
    }
    if (best === null) return;
    this.log.info('transferring leadership before stopping', { to: best });
    this.node.transferLeadership(best);
    this.loop.kick();
    const deadline = performance.now() + this.config.electionTimeoutMs * 2;
    while (this.node.isLeader && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, this.config.heartbeatIntervalMs / 2));
  }

  private fatal(error: Error): void {
    this.log.error('member stopped on an unrecoverable error', { error });
    void this.close({ transferLeadership: false }).finally(() => this.options.onStopped?.({ error, removed: false }));
  }
}
