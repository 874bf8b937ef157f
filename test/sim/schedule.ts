// Fault schedules: a fast-check arbitrary (so failures shrink), a seed -> schedule mapping (for the soak
// CLI and one-line replays), and the runner that executes a schedule against a simulated cluster.

import fc from 'fast-check';
import type { RaftLimits } from '../../src/limits.js';
import { SimViolation } from './checker.js';
import { Cluster, TICK } from './cluster.js';
import type { NodeFactory } from './host.js';
import type { RunStats, Schedule, SimEvent } from './model.js';

export type { Schedule, SimEvent } from './model.js';

type Kind = SimEvent['kind'];

export interface ScheduleShape {
  /** Fix the cluster size (default: 3 or 5). */
  readonly nodes?: 3 | 5;
  readonly minDuration?: number;
  readonly maxDuration?: number;
  readonly maxEvents?: number;
  /** Relative weight of each event kind (0 disables it). */
  readonly weights?: Partial<Record<Kind, number>>;
  /** Fixed values for schedule parameters (applied after generation). */
  readonly overrides?: Partial<Omit<Schedule, 'events' | 'seed'>>;
}

const defaultWeights: Record<Kind, number> = {
  partition: 3,
  isolate: 2,
  isolateLeader: 2,
  cutLink: 1,
  heal: 3,
  crash: 3,
  crashLeader: 2,
  restart: 3,
  net: 2,
  slowDisk: 2,
  transfer: 2,
  confChange: 3,
  proposals: 3,
  reads: 3,
  leaderProposals: 1,
  isolateNextLeader: 1,
  isolateLeaderOnFirstCommit: 1,
  rebootNextVoter: 1,
};

const nodeRef = fc.integer({ min: 0, max: 5 });

function eventArb(duration: number, weights: Record<Kind, number>): fc.Arbitrary<SimEvent> {
  const at = fc.integer({ min: 0, max: duration - 1 });
  const byKind: Record<Kind, fc.Arbitrary<SimEvent>> = {
    partition: fc.record({
      at,
      kind: fc.constant('partition' as const),
      groups: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 6, maxLength: 6 }),
    }),
    isolate: fc.record({ at, kind: fc.constant('isolate' as const), node: nodeRef, dir: fc.constantFrom('in' as const, 'out' as const, 'both' as const) }),
    isolateLeader: fc.record({ at, kind: fc.constant('isolateLeader' as const), peers: fc.integer({ min: 0, max: 2 }) }),
    cutLink: fc.record({ at, kind: fc.constant('cutLink' as const), from: nodeRef, to: nodeRef }),
    heal: fc.record({ at, kind: fc.constant('heal' as const) }),
    crash: fc.record({ at, kind: fc.constant('crash' as const), node: nodeRef }),
    crashLeader: fc.record({ at, kind: fc.constant('crashLeader' as const) }),
    restart: fc.record({ at, kind: fc.constant('restart' as const), node: nodeRef }),
    net: fc.record({
      at,
      kind: fc.constant('net' as const),
      loss: fc.constantFrom(0, 0.01, 0.05, 0.15, 0.4),
      dup: fc.constantFrom(0, 0.02, 0.1, 0.3),
      reorder: fc.constantFrom(0, 0.05, 0.2, 0.5),
    }),
    slowDisk: fc.record({ at, kind: fc.constant('slowDisk' as const), node: nodeRef, slow: fc.boolean() }),
    transfer: fc.record({ at, kind: fc.constant('transfer' as const), target: nodeRef }),
    confChange: fc.record({
      at,
      kind: fc.constant('confChange' as const),
      op: fc.constantFrom('addLearner' as const, 'addVoter' as const, 'remove' as const),
      pick: fc.integer({ min: 0, max: 5 }),
    }),
    proposals: fc.record({ at, kind: fc.constant('proposals' as const), node: nodeRef, count: fc.integer({ min: 1, max: 20 }) }),
    reads: fc.record({ at, kind: fc.constant('reads' as const), node: nodeRef, count: fc.integer({ min: 1, max: 5 }) }),
    leaderProposals: fc.record({ at, kind: fc.constant('leaderProposals' as const), count: fc.integer({ min: 1, max: 5 }) }),
    isolateNextLeader: fc.record({ at, kind: fc.constant('isolateNextLeader' as const) }),
    isolateLeaderOnFirstCommit: fc.record({ at, kind: fc.constant('isolateLeaderOnFirstCommit' as const) }),
    rebootNextVoter: fc.record({ at, kind: fc.constant('rebootNextVoter' as const) }),
  };
  const options = (Object.keys(byKind) as Kind[])
    .filter((k) => weights[k] > 0)
    .map((k) => ({ arbitrary: byKind[k], weight: weights[k] }));
  return fc.oneof(...options);
}

export function scheduleArb(shape: ScheduleShape = {}): fc.Arbitrary<Schedule> {
  const weights = { ...defaultWeights, ...shape.weights };
  const minDuration = shape.minDuration ?? 120;
  const maxDuration = shape.maxDuration ?? 300;
  const overrides = shape.overrides;
  const arb = fc.integer({ min: minDuration, max: maxDuration }).chain((duration) =>
    fc.record({
      seed: fc.nat(),
      nodes: shape.nodes === undefined ? fc.constantFrom(3, 5) : fc.constant(shape.nodes),
      duration: fc.constant(duration),
      electionTimeoutTicks: fc.constantFrom(10, 10, 6, 15),
      heartbeatIntervalTicks: fc.constantFrom(1, 1, 2, 3),
      preVote: fc.constantFrom(true, true, true, false),
      checkQuorum: fc.constantFrom(true, true, true, false),
      snapshotChunkBytes: fc.constantFrom(64, 16, 32, 128, 4096),
      maxInflightAppends: fc.constantFrom(64, 1, 4),
      maxEntriesPerAppend: fc.constantFrom(512, 1, 3),
      snapshotEvery: fc.integer({ min: 3, max: 40 }),
      keepEntries: fc.integer({ min: 0, max: 5 }),
      proposalRate: fc.constantFrom(0.3, 0.1, 0.6, 1),
      readRate: fc.constantFrom(0.1, 0, 0.3),
      minVoters: fc.constantFrom(2, 1, 3),
      events: fc.array(eventArb(duration, weights), { maxLength: shape.maxEvents ?? 40, size: 'max' }),
    }),
  );
  return overrides === undefined ? arb : arb.map((s): Schedule => ({ ...s, ...overrides }));
}

