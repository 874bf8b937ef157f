// The nemesis: a seeded schedule of faults, one at a time, each written to nemesis.jsonl with its start and end on
// the history's clock. Between faults the cluster gets a quiet spell; the kinds take turns in a seeded order, so a
// run of a few rounds sees every kind it was given.
//
// Kinds and their shapes:
//   partition  isolate-one (a random member), isolate-leader, halves (a random minority against the majority);
//              every link between the sides is cut both ways through the front doors (proxy.ts)
//   kill       kill -9 of a random member or of the leader, restarted on its data directory when the fault ends
//   pause      SIGSTOP of a random member or of the leader, SIGCONT when the fault ends
//
// The seed fixes every choice the nemesis makes (kinds, shapes, members, durations); which member leads when a
// fault aims at the leader is up to the cluster, so "the leader" is reproducible as a choice, not as a name.

import { Rng } from '../test/sim/prng.js';
import type { JepsenCluster } from './cluster.js';

export const NEMESIS_KINDS = ['partition', 'kill', 'pause'] as const;
export type NemesisKind = (typeof NEMESIS_KINDS)[number];

const SHAPES: Record<NemesisKind, readonly string[]> = {
  partition: ['isolate-one', 'isolate-leader', 'halves'],
  kill: ['kill-one', 'kill-leader'],
  pause: ['pause-one', 'pause-leader'],
};

/** One line of nemesis.jsonl. */
export interface FaultRecord {
  readonly index: number;
  readonly kind: NemesisKind;
  readonly shape: string;
  /** The members killed, paused or cut off (for a partition, the smaller side). */
  readonly nodes: readonly string[];
  /** For a partition, the sides. */
  readonly groups?: readonly (readonly string[])[];
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
  readonly start: number;
  readonly undo: () => void;
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
        this.end();
      }
    }
  }

  /** Ends the fault in effect, if any, and heals everything else too: links, paused and killed members. */
  healAll(): void {
    this.end();
    this.cluster.healAll();
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
    const shape = this.rng.pick(SHAPES[kind]);
    const names = this.shuffled(this.cluster.names);
    const onLeader = shape.endsWith('-leader');
    const leader = onLeader ? await this.cluster.leader() : null;
    const target = leader ?? names[0]!;
    const others = (side: readonly string[]) => this.cluster.names.filter((n) => !side.includes(n));
    const start = this.options.nowNs();
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

  private end(): void {
    const active = this.active;
    if (active === null) return;
    this.active = null;
    active.undo();
    const { undo: _undo, ...fields } = active;
    const record: FaultRecord = { index: this.records.length, ...fields, end: this.options.nowNs() };
    this.records.push(record);
    this.options.onFault?.(record);
  }
}
