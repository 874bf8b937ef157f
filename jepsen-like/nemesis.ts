// The nemesis: a seeded schedule of faults, one at a time, each written to nemesis.jsonl with its start and end on
// the history's clock. Between faults the cluster gets a quiet spell; the kinds take turns in a seeded order, so a
// run of a few rounds sees every kind it was given.
//
// Kinds and their shapes (the table KINDS below; link-shapes.ts draws the network's):
//   partition  isolate-one (a random member), isolate-leader, halves (a random minority against the majority),
//              bridge (two halves sharing one member), ring (each member reaches only its two neighbours); every
//              link between the sides is cut both ways through the front doors (proxy.ts)
//   one-way    mute-leader (the leader's outgoing links cut, its incoming kept), deaf-leader (the reverse),
//              mute-minority (a random minority hears everyone and is heard by no one)
//   delay      delay-leader (the leader's outgoing links), delay-one (a random member's links both ways),
//              delay-random (each ordered link at random): latency with jitter, in order (link-shaper.ts)
//   loss       loss-leader, loss-one, loss-random (the same links): whole WebSocket messages dropped at random
//   kill       kill -9 of a random member or of the leader, restarted on its data directory when the fault ends
//   pause      SIGSTOP of a random member or of the leader, SIGCONT when the fault ends
// Every network fault ends by healing every link.
//   clock, membership, fsync-stall   the table of process faults in faults/process-kinds.ts (each kind's shapes,
//              its begin and undo), one mechanism a file under faults/
//
// The seed fixes every choice the nemesis makes (kinds, shapes, members, links, durations, a link's delay or loss
// probability); which member leads when a fault aims at the leader is up to the cluster, so "the leader" is
// reproducible as a choice, not as a name. Which frames a lossy link drops, and each piece's jitter, are the
// doors' own draws.

import { Rng } from '../test/sim/prng.js';
import type { JepsenCluster } from './cluster.js';
import { PROCESS_FAULTS, type FaultDetails, type ProcessFaultKind } from './faults/process-kinds.js';
import { DEFAULT_LINK_DELAY_MS, DEFAULT_LINK_JITTER_MS, DEFAULT_LINK_LOSS_PROBABILITY } from './limits.js';
import type { LinkFault } from './link-shaper.js';
import { around, bridge, deafen, linksBetween, minorityOf, mute, outgoing, randomLinks, ring, type Link } from './link-shapes.js';

/** What a kind's shape did to the cluster, for the record, and how to undo it. */
interface Begun {
  readonly nodes: readonly string[];
  readonly groups?: readonly (readonly string[])[];
  readonly links?: readonly Link[];
  readonly linkFault?: LinkFault;
  /** What a process fault did (faults/process-kinds.ts). */
  readonly details?: FaultDetails;
  /** Ends the fault; a process fault's end resolves with what it found, added to its details. */
  readonly undo: () => void | Promise<FaultDetails>;
}

interface BeginContext {
  readonly shape: string;
  readonly cluster: JepsenCluster;
  /** Every member, in a seeded random order. */
  readonly names: readonly string[];
  /** The leader for a shape ending in -leader (names[0] when none answers), else names[0]. */
  readonly target: string;
  readonly rng: Rng;
}

interface KindSpec {
  readonly shapes: readonly string[];
  readonly begin: (context: BeginContext) => Promise<Begun> | Begun;
}

/** A process fault of faults/process-kinds.ts as a kind of the table: it aims at the chosen member. */
function processKind(kind: ProcessFaultKind): KindSpec {
  return {
    shapes: PROCESS_FAULTS[kind].shapes,
    begin: async ({ cluster, shape, target, rng }) => {
      const fault = await PROCESS_FAULTS[kind].begin(cluster, shape, target, rng);
      return { nodes: [target], details: fault.details, undo: fault.undo };
    },
  };
}

const KINDS = {
  partition: { shapes: ['isolate-one', 'isolate-leader', 'halves', 'bridge', 'ring'], begin: beginPartition },
  'one-way': { shapes: ['mute-leader', 'deaf-leader', 'mute-minority'], begin: beginPartition },
  delay: { shapes: ['delay-leader', 'delay-one', 'delay-random'], begin: beginLinkFault },
  loss: { shapes: ['loss-leader', 'loss-one', 'loss-random'], begin: beginLinkFault },
  kill: {
    shapes: ['kill-one', 'kill-leader'],
    begin: async ({ cluster, target }) => {
      await cluster.kill(target);
      return { nodes: [target], undo: () => cluster.restart(target) };
    },
  },
  pause: {
    shapes: ['pause-one', 'pause-leader'],
    begin: ({ cluster, target }) => {
      cluster.pause(target);
      return { nodes: [target], undo: () => cluster.resume(target) };
    },
  },
  clock: processKind('clock'),
  membership: processKind('membership'),
  'fsync-stall': processKind('fsync-stall'),
} satisfies Record<string, KindSpec>;

export type NemesisKind = keyof typeof KINDS;
export const NEMESIS_KINDS = Object.keys(KINDS) as NemesisKind[];

/** Which kind each shape belongs to (shape names are unique across kinds). */
const KIND_OF_SHAPE = new Map<string, NemesisKind>(NEMESIS_KINDS.flatMap((kind) => KINDS[kind].shapes.map((shape) => [shape, kind] as const)));
export const NEMESIS_SHAPES = [...KIND_OF_SHAPE.keys()];

