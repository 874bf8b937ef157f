// Faults of a real ProcessCluster for the recipes' safety tests: the leader killed with -9 and restarted, and the
// leader or a follower isolated and healed through every member's /debug/peer-faults (members started with
// --unsafe-peer-fault-injection=true). A cut is written on all members' tables, so that it is symmetric whichever
// side a message would be dropped on. Each fault is logged with its time window, the leaders before and after it
// and the messages the cut dropped, for the tests to check that the fault really happened.

import { eventually, postJson, statusOf, waitForLeader } from './http-json.js';
import type { ProcessCluster, ProcessMember } from './process-cluster.js';

/** Flags that make a member serve /debug/peer-faults. */
export const FAULT_INJECTION_FLAGS = ['--unsafe-peer-fault-injection=true'] as const;

export type FaultKind = 'isolate-leader' | 'isolate-follower' | 'kill-leader';

export interface FaultStep {
  readonly kind: FaultKind;
  /** When the step starts, from the start of the run (or as soon as the previous step has ended, if later). */
  readonly atMs: number;
  /** How long the member stays cut off or down. */
  readonly forMs: number;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  /** The member isolated or killed. */
  readonly member: string;
  /** Wall times (Date.now()) of the cut or kill and of the heal or restart. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Leader's member name when the fault began, and the one the others elected during it (null: none seen). */
  readonly leaderBefore: string;
  readonly leaderDuring: string | null;
  /** Raft messages the isolated member's table dropped during the cut (0 for a kill). */
  readonly droppedMessages: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PeerFaultsState {
  readonly cut: string[];
  readonly dropped_messages: number;
}

export class ClusterFaults {
  /** The faults of the latest run. */
  readonly log: FaultRecord[] = [];

  private constructor(
    private readonly cluster: ProcessCluster,
    /** Each member's ID as /debug/peer-faults names it (16 hex digits), by member name. */
    private readonly ids: ReadonlyMap<string, string>,
  ) {}

  static async of(cluster: ProcessCluster): Promise<ClusterFaults> {
    const ids = new Map<string, string>();
    for (const member of cluster.members) {
      const vars = (await (await fetch(new URL('/debug/vars', member.clientUrl))).json()) as { member: string };
      ids.set(member.name, vars.member);
    }
    return new ClusterFaults(cluster, ids);
  }

  /** The member that leads now, as every member that answers agrees. */
  async leader(timeoutMs = 10_000): Promise<ProcessMember> {
    const url = await waitForLeader(this.cluster.endpoints, timeoutMs);
    return this.cluster.members.find((m) => m.clientUrl === url)!;
  }

  /** Runs the steps one after another, their times counted from `startedAtMs` (wall time), logging each (the log starts over). */
  async run(steps: readonly FaultStep[], startedAtMs = Date.now()): Promise<void> {
    this.log.length = 0;
    for (const step of steps) {
      await sleep(startedAtMs + step.atMs - Date.now());
      if (step.kind === 'kill-leader') await this.killLeader(step.forMs);
      else await this.isolate(step.kind, step.forMs);
    }
  }

  /** Wall-time windows of the faults of these kinds (all kinds when none given). */
  windows(...kinds: FaultKind[]): { fromMs: number; toMs: number }[] {
    return this.log.filter((r) => kinds.length === 0 || kinds.includes(r.kind)).map(({ fromMs, toMs }) => ({ fromMs, toMs }));
  }

  /** Whether wall time `atMs` falls in one of the windows of these kinds. */
  during(atMs: number, ...kinds: FaultKind[]): boolean {
    return this.windows(...kinds).some((w) => atMs >= w.fromMs && atMs <= w.toMs);
  }

  /**
   * What did not happen as it should have, empty when every fault did: the others elected a new leader while the
   * leader was cut off or down, and every cut dropped messages.
   */
  problems(): string[] {
    return this.log.flatMap((r) => [
      ...(r.kind !== 'isolate-follower' && (r.leaderDuring === null || r.leaderDuring === r.member) ? [`${r.kind} ${r.member}: no other leader elected`] : []),
      ...(r.kind !== 'kill-leader' && r.droppedMessages === 0 ? [`${r.kind} ${r.member}: the cut dropped no message`] : []),
    ]);
  }

