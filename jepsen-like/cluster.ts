// The cluster a jepsen-like run drives: real `conclave` processes on loopback (test/support/process-cluster.ts), with
// their data under the run's directory and their logs in runs/NAME/logs/, each behind a front door of the
// harness's PeerNetwork (proxy.ts) so that links between members can be cut. Process faults: kill -9 and restart,
// SIGSTOP and SIGCONT, and a member removed and added back (faults/membership.ts drives the member API; here are
// its processes and front doors). A run that asks for the clock or fsync-stall faults starts every member with
// their mechanism (faults/clock-control.ts, faults/fsync-stall.ts), each one aimed by the member's own control file.
//
// The same cluster of etcd 3.4 members (`target: 'etcd'`), for a baseline against a system no one here wrote: the
// flags are etcd's names, so only the command changes. etcd members name themselves on their peer requests too
// (X-Server-From), so the front doors cut their links the same way; their IDs come from etcd's member list.

import { join } from 'node:path';
import { Client } from '../src/client/index.js';
import { decimalOf, memberIdOf } from '../src/server/ids.js';
import { statusOf } from '../test/support/http-json.js';
import { CLUSTER_TOKEN, ProcessCluster, type ProcessMember } from '../test/support/process-cluster.js';
import { ClockControl } from './faults/clock-control.js';
import { FsyncStall } from './faults/fsync-stall.js';
import { normalizeMemberId, PeerNetwork } from './proxy.js';

/** What the cluster runs: Conclave members, or etcd members for the baseline. */
export const TARGETS = ['conclave', 'etcd'] as const;
export type Target = (typeof TARGETS)[number];

