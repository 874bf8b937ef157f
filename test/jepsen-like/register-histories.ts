// Histories of a simulated linearizable register, to test the checker on: clients invoke reads, writes and cas on
// a few keys; each operation takes effect on one shared register map at an instant between its invocation and its
// completion, so every history made here is linearizable. Some operations lose their outcome (info): they take
// effect at a random time, possibly after the client gave up, or never, and the client goes on as a new process.
// Some writes fail before they take effect; a cas that does not swap completes fail.

import { pairOperations, type HistoryEvent, type JsonScalar, type JsonValue, type Outcome } from '../../jepsen-like/history.js';
import { Rng } from '../sim/prng.js';

export interface RegisterHistoryOptions {
  /** Of the generator (test/sim/prng.ts), so a failing case replays from its seed. */
  readonly seed: number;
  /** Concurrent clients. */
  readonly clients: number;
  /** Operations to invoke, over all clients. */
  readonly operations: number;
  readonly keys: number;
  /** Fraction of operations whose outcome is lost (info). */
  readonly infoRate?: number;
  /** Fraction of writes that fail before taking effect. */
  readonly failRate?: number;
  /** Values drawn from 0..valueDomain-1 (so they repeat); by default every write and cas writes a new value. */
  readonly valueDomain?: number;
}

interface SimOp {
  process: number;
  f: 'read' | 'write' | 'cas';
  key: number;
  value: JsonValue;
  invokeAt: number;
  /** When it takes effect on the register; null for never. */
  effectAt: number | null;
  /** When its outcome is seen (the client's timeout, for info). */
  completeAt: number;
  lost: boolean;
  failed: boolean;
  output: JsonScalar;
  swapped: boolean;
}

/** Times are in microseconds of simulated time; the history's time field is in nanoseconds. */
export function generateRegisterHistory(options: RegisterHistoryOptions): HistoryEvent[] {
  const random = new Rng(options.seed).asFunction();
  const infoRate = options.infoRate ?? 0.05;
  const failRate = options.failRate ?? 0.05;
  let fresh = 0;
  const newValue = (): number => (options.valueDomain === undefined ? ++fresh : Math.floor(random() * options.valueDomain));
  // Latencies mostly around a millisecond with a long tail, so operations overlap unevenly.
  const latency = (): number => (random() < 0.05 ? 2_000 + random() * 20_000 : 100 + random() * 1_500);
  const writtenByKey: number[][] = Array.from({ length: options.keys }, () => []);

  const ops: SimOp[] = [];
  const clock = Array.from({ length: options.clients }, () => random() * 1_000);
  const processOf = Array.from({ length: options.clients }, (_, client) => client);
  for (let n = 0; n < options.operations; n++) {
    // The client that is free first goes next, so the clients stay concurrent.
    let client = 0;
    for (let c = 1; c < options.clients; c++) if (clock[c]! < clock[client]!) client = c;
    const key = Math.floor(random() * options.keys);
    const pick = random();
    const f = pick < 0.5 ? 'read' : pick < 0.8 ? 'write' : 'cas';
    let value: JsonValue = null;
    if (f === 'write') value = newValue();
    else if (f === 'cas') {
      const written = writtenByKey[key]!;
      // Mostly a recently written value, so that some cas swap.
      const expected = written.length > 0 && random() < 0.7 ? written[Math.max(0, written.length - 1 - Math.floor(random() * 3))]! : newValue();
      value = [expected, newValue()];
    }
    if (f === 'write') writtenByKey[key]!.push(value as number);
    if (f === 'cas') writtenByKey[key]!.push((value as number[])[1]!);
    const invokeAt = clock[client]! + 1 + random() * 200;
    const took = latency();
    const lost = random() < infoRate;
    const failed = !lost && f === 'write' && random() < failRate;
    let effectAt: number | null = invokeAt + random() * took;
    // A lost operation takes effect half the time, possibly long after the client gave up on it.
    if (lost) effectAt = random() < 0.5 ? invokeAt + random() * took * 4 : null;
    if (failed) effectAt = null;
    ops.push({ process: processOf[client]!, f, key, value, invokeAt, effectAt, completeAt: invokeAt + took, lost, failed, output: null, swapped: false });
    clock[client] = invokeAt + took;
    if (lost) processOf[client] = processOf[client]! + options.clients;
  }

  const registers = new Map<number, JsonScalar>();
  for (const op of ops.filter((o) => o.effectAt !== null).sort((x, y) => x.effectAt! - y.effectAt!)) {
    const current = registers.get(op.key) ?? null;
    if (op.f === 'read') op.output = current;
    else if (op.f === 'write') registers.set(op.key, op.value as number);
    else {
      const [expected, next] = op.value as [number, number];
      op.swapped = current === expected;
      if (op.swapped) registers.set(op.key, next);
    }
  }

  const timed: { at: number; event: Omit<HistoryEvent, 'index' | 'time'> }[] = [];
  for (const op of ops) {
    const base = { process: op.process, f: op.f, key: `k${op.key}` };
    timed.push({ at: op.invokeAt, event: { ...base, type: 'invoke', value: op.value } });
    // A cas that did not swap, like a write that failed, certainly did not take effect.
    const type: Outcome = op.lost ? 'info' : op.failed || (op.f === 'cas' && !op.swapped) ? 'fail' : 'ok';
    timed.push({ at: op.completeAt, event: { ...base, type, value: op.f === 'read' && type === 'ok' ? op.output : op.value } });
  }
  timed.sort((x, y) => x.at - y.at);
  return timed.map(({ at, event }, index) => ({ index, ...event, time: Math.round(at * 1_000) }));
}

/** The history with one ok read's value replaced by one no write or cas produces; null if it has no ok read. */
export function withUnwrittenRead(events: readonly HistoryEvent[], random: () => number): HistoryEvent[] | null {
  const reads = events.filter((event) => event.f === 'read' && event.type === 'ok');
  if (reads.length === 0) return null;
  const target = reads[Math.floor(random() * reads.length)]!;
  return events.map((event) => (event === target ? { ...event, value: 'never-written' } : event));
}

/**
 * The history with one ok read returning a stale value: that of an ok write w1 followed in real time by another ok
 * write w2 of the same key, itself completed before the read was invoked. With values that never repeat (no
 * valueDomain) nothing else writes w1's value, so the read cannot be linearized. Null if there is no such read.
 */
export function withStaleRead(events: readonly HistoryEvent[], random: () => number): HistoryEvent[] | null {
  const paired = pairOperations(events);
  if (!paired.ok) throw new Error(paired.error.message);
  const ok = paired.value.filter((op) => op.outcome === 'ok');
  const reads = ok.filter((op) => op.f === 'read');
  // Reads in a random order, the first with a stale value to take.
  for (let left = reads.length; left > 0; left--) {
    const pick = Math.floor(random() * left);
    const read = reads[pick]!;
    reads[pick] = reads[left - 1]!;
    const before = ok.filter((w) => w.f === 'write' && w.key === read.key && w.complete!.index < read.invoke.index);
    const lastInvoked = Math.max(...before.map((w) => w.invoke.index));
    const stale = before.filter((w1) => w1.complete!.index < lastInvoked);
    if (stale.length === 0) continue;
    const value = stale[Math.floor(random() * stale.length)]!.value;
    return events.map((event) => (event === read.complete ? { ...event, value } : event));
  }
  return null;
}
