// The linearizability checker of the register workload: Wing & Gong's search with Lowe's improvements, a key at
// a time (P-compositionality: a history of independent registers is linearizable iff each key's is).
//
// The search walks a doubly linked list of the key's invocations and completions in real-time order. The
// operations that may come next in a linearization are those whose invocation precedes the first completion
// still in the list ("just-in-time linearization"); linearizing one lifts both its entries out of the list, and
// backtracking puts them back (dancing links). A configuration is the set of linearized operations (a bitset)
// with the register's value; each one reached is remembered, and one reached again is a branch already explored
// without success, so it is cut.
//
// Info operations may take effect at any time after their invocation, or never: they have no completion entry
// (their end is +infinity, so they never hold back anything after them), and they need not be linearized; the
// search succeeds once every ok operation is. Failed operations certainly did not happen: register-ops.ts drops
// them, with info reads and info writes whose value nothing could see.
//
// Two further cuts, both exact (docs/jepsen-like.md gives the arguments):
// - A read that may come next and returns the current value is taken at once, without trying alternatives: a
//   linearization that places it later stays one with the read moved forward, since a read changes nothing.
// - An info operation is only linearized just before a read or cas (which looks at the value it left): an info
//   operation followed by a write, or by nothing, can be left out of any linearization.

import type { JsonScalar, Operation, Outcome } from '../history.js';
import { DEFAULT_MAX_SEARCH_STEPS_PER_KEY, DEFAULT_MEMO_ENTRIES, DEFAULT_SEARCH_TIMEOUT_MS_PER_KEY } from '../limits.js';
import { OpSet } from './op-set.js';
import { registerKeys, type RegisterKey, type RegisterOp } from './register-ops.js';

export type Verdict = 'valid' | 'invalid' | 'unknown';

export interface LinearizabilityOptions {
  /** Search steps per key before "unknown"; default DEFAULT_MAX_SEARCH_STEPS_PER_KEY. */
  readonly maxStepsPerKey?: number;
  /** Configurations remembered at once (twice this at most); default DEFAULT_MEMO_ENTRIES. */
  readonly memoEntries?: number;
  /** Wall time per key before "unknown"; default DEFAULT_SEARCH_TIMEOUT_MS_PER_KEY. */
  readonly timeoutMsPerKey?: number;
  /** Milliseconds on a monotonic clock; defaults to performance.now. */
  readonly nowMs?: () => number;
}

/** An operation as an explanation shows it, with the history's indexes to find (and draw) it by. */
export interface OpSummary {
  readonly process: number;
  readonly f: string;
  readonly outcome: Outcome;
  readonly value: Operation['value'];
  readonly output: Operation['output'];
  readonly invokeIndex: number;
  readonly completeIndex: number | null;
}

/** Why a key is not linearizable. */
export interface Explanation {
  readonly reason: string;
  /** The operation that could not be linearized. */
  readonly failedOp: OpSummary;
  /** The longest linearizable prefix the search found, or null when failedOp fits in none. */
  readonly prefix: {
    readonly count: number;
    /** Its last operations, in linearization order. */
    readonly tail: readonly OpSummary[];
    /** The register's value after it. */
    readonly value: JsonScalar;
  } | null;
  /** The operations whose real-time interval meets failedOp's (an info operation's never ends). */
  readonly concurrent: readonly OpSummary[];
}

export interface KeyResult {
  readonly key: JsonScalar;
  readonly verdict: Verdict;
  /** Operations the search took (ok, and info that could matter). */
  readonly operations: number;
  /** Of which info. */
  readonly info: number;
  /** Operations left out (failed; info reads; info writes and cas nothing could observe). */
  readonly dropped: number;
  readonly steps: number;
  readonly elapsedMs: number;
  /** Why the search gave up, when unknown. */
  readonly reason?: string;
  /** When invalid. */
  readonly explanation?: Explanation;
}

export type CheckResult =
  | { readonly ok: true; readonly verdict: Verdict; readonly keys: readonly KeyResult[] }
  | { readonly ok: false; readonly message: string };

/** Checks a register history. ok: false when an operation is not a register operation (a bad f or value). */
export function checkRegisterLinearizable(operations: readonly Operation[], options: LinearizabilityOptions = {}): CheckResult {
  const grouped = registerKeys(operations);
  if (!grouped.ok) return grouped;
  const keys = grouped.keys.map((key) => checkKey(key, options));
  return { ok: true, verdict: overallVerdict(keys.map((key) => key.verdict)), keys };
}

/** Invalid if any key is, else unknown if any is, else valid. */
export function overallVerdict(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes('invalid')) return 'invalid';
  return verdicts.includes('unknown') ? 'unknown' : 'valid';
}

const PREFIX_TAIL = 10;

export function summarize(source: Operation): OpSummary {
  return {
    process: source.process,
    f: source.f,
    outcome: source.outcome,
    value: source.value,
    output: source.output,
    invokeIndex: source.invoke.index,
    completeIndex: source.complete?.index ?? null,
  };
}