export interface JepsenClusterOptions {
  readonly nodes: number;
  /** The run's directory: data/ and logs/ go under it. */
  readonly dir: string;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  /** Time for the first leader to be elected and every member to answer. */
  readonly readyTimeoutMs: number;
  readonly target: Target;
  /** The etcd binary, for target etcd. */
  readonly etcdBinary?: string;
  /** Start every member with the clock preload, or the fsync shim (compiled into dir/faults/). */
  readonly clock?: boolean;
  readonly fsyncStall?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class JepsenCluster {
  /** Members the harness has killed or paused and not yet brought back. */
  private readonly down = new Set<string>();
  private readonly paused = new Set<string>();
  /** Members removed from the cluster (and stopped) and not yet added back. */
  private readonly removed = new Set<string>();
  /** member name -> member ID (16 hex digits); a member added back has a new one. */
  private readonly ids = new Map<string, string>();

  private constructor(
    private readonly processes: ProcessCluster,
    readonly network: PeerNetwork,
    readonly target: Target,
    readonly clock: ClockControl | null,
    readonly fsyncStall: FsyncStall | null,
  ) {}

  /** Starts the members and waits until they have a leader and each answers as the member the network thinks it is. */
  static async start(options: JepsenClusterOptions): Promise<JepsenCluster> {
    const network = new PeerNetwork();
    const faultsDir = join(options.dir, 'faults');
    const clock = options.clock === true ? ClockControl.create(faultsDir) : null;
    const fsyncStall = options.fsyncStall === true ? FsyncStall.create(faultsDir) : null;
    const processes = await ProcessCluster.start({
      size: options.nodes,
      root: join(options.dir, 'data'),
      logDir: join(options.dir, 'logs'),
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      electionTimeoutMs: options.electionTimeoutMs,
      frontDoor: (name, peerPort) => network.add(name, peerPort),
      nodeFlags: clock?.nodeFlags ?? [],
      memberEnv: (name) => ({ ...clock?.env(name), ...fsyncStall?.env(name) }),
      // Conclave members call the leader's advertised client URL (lease renewals, membership changes): a door there
      // keeps those calls from crossing a cut. etcd members relay over their peer URLs only.
      ...(options.target === 'conclave' ? { clientFrontDoor: (name: string, clientPort: number) => network.addClientDoor(name, clientPort) } : { command: [options.etcdBinary ?? 'etcd', '--logger=zap'] }),
    });
    const cluster = new JepsenCluster(processes, network, options.target, clock, fsyncStall);
    try {
      if (options.target === 'conclave') {
        // A member's ID is what its connections name themselves by; it derives from the URL it advertises.
        for (const m of processes.members) cluster.setMemberId(m.name, memberIdOf([m.advertisedPeerUrl], CLUSTER_TOKEN));
        await cluster.ready(options.readyTimeoutMs, cluster.ids);
      } else {
        await cluster.ready(options.readyTimeoutMs, null);
        for (const [name, id] of await cluster.etcdMemberIds()) cluster.setMemberId(name, id);
      }
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  get names(): string[] {
    return this.processes.members.map((m) => m.name);
  }

  get endpoints(): string[] {
    return this.processes.endpoints;
  }

  /** Members that exited without the harness killing or removing them. */
  get exited(): string[] {
    return this.processes.members.filter((m) => m.process === null && !this.down.has(m.name) && !this.removed.has(m.name)).map((m) => m.name);
  }

  /** The member's client endpoint. */
  clientUrlOf(name: string): string {
    return this.member(name).clientUrl;
  }

  /** The member's ID now (16 hex digits). */
  idOf(name: string): string {
    const id = this.ids.get(name);
    if (id === undefined) throw new Error(`no ID known for member ${name}`);
    return id;
  }

  /** The members the cluster counts now: all but those removed. */
  get current(): string[] {
    return this.names.filter((name) => !this.removed.has(name));
  }

  /** Stops a member the cluster has removed (it may have stopped on its own already); its data is left for the record. */
  async retire(name: string): Promise<void> {
    this.removed.add(name);
    this.down.delete(name);
    this.paused.delete(name);
    await this.processes.kill(this.member(name), 'SIGKILL');
  }

  /** A new front door for a retired member, to be added back with: its URL. */
  async newDoor(name: string): Promise<string> {
    if (!this.removed.has(name)) throw new Error(`member ${name} has not been removed`);
    return this.network.renew(name, this.member(name).peerPort);
  }

  /** Starts a retired member again as the new member `id` the cluster added with `peerUrl`, on an empty data directory. */
  rejoin(name: string, peerUrl: string, id: string): void {
    this.setMemberId(name, id);
    const member = this.processes.rejoin(name, peerUrl);
    this.log(name, `added back as member ${id} (peer URL ${member.advertisedPeerUrl}), empty data directory`);
    this.removed.delete(name);
  }

  async kill(name: string): Promise<void> {
    this.down.add(name);
    this.paused.delete(name);
    await this.processes.kill(this.member(name), 'SIGKILL');
  }

  /** Starts a killed member again on its data directory. */
  restart(name: string): void {
    if (!this.down.delete(name)) return;
    this.processes.spawn(this.member(name), 'existing');
  }

  pause(name: string): void {
    if (this.processes.signal(this.member(name), 'SIGSTOP')) this.paused.add(name);
  }

  resume(name: string): void {
    if (this.paused.delete(name)) this.processes.signal(this.member(name), 'SIGCONT');
  }

  /** Heals every link, resumes every paused member and restarts every killed one. */
  healAll(): void {
    this.network.healAll();
    for (const name of [...this.paused]) this.resume(name);
    for (const name of [...this.down]) this.restart(name);
  }

  /** The member that says it leads, asking those that are up; null when none does. */
  async leader(): Promise<string | null> {
    for (const member of this.processes.members) {
      if (this.down.has(member.name) || this.paused.has(member.name) || this.removed.has(member.name)) continue;
      const status = await statusOf(member.clientUrl);
      if (status !== null && status.leader !== '0' && status.leader === status.memberId) return member.name;
    }
    return null;
  }

  /**
   * Waits until every member serves a linearizable read on its own endpoint (it has a leader and has caught up with
   * its commit index); returns the members that did not within `timeoutMs`. `names`: only those members.
   */
  async waitServing(timeoutMs: number, names: readonly string[] = this.names): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(names);
    const client = new Client({ endpoints: this.endpoints, requestTimeoutMs: 1000, dialTimeoutMs: 1000 });
    const key = new TextEncoder().encode('jepsen/health');
    try {
      while (pending.size > 0 && Date.now() < deadline) {
        for (const name of [...pending]) {
          const served = await client.call('range', { key }, { endpoint: this.member(name).clientUrl, timeoutMs: 1000 }).then(() => true, () => false);
          if (served) pending.delete(name);
        }
        if (pending.size > 0) await sleep(100);
      }
    } finally {
      client.close();
    }
    return [...pending];
  }

  /** The last lines each member wrote, for an error message. */
  logs(): string {
    return this.processes.logs();
  }

  async stop(): Promise<void> {
    for (const name of [...this.paused]) this.resume(name);
    await this.processes.stop();
    await this.network.close();
  }

  private setMemberId(name: string, id: string): void {
    this.ids.set(name, id);
    this.network.setMemberId(name, id);
  }

  /** A line in the member's log (the harness's own, marked as such), so that its log tells its story. */
  private log(name: string, line: string): void {
    this.processes.note(this.member(name), `[jepsen-like] ${line}`);
  }

  private member(name: string): ProcessMember {
    const member = this.processes.members.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no member named ${name}`);
    return member;
  }

  /** etcd's member IDs by name, from its member list (etcd derives them from the peer URLs in its own way). */
  private async etcdMemberIds(): Promise<Map<string, string>> {
    const client = new Client({ endpoints: this.endpoints, requestTimeoutMs: 2000, dialTimeoutMs: 1000 });
    try {
      const { response } = await client.memberList({ timeoutMs: 5000 });
      const ids = new Map<string, string>();
      for (const member of response.members) ids.set(member.name, normalizeMemberId(member.id));
      const missing = this.names.filter((name) => !ids.has(name));
      if (missing.length > 0) throw new Error(`etcd's member list does not name ${missing.join(', ')}`);
      return ids;
    } finally {
      client.close();
    }
  }

  /** `ids`: the member ID each must answer as (null: not known beforehand, as with etcd). */
  private async ready(timeoutMs: number, ids: ReadonlyMap<string, string> | null): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.names);
    while (Date.now() < deadline) {
      for (const name of [...pending]) {
        const member = this.member(name);
        if (member.process === null) throw new Error(`member ${name} exited while starting:\n${member.output.slice(-4000)}`);
        const status = await statusOf(member.clientUrl);
        if (status === null || status.leader === '0') continue;
        const expected = ids === null ? status.memberId : decimalOf(ids.get(name)!);
        if (status.memberId !== expected) throw new Error(`member ${name} is member ${status.memberId}, not ${expected} as derived from its advertised peer URL ${member.advertisedPeerUrl}`);
        pending.delete(name);
      }
      if (pending.size === 0) return;
      await sleep(50);
    }
    throw new Error(`the cluster was not ready within ${timeoutMs} ms (no leader known to ${[...pending].join(', ')})\n${this.logs()}`);
  }
}