/** Named schedule shapes, shared by the test suite and the soak CLI (`--profile`). */
export const profiles = {
  default: {},
  long: { minDuration: 300, maxDuration: 600, maxEvents: 80 },
  nemesis: {
    weights: { isolateNextLeader: 5, isolateLeaderOnFirstCommit: 4, rebootNextVoter: 4, crashLeader: 4, restart: 4, slowDisk: 4, heal: 5, leaderProposals: 3 },
    overrides: { maxEntriesPerAppend: 1 },
  },
} as const satisfies Record<string, ScheduleShape>;

export type ProfileName = keyof typeof profiles;

/** The schedule a seed stands for (what `--replay <seed>` runs). */
export function scheduleFromSeed(seed: number, shape: ScheduleShape = {}): Schedule {
  const [schedule] = fc.sample(scheduleArb(shape), { seed, numRuns: 1, unbiased: true });
  return schedule as Schedule;
}

export interface RunOptions {
  readonly factory?: NodeFactory;
  readonly strict?: boolean;
  readonly trace?: (line: string) => void;
  /** Ticks allowed after healing for a fresh proposal to commit everywhere (default 30 election timeouts). */
  readonly livenessTicks?: number;
  /** Skip the liveness phase (mutants that break liveness on purpose). */
  readonly skipLiveness?: boolean;
  /** Violation kinds to count instead of failing on (only some checks honour it; see Checker.report). */
  readonly ignore?: readonly string[];
}

export interface RunResult {
  readonly violation: SimViolation | null;
  readonly stats: RunStats;
  readonly ignored: ReadonlyMap<string, number>;
}

export function runSchedule(schedule: Schedule, options: RunOptions = {}): RunResult {
  const cluster = new Cluster({
    seed: schedule.seed,
    voters: schedule.nodes,
    spares: 1,
    electionTimeoutTicks: schedule.electionTimeoutTicks,
    heartbeatIntervalTicks: schedule.heartbeatIntervalTicks,
    preVote: schedule.preVote,
    checkQuorum: schedule.checkQuorum,
    limits: {
      snapshotChunkBytes: schedule.snapshotChunkBytes,
      maxInflightAppends: schedule.maxInflightAppends,
      maxEntriesPerAppend: schedule.maxEntriesPerAppend,
      maxInflightSnapshotChunks: 4,
      // RaftLimits is `typeof raftLimits` (declared `as const`), so literal-valued limits only accept
      // their defaults at the type level; the values are numbers all the same.
    } as Partial<Record<keyof RaftLimits, number>> as Partial<RaftLimits>,
    snapshotEvery: schedule.snapshotEvery,
    keepEntries: schedule.keepEntries,
    proposalRate: schedule.proposalRate,
    readRate: schedule.readRate,
    minVoters: schedule.minVoters,
    ...(options.factory === undefined ? {} : { factory: options.factory }),
    ...(options.strict === undefined ? {} : { strict: options.strict }),
    ...(options.trace === undefined ? {} : { trace: options.trace }),
    ...(options.ignore === undefined ? {} : { ignore: options.ignore }),
  });
  try {
    cluster.start();
    cluster.addFaults(schedule.events.filter((e) => e.at < schedule.duration));
    cluster.runUntil(schedule.duration * TICK);
    if (!options.skipLiveness) {
      cluster.healAll();
      cluster.checkLiveness(options.livenessTicks ?? 30 * schedule.electionTimeoutTicks);
    }
    return { violation: null, stats: cluster.stats, ignored: cluster.checker.ignored };
  } catch (error) {
    if (error instanceof SimViolation) return { violation: error, stats: cluster.stats, ignored: cluster.checker.ignored };
    throw error;
  }
}

/** Re-runs a (deterministic) schedule with tracing on and returns the last `lines` trace lines. */
export function traceTail(schedule: Schedule, options: RunOptions = {}, lines = 60): string[] {
  const ring: string[] = [];
  runSchedule(schedule, {
    ...options,
    trace: (line) => {
      ring.push(line);
      if (ring.length > lines) ring.shift();
    },
  });
  return ring;
}

export function replayCommand(seed: number, nodes: number | undefined, profile: ProfileName = 'default'): string {
  return `npm run sim -- --replay ${seed}${nodes === undefined ? '' : ` --nodes ${nodes}`}${profile === 'default' ? '' : ` --profile ${profile}`}`;
}

export function summarizeSchedule(s: Schedule): string {
  const kinds = new Map<string, number>();
  for (const e of s.events) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
  const ev = [...kinds].map(([k, n]) => `${k}x${n}`).join(' ');
  return `nodes=${s.nodes} duration=${s.duration} ET=${s.electionTimeoutTicks} HB=${s.heartbeatIntervalTicks} preVote=${s.preVote} checkQuorum=${s.checkQuorum} chunk=${s.snapshotChunkBytes} snapEvery=${s.snapshotEvery} events: ${ev || 'none'}`;
}