function beginPartition({ shape, cluster, names, target, rng }: BeginContext): Begun {
  const everyone = cluster.names;
  const cut = (() => {
    switch (shape) {
      case 'bridge':
        return bridge(names);
      case 'ring':
        return ring(names);
      case 'mute-leader':
        return mute(everyone, [target]);
      case 'deaf-leader':
        return deafen(everyone, [target]);
      case 'mute-minority':
        return mute(everyone, minorityOf(names, rng));
      case 'isolate-one':
      case 'isolate-leader':
      case 'halves': {
        const minority = shape === 'halves' ? minorityOf(names, rng) : [target];
        const groups = [minority, everyone.filter((n) => !minority.includes(n))];
        return { groups, nodes: minority, links: linksBetween(groups) };
      }
      default:
        throw new Error(`no partition shape named ${shape}`);
    }
  })();
  for (const [from, to] of cut.links) cluster.network.cut(from, to);
  return { nodes: cut.nodes, groups: cut.groups, links: cut.links, undo: () => cluster.network.healAll() };
}

function beginLinkFault({ shape, cluster, names, target, rng }: BeginContext): Begun {
  const everyone = cluster.names;
  const lossy = shape.startsWith('loss-');
  const [delayLow, delayHigh] = DEFAULT_LINK_DELAY_MS;
  const [lossLow, lossHigh] = DEFAULT_LINK_LOSS_PROBABILITY;
  const linkFault: LinkFault = lossy
    ? { delayMs: 0, jitterMs: 0, lossProbability: Math.round((lossLow + rng.next() * (lossHigh - lossLow)) * 100) / 100 }
    : { delayMs: rng.int(delayLow, delayHigh), jitterMs: DEFAULT_LINK_JITTER_MS, lossProbability: 0 };
  const links = shape.endsWith('-random') ? randomLinks(everyone, rng) : shape.endsWith('-one') ? around(everyone, names[0]!) : outgoing(everyone, target);
  for (const [from, to] of links) cluster.network.setFault(from, to, linkFault);
  const nodes = shape.endsWith('-random') ? [] : shape.endsWith('-one') ? [names[0]!] : [target];
  return { nodes, links, linkFault, undo: () => cluster.network.healAll() };
}

/** The kinds and, per kind, the shapes allowed, from a --nemesis list of kinds (every shape) and shapes. */
export function nemesisSelection(names: readonly string[]): { kinds: NemesisKind[]; shapes: Partial<Record<NemesisKind, string[]>> } | { unknown: string[] } {
  const unknown = names.filter((name) => !(NEMESIS_KINDS as readonly string[]).includes(name) && !KIND_OF_SHAPE.has(name));
  if (unknown.length > 0) return { unknown };
  const kinds = new Set<NemesisKind>();
  const shapes: Partial<Record<NemesisKind, string[]>> = {};
  for (const name of names) {
    const kind = KIND_OF_SHAPE.get(name);
    if (kind === undefined) kinds.add(name as NemesisKind);
    else (shapes[kind] ??= []).push(name);
  }
  // A kind named whole takes all its shapes, whatever shapes of it are named too.
  for (const kind of kinds) delete shapes[kind];
  for (const kind of Object.keys(shapes) as NemesisKind[]) kinds.add(kind);
  return { kinds: [...kinds], shapes };
}

/** One line of nemesis.jsonl. */
export interface FaultRecord {
  readonly index: number;
  readonly kind: NemesisKind;
  readonly shape: string;
  /** The members killed, paused, cut off (for a partition, the smaller side), muted, deafened or slowed. */
  readonly nodes: readonly string[];
  /** For a partition, the sides (a bridge's member is in both; a ring is one group whose links are thinned). */
  readonly groups?: readonly (readonly string[])[];
  /** For a network fault, the ordered links [from, to] it cut, delayed or made lossy. */
  readonly links?: readonly Link[];
  /** For delay and loss, what the links got. */
  readonly linkFault?: LinkFault;
  /** What a process fault did and what its end found (faults/process-kinds.ts). */
  readonly details?: FaultDetails;
  /** Nanoseconds on the history's clock. */
  readonly start: number;
  readonly end: number;
}

export interface NemesisOptions {
  readonly kinds: readonly NemesisKind[];
  /** Per kind, the only shapes to draw from (every shape of a kind not listed). */
  readonly shapes?: Partial<Record<NemesisKind, readonly string[]>>;
  readonly seed: number;
  /** Bounds of a quiet spell between faults, and of a fault's length, in milliseconds. */
  readonly quietMs: readonly [number, number];
  readonly faultMs: readonly [number, number];
  /** The history's clock. */
  readonly nowNs: () => number;
  /** Each fault as it ends. */
  readonly onFault?: (record: FaultRecord) => void;
}

type Active = Omit<FaultRecord, 'index' | 'end'> & { readonly undo: () => void | Promise<FaultDetails> };

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
    if (active === null) return '-';
    return `${active.shape} ${active.nodes.length > 0 ? active.nodes.join(',') : `(${active.links?.length ?? 0} links)`}`;
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
    const shape = this.rng.pick(this.options.shapes?.[kind] ?? KINDS[kind].shapes);
    const names = this.shuffled(this.cluster.names);
    const leader = shape.endsWith('-leader') ? await this.cluster.leader() : null;
    const start = this.options.nowNs();
    const spec: KindSpec = KINDS[kind];
    const begun = await spec.begin({ shape, cluster: this.cluster, names, target: leader ?? names[0]!, rng: this.rng });
    this.active = { kind, shape, ...begun, start };
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