  /** The log as one line, for failure messages: each fault's kind, member, window (from the first) and drops. */
  summary(): string {
    const origin = this.log[0]?.fromMs ?? 0;
    return this.log.map((r) => `${r.kind} ${r.member} ${r.fromMs - origin}..${r.toMs - origin} ms, leader ${r.leaderBefore} -> ${r.leaderDuring ?? 'none'}, ${r.droppedMessages} dropped`).join('; ');
  }

  private async killLeader(downMs: number): Promise<void> {
    const leader = await this.leader();
    const fromMs = Date.now();
    await this.cluster.kill(leader);
    const leaderDuring = await this.electedWithout(leader, downMs);
    await sleep(Math.max(0, fromMs + downMs - Date.now()));
    this.cluster.spawn(leader, 'existing');
    const toMs = Date.now();
    this.log.push({ kind: 'kill-leader', member: leader.name, fromMs, toMs, leaderBefore: leader.name, leaderDuring, droppedMessages: 0 });
    await this.settled();
  }

  private async isolate(kind: 'isolate-leader' | 'isolate-follower', forMs: number): Promise<void> {
    const leader = await this.leader();
    const isolated = kind === 'isolate-leader' ? leader : this.cluster.members.find((m) => m !== leader)!;
    const isolatedId = this.ids.get(isolated.name)!;
    const before = (await this.faultsOf(isolated)).dropped_messages;
    const fromMs = Date.now();
    await Promise.all(this.cluster.members.map((m) => this.cut(m, m === isolated ? [...this.ids.values()].filter((id) => id !== isolatedId) : [isolatedId])));
    const leaderDuring = kind === 'isolate-leader' ? await this.electedWithout(isolated, forMs) : leader.name;
    await sleep(Math.max(0, fromMs + forMs - Date.now()));
    const after = await this.faultsOf(isolated);
    await Promise.all(this.cluster.members.map((m) => this.cut(m, [])));
    const toMs = Date.now();
    this.log.push({ kind, member: isolated.name, fromMs, toMs, leaderBefore: leader.name, leaderDuring, droppedMessages: after.dropped_messages - before });
    await this.settled();
  }

  /** The name of a leader other than `gone` once the others elect one (null if none within a generous bound). */
  private async electedWithout(gone: ProcessMember, atLeastMs: number): Promise<string | null> {
    const others = this.cluster.members.filter((m) => m !== gone);
    const goneId = BigInt(`0x${this.ids.get(gone.name)!}`).toString();
    return eventually(
      `a leader other than ${gone.name}`,
      async () => {
        for (const member of others) {
          const status = await statusOf(member.clientUrl);
          if (status !== null && status.leader === status.memberId && status.leader !== goneId) return member.name;
        }
        return null;
      },
      Math.max(atLeastMs, 10_000),
    ).catch(() => null);
  }

  /** After a fault: one leader, and every member serving again (a restarted one answers before the next cut). */
  private async settled(): Promise<void> {
    await this.leader();
    for (const member of this.cluster.members) await eventually(`${member.name} serving`, async () => (await this.faultsOf(member)).cut.length === 0 || null, 15_000);
  }

  private async faultsOf(member: ProcessMember): Promise<PeerFaultsState> {
    const response = await fetch(new URL('/debug/peer-faults', member.clientUrl), { signal: AbortSignal.timeout(2000) });
    if (response.status !== 200) throw new Error(`${member.name}: /debug/peer-faults answered ${response.status} (started without ${FAULT_INJECTION_FLAGS[0]}?)`);
    return (await response.json()) as PeerFaultsState;
  }

  private async cut(member: ProcessMember, peers: readonly string[]): Promise<void> {
    const reply = await postJson(member.clientUrl, '/debug/peer-faults', { cut: peers }, 2000);
    if (reply.status !== 200) throw new Error(`${member.name}: cutting ${peers.join(',')} answered ${reply.status} ${JSON.stringify(reply.body)}`);
  }
}
