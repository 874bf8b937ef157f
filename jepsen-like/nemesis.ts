// The nemesis: a seeded schedule of faults, one at a time, each written to nemesis.jsonl with its start and end on
// the history's clock. Between faults the cluster gets a quiet spell; the kinds take turns in a seeded order, so a
// run of a few rounds sees every kind it was given.
//
// Kinds and their shapes:
//   partition  isolate-one (a random member), isolate-leader, halves (a random minority against the majority);
//              every link between the sides is cut both ways through the front doors (proxy.ts)
//   kill       kill -9 of a random member or of the leader, restarted on its data directory when the fault ends
//   pause      SIGSTOP of a random member or of the leader, SIGCONT when the fault ends
//   clock, membership, fsync-stall   the table of process faults in faults/process-kinds.ts (each kind's shapes,
//              its begin and undo), one mechanism a file under faults/
//
// The seed fixes every choice the nemesis makes (kinds, shapes, members, durations); which member leads when a
// fault aims at the leader is up to the cluster, so "the leader" is reproducible as a choice, not as a name.

import { Rng } from '../test/sim/prng.js';
import type { JepsenCluster } from './cluster.js';
import { PROCESS_FAULT_KINDS, PROCESS_FAULTS, type FaultDetails, type ProcessFaultKind } from './faults/process-kinds.js';

const CORE_KINDS = ['partition', 'kill', 'pause'] as const;
type CoreKind = (typeof CORE_KINDS)[number];
export const NEMESIS_KINDS = [...CORE_KINDS, ...PROCESS_FAULT_KINDS] as const;
export type NemesisKind = CoreKind | ProcessFaultKind;

const SHAPES: Record<CoreKind, readonly string[]> = {
  partition: ['isolate-one', 'isolate-leader', 'halves'],
  kill: ['kill-one', 'kill-leader'],
  pause: ['pause-one', 'pause-leader'],
};

const isProcessFault = (kind: NemesisKind): kind is ProcessFaultKind => Object.hasOwn(PROCESS_FAULTS, kind);
const shapesOf = (kind: NemesisKind): readonly string[] => (isProcessFault(kind) ? PROCESS_FAULTS[kind].shapes : SHAPES[kind]);

/** One line of nemesis.jsonl. */
export interface FaultRecord {
  readonly index: number;
  readonly kind: NemesisKind;
  readonly shape: string;
  /** The members killed, paused or cut off (for a partition, the smaller side). */
  readonly nodes: readonly string[];
  /** For a partition, the sides. */
  readonly groups?: readonly (readonly string[])[];
  /** What a process fault did and what its end found (faults/process-kinds.ts). */
  readonly details?: FaultDetails;
  /** Nanoseconds on the history's clock. */
  readonly start: number;
  readonly end: number;
}

export interface NemesisOptions {
  readonly kinds: readonly NemesisKind[];
  readonly seed: number;
  /** Bounds of a quiet spell between faults, and of a fault's length, in milliseconds. */
  readonly quietMs: readonly [number, number];
  readonly faultMs: readonly [number, number];
  /** The history's clock. */
  readonly nowNs: () => number;
  /** Each fault as it ends. */
  readonly onFault?: (record: FaultRecord) => void;
}

interface Active {
  readonly kind: NemesisKind;
  readonly shape: string;
  readonly nodes: readonly string[];
  readonly groups?: readonly (readonly string[])[];
  readonly details?: FaultDetails;
  readonly start: number;
  readonly undo: () => void | Promise<FaultDetails>;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

export class Nemesis {
  readonly records: FaultRecord[] = [];
  private readonly rng: Rng;
  private active: Active | null = null;

  constructor(
    private readonly cluster: JepsenCluster,
    private readonly options: NemesisOptions,
  ) {
    this.rng = new Rng(options.seed);
  }

  /** The fault in effect now, as the progress line shows it ("-" for none). */
  describeActive(): string {
    const active = this.active;
    return active === null ? '-' : `${active.shape} ${active.nodes.join(',')}`;
  }

  /** Injects faults until `signal` aborts; the fault in effect then is ended. Call healAll() afterwards. */
  async run(signal: AbortSignal): Promise<void> {
    const { kinds } = this.options;
    if (kinds.length === 0) return;
    while (!signal.aborted) {
      for (const kind of this.shuffled(kinds)) {
        await sleep(this.duration(this.options.quietMs), signal);
        if (signal.aborted) return;
        const faultMs = this.duration(this.options.faultMs);
        await this.begin(kind);
        await sleep(faultMs, signal);
        await this.end();
      }
    }
  }

  /**
   * Ends the fault in effect, if any, and heals everything else too: links, paused and killed members. Returns
   * what could not be healed (a member that could not be added back).
   */
  async healAll(): Promise<string[]> {
    const problems: string[] = [];
    await this.end().catch((error: unknown) => problems.push(`the fault in effect could not be ended: ${error instanceof Error ? error.message : String(error)}`));
    this.cluster.healAll();
    return problems;
  }

  private shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  private duration([low, high]: readonly [number, number]): number {
    return this.rng.int(low, high);
  }

  private async begin(kind: NemesisKind): Promise<void> {
    // No draw depends on what the cluster answers, so the seed alone fixes the sequence of draws.
    const shape = this.rng.pick(shapesOf(kind));
    const names = this.shuffled(this.cluster.names);
    const onLeader = shape.endsWith('-leader');
    const leader = onLeader ? await this.cluster.leader() : null;
    const target = leader ?? names[0]!;
    const others = (side: readonly string[]) => this.cluster.names.filter((n) => !side.includes(n));
    const start = this.options.nowNs();
    if (isProcessFault(kind)) {
      const fault = await PROCESS_FAULTS[kind].begin(this.cluster, shape, target, this.rng);
      this.active = { kind, shape, nodes: [target], details: fault.details, start, undo: fault.undo };
      return;
    }
    switch (kind) {
      case 'partition': {
        const minority = shape === 'halves' ? names.slice(0, this.rng.int(1, Math.floor((names.length - 1) / 2))) : [target];
        const groups = [minority, others(minority)];
        this.cluster.network.partition(groups);
        this.active = { kind, shape, nodes: minority, groups, start, undo: () => this.cluster.network.healAll() };
        return;
      }
      case 'kill':
        await this.cluster.kill(target);
        this.active = { kind, shape, nodes: [target], start, undo: () => this.cluster.restart(target) };
        return;
      case 'pause':
        this.cluster.pause(target);
        this.active = { kind, shape, nodes: [target], start, undo: () => this.cluster.resume(target) };
        return;
    }
  }

  private async end(): Promise<void> {
    const active = this.active;
    if (active === null) return;
    // Cleared only once undone, so that the progress line shows a fault that takes time to end (a member added
    // back), and healAll() tries again the end of one that failed.
    const found = await active.undo();
    this.active = null;
    const { undo: _undo, ...fields } = active;
    const details = found === undefined ? fields.details : { ...fields.details, ...found };
    const record: FaultRecord = { index: this.records.length, ...fields, ...(details === undefined ? {} : { details }), end: this.options.nowNs() };
    this.records.push(record);
    this.options.onFault?.(record);
  }
}