/** One line for an operation: `read -> 1 by process 3 (ok, index 12..15)`, `cas [1,2] by process 4 (info, ...)`. */
export function describeOp(op: OpSummary): string {
  const result = op.f === 'read' && op.outcome === 'ok' ? ` -> ${JSON.stringify(op.output)}` : '';
  const span = op.completeIndex === null ? `invoked at index ${op.invokeIndex}, never completed` : `index ${op.invokeIndex}..${op.completeIndex}`;
  const argument = op.f === 'read' ? '' : ` ${JSON.stringify(op.value)}`;
  return `${op.f}${argument}${result} by process ${op.process} (${op.outcome}, ${span})`;
}

function checkKey(key: RegisterKey, options: LinearizabilityOptions): KeyResult {
  const nowMs = options.nowMs ?? (() => performance.now());
  const started = nowMs();
  const base = {
    key: key.key,
    operations: key.ops.length,
    info: key.ops.filter((op) => !op.required).length,
    dropped: key.dropped,
  };
  if (key.impossible !== null) {
    const { op, reason } = key.impossible;
    return {
      ...base,
      verdict: 'invalid',
      steps: 0,
      elapsedMs: nowMs() - started,
      explanation: { reason: `${describeOp(summarize(op.source))}: ${reason}`, failedOp: summarize(op.source), prefix: null, concurrent: [] },
    };
  }
  const outcome = new Search(key, {
    maxSteps: options.maxStepsPerKey ?? DEFAULT_MAX_SEARCH_STEPS_PER_KEY,
    memoEntries: options.memoEntries ?? DEFAULT_MEMO_ENTRIES,
    deadlineMs: started + (options.timeoutMsPerKey ?? DEFAULT_SEARCH_TIMEOUT_MS_PER_KEY),
    nowMs,
  }).run();
  return { ...base, ...outcome, elapsedMs: nowMs() - started };
}

interface Frame {
  /** The operation whose linearization reached this configuration; -1 at the root. */
  readonly op: number;
  /** The parent configuration's value and must-observe flag, to restore on backtracking. */
  readonly parentValue: number;
  readonly parentMustObserve: boolean;
  /** Operations to try from here, and the next one's position. */
  readonly candidates: readonly number[];
  cursor: number;
}

type SearchOutcome = { verdict: Verdict; steps: number; reason?: string; explanation?: Explanation };

/** Checks the time budget once per this many steps. */
const CLOCK_EVERY_STEPS = 1024;
const HEAD = 0;
const END = -1;

class Search {
  private readonly ops: readonly RegisterOp[];
  // The entry list: node 0 is the head, 2i+1 operation i's invocation, 2i+2 its completion (ok operations only).
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly required: OpSet;
  private readonly optional: OpSet;
  // The configurations reached, in two generations: `older` is dropped when `seen` fills.
  private seen = new Set<string>();
  private older = new Set<string>();
  private readonly frames: Frame[] = [];
  private value = 0;
  private mustObserve = false;
  private remaining: number;
  private steps = 0;
  private bestRemaining = Infinity;
  private deepest: { failed: number; count: number; tail: number[]; value: number } | undefined;

  constructor(
    private readonly key: RegisterKey,
    private readonly limits: { readonly maxSteps: number; readonly memoEntries: number; readonly deadlineMs: number; readonly nowMs: () => number },
  ) {
    this.ops = key.ops;
    const n = this.ops.length;
    this.next = new Int32Array(2 * n + 1).fill(END);
    this.prev = new Int32Array(2 * n + 1).fill(END);
    this.remaining = this.ops.filter((op) => op.required).length;
    // Apart, each dense: the ok operations linearized so far then fill whole words, and keys stay short.
    this.required = new OpSet(this.remaining);
    this.optional = new OpSet(n - this.remaining);
    const entries: [position: number, node: number][] = [];
    for (const op of this.ops) {
      entries.push([op.call, 2 * op.id + 1]);
      if (op.required) entries.push([op.ret, 2 * op.id + 2]);
    }
    entries.sort((x, y) => x[0] - y[0]);
    let last = HEAD;
    for (const [, node] of entries) {
      this.next[last] = node;
      this.prev[node] = last;
      last = node;
    }
  }

  run(): SearchOutcome {
    this.frames.push(this.frame(-1, 0, false));
    for (;;) {
      if (this.remaining === 0) return { verdict: 'valid', steps: this.steps };
      const frame = this.frames[this.frames.length - 1]!;
      if (frame.cursor === frame.candidates.length) {
        // Nothing more to try here: this configuration leads nowhere.
        if (this.remaining < this.bestRemaining) this.noteDeepest();
        if (this.frames.length === 1) return { verdict: 'invalid', steps: this.steps, explanation: this.explain() };
        this.frames.pop();
        this.undo(frame);
        continue;
      }
      const op = this.ops[frame.candidates[frame.cursor++]!]!;
      if (this.steps === this.limits.maxSteps) return this.giveUp(`the search took ${this.steps} steps without an answer (the limit maxStepsPerKey, --max-steps)`);
      if (++this.steps % CLOCK_EVERY_STEPS === 0 && this.limits.nowMs() > this.limits.deadlineMs) {
        return this.giveUp(`the search ran past its time without an answer (the limit timeoutMsPerKey, --timeout-ms), after ${this.steps} steps`);
      }
      const value = op.kind === 'read' ? this.value : op.kind === 'write' ? op.a : op.b;
      const set = op.required ? this.required : this.optional;
      set.add(op.slot);
      const configuration = String.fromCharCode(value & 0xffff, value >>> 16, op.required ? 0 : 1) + this.required.key() + this.optional.key();
      if (this.seen.has(configuration) || this.older.has(configuration)) {
        set.delete(op.slot);
        continue;
      }
      this.remember(configuration);
      this.lift(op.id);
      if (op.required) this.remaining--;
      const parentValue = this.value;
      const parentMustObserve = this.mustObserve;
      this.value = value;
      this.mustObserve = !op.required;
      this.frames.push(this.frame(op.id, parentValue, parentMustObserve));
    }
  }

  /**
   * Every configuration remembered was explored without success (those on the current path have fewer operations
   * linearized than any reached from it, so none is reached again), which is what makes cutting them exact; and
   * forgetting some only costs the time to explore them again.
   */
  private remember(configuration: string): void {
    if (this.seen.size >= this.limits.memoEntries) {
      this.older = this.seen;
      this.seen = new Set();
    }
    this.seen.add(configuration);
  }

  private undo(frame: Frame): void {
    const op = this.ops[frame.op]!;
    this.unlift(op.id);
    (op.required ? this.required : this.optional).delete(op.slot);
    if (op.required) this.remaining++;
    this.value = frame.parentValue;
    this.mustObserve = frame.parentMustObserve;
  }

  private giveUp(reason: string): SearchOutcome {
    return { verdict: 'unknown', steps: this.steps, reason };
  }

  /** The operations that may come next (invoked before the first completion still in the list), and that completion's operation. */
  private window(): { ops: number[]; blocking: number } {
    const ops: number[] = [];
    for (let node = this.next[HEAD]!; node !== END; node = this.next[node]!) {
      if (node % 2 === 0) return { ops, blocking: (node - 2) / 2 };
      ops.push((node - 1) / 2);
    }
    return { ops, blocking: -1 };
  }

  /** The configuration just reached, with what to try from it: a read of the current value alone if there is one. */
  private frame(op: number, parentValue: number, parentMustObserve: boolean): Frame {
    const first: number[] = [];
    const later: number[] = [];
    for (const id of this.window().ops) {
      const candidate = this.ops[id]!;
      if (candidate.kind === 'read') {
        if (candidate.a === this.value) return { op, parentValue, parentMustObserve, candidates: [id], cursor: 0 };
      } else if (candidate.kind === 'write' ? !this.mustObserve : candidate.a === this.value) {
        // ok operations first: an info one is the least likely to be needed here.
        (candidate.required ? first : later).push(id);
      }
    }
    return { op, parentValue, parentMustObserve, candidates: first.concat(later), cursor: 0 };
  }

  /** Remembers the configuration at the top of the stack, the deepest that failed so far, to explain a failure by. */
  private noteDeepest(): void {
    this.bestRemaining = this.remaining;
    this.deepest = {
      failed: this.window().blocking,
      count: this.frames.length - 1,
      // Only the tail: copying the whole stack at every new depth would make a long valid history quadratic.
      tail: this.frames.slice(Math.max(1, this.frames.length - PREFIX_TAIL)).map((frame) => frame.op),
      value: this.value,
    };
  }

  private explain(): Explanation {
    const { failed: id, count, tail, value } = this.deepest!;
    const failed = this.ops[id]!;
    // Around it: every operation whose interval meets its own (an info one's never ends).
    const concurrent = this.ops.filter((op) => op !== failed && op.call < failed.ret && op.ret > failed.call);
    const register = this.key.values[value]!;
    return {
      reason:
        `the longest linearizable prefix found holds ${count} operations and leaves the register at ${JSON.stringify(register)}; ` +
        `no way on from there linearizes ${describeOp(summarize(failed.source))}, which must take effect before it completed, ` +
        `with the ${concurrent.length} operations concurrent with it`,
      failedOp: summarize(failed.source),
      prefix: { count, tail: tail.map((op) => summarize(this.ops[op]!.source)), value: register },
      concurrent: concurrent.map((op) => summarize(op.source)),
    };
  }

  // Lifts an operation's entries out of the list; undone in the reverse order (the search backtracks last-in first-out).
  private lift(id: number): void {
    this.remove(2 * id + 1);
    if (this.ops[id]!.required) this.remove(2 * id + 2);
  }

  private unlift(id: number): void {
    if (this.ops[id]!.required) this.restore(2 * id + 2);
    this.restore(2 * id + 1);
  }

  private remove(node: number): void {
    const before = this.prev[node]!;
    const after = this.next[node]!;
    this.next[before] = after;
    if (after !== END) this.prev[after] = before;
  }

  private restore(node: number): void {
    const before = this.prev[node]!;
    const after = this.next[node]!;
    this.next[before] = node;
    if (after !== END) this.prev[after] = node;
  }
}
