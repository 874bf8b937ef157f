import { describe, expect, it } from 'vitest';
import { checkRegisterLinearizable, overallVerdict, type CheckResult, type LinearizabilityOptions } from '../../jepsen-like/checkers/linearizable.js';
import { HistoryRecorder, pairOperations, type JsonScalar, type JsonValue, type Operation } from '../../jepsen-like/history.js';
import { generateRegisterHistory } from './register-histories.js';

/** A hand-built history: `h.invoke(p, f, value)` then `h.ok(p, value)` / `h.fail(p)` / `h.info(p)`, in real-time order. */
class Build {
  private readonly recorder = new HistoryRecorder(() => this.recorder.events.length * 1_000);
  private readonly pending = new Map<number, JsonValue>();

  invoke(process: number, f: 'read' | 'write' | 'cas', value: JsonValue = null, key: JsonScalar = 'x'): this {
    this.recorder.invoke(process, f, key, value);
    this.pending.set(process, value);
    return this;
  }

  ok(process: number, value: JsonValue = this.pending.get(process) ?? null): this {
    this.recorder.complete(process, 'ok', value);
    return this;
  }

  fail(process: number): this {
    this.recorder.complete(process, 'fail', this.pending.get(process) ?? null);
    return this;
  }

  info(process: number): this {
    this.recorder.complete(process, 'info', this.pending.get(process) ?? null);
    return this;
  }

  /** An operation invoked and completed ok before anything else happens. */
  op(process: number, f: 'read' | 'write' | 'cas', value: JsonValue, output: JsonValue = value): this {
    return f === 'read' ? this.invoke(process, f).ok(process, output) : this.invoke(process, f, value).ok(process);
  }

  operations(): Operation[] {
    const paired = pairOperations(this.recorder.events);
    if (!paired.ok) throw new Error(paired.error.message);
    return paired.value;
  }
}

function check(build: Build, options?: LinearizabilityOptions): Extract<CheckResult, { ok: true }> {
  const result = checkRegisterLinearizable(build.operations(), options);
  if (!result.ok) throw new Error(result.message);
  return result;
}

const verdict = (build: Build): string => check(build).verdict;

describe('the register linearizability checker', () => {
  it('finds an empty history, and a first read of null, valid; a read of null after a completed write invalid', () => {
    expect(verdict(new Build())).toBe('valid');
    expect(verdict(new Build().op(0, 'read', null))).toBe('valid');
    expect(verdict(new Build().op(0, 'write', 1).op(1, 'read', null, null))).toBe('invalid');
  });

  it('finds a stale read after a completed write invalid, and explains it', () => {
    const result = check(new Build().op(0, 'write', 1).op(0, 'write', 2).invoke(1, 'read').invoke(2, 'write', 3).ok(1, 1).ok(2));
    expect(result.verdict).toBe('invalid');
    const key = result.keys[0]!;
    expect(key.verdict).toBe('invalid');
    const explanation = key.explanation!;
    expect(explanation.failedOp).toMatchObject({ process: 1, f: 'read', outcome: 'ok', output: 1, invokeIndex: 4, completeIndex: 6 });
    // The deepest the search got: both writes before the read, and the concurrent one too.
    expect(explanation.prefix).toMatchObject({ count: 3, value: 3 });
    expect(explanation.prefix!.tail.map((op) => op.value)).toEqual([1, 2, 3]);
    expect(explanation.concurrent.map((op) => [op.f, op.value])).toEqual([['write', 3]]);
    expect(explanation.reason).toContain('read -> 1 by process 1 (ok, index 4..6)');
  });

  it('lets concurrent writes be read in either order, but only one order at a time', () => {
    const concurrent = () => new Build().invoke(0, 'write', 1).invoke(1, 'write', 2).ok(1).ok(0);
    expect(verdict(concurrent().op(2, 'read', null, 1))).toBe('valid');
    expect(verdict(concurrent().op(2, 'read', null, 2))).toBe('valid');
    expect(verdict(concurrent().op(2, 'read', null, 1).op(2, 'read', null, 2))).toBe('invalid');
    // A read concurrent with both may see the register before either.
    expect(verdict(new Build().invoke(0, 'write', 1).invoke(1, 'write', 2).invoke(2, 'read').ok(2, null).ok(1).ok(0))).toBe('valid');
  });

  it('lets a read see the value of a write whose outcome is unknown, once it was invoked', () => {
    expect(verdict(new Build().invoke(0, 'write', 1).info(0).op(1, 'read', null, 1))).toBe('valid');
    // Before the write was invoked, nothing could have written it.
    expect(verdict(new Build().op(1, 'read', null, 1).invoke(0, 'write', 1).info(0))).toBe('invalid');
    // An invocation the history ends before completing counts as info.
    expect(verdict(new Build().invoke(0, 'write', 1).op(1, 'read', null, 1))).toBe('valid');
  });

  it('lets an info write take effect long after it was invoked, or never, but at most once', () => {
    const late = () => new Build().invoke(0, 'write', 1).info(0).op(1, 'write', 2).op(1, 'read', null, 2);
    expect(verdict(late().op(1, 'read', null, 1))).toBe('valid');
    expect(verdict(late())).toBe('valid');
    expect(verdict(late().op(1, 'read', null, 1).op(1, 'read', null, 2))).toBe('invalid');
    expect(verdict(late().op(1, 'read', null, 1).op(1, 'write', 3).op(1, 'read', null, 1))).toBe('invalid');
  });

  it('chains info operations: an info cas may swap a value an info write left', () => {
    const chain = () => new Build().invoke(0, 'write', 1).info(0).invoke(1, 'cas', [1, 2]).info(1);
    expect(verdict(chain().op(2, 'read', null, 2))).toBe('valid');
    expect(verdict(chain().op(2, 'read', null, 2).op(2, 'read', null, 1))).toBe('invalid');
    // An info cas whose expected value nothing writes cannot swap.
    expect(verdict(new Build().invoke(1, 'cas', [7, 2]).info(1).op(2, 'read', null, 2))).toBe('invalid');
  });

  it('finds a cas that swapped against a value never written, or no longer there, invalid', () => {
    expect(verdict(new Build().op(0, 'cas', [5, 6]))).toBe('invalid');
    const impossible = check(new Build().op(0, 'write', 1).op(0, 'cas', [5, 6]));
    expect(impossible.keys[0]!.explanation).toMatchObject({ failedOp: { f: 'cas', value: [5, 6] }, prefix: null });
    expect(impossible.keys[0]!.explanation!.reason).toContain('its cas expected 5, which no write or cas produced');
    expect(verdict(new Build().op(0, 'write', 1).op(0, 'write', 2).op(1, 'cas', [1, 3]))).toBe('invalid');
    expect(verdict(new Build().op(0, 'write', 1).op(1, 'cas', [1, 3]).op(2, 'read', null, 3).op(0, 'cas', [null, 4]))).toBe('invalid');
    expect(verdict(new Build().op(0, 'cas', [null, 1]).op(1, 'cas', [1, 3]).op(2, 'read', null, 3))).toBe('valid');
  });

  it('drops failed operations: a failed write whose value is read is invalid, a failed cas constrains nothing', () => {
    expect(verdict(new Build().invoke(0, 'write', 1).fail(0).op(1, 'read', null, 1))).toBe('invalid');
    expect(verdict(new Build().invoke(0, 'write', 1).invoke(1, 'read').ok(1, 1).fail(0))).toBe('invalid');
    expect(verdict(new Build().op(0, 'write', 1).invoke(1, 'cas', [1, 2]).fail(1).op(2, 'read', null, 1))).toBe('valid');
    // An info read returned nothing to check.
    expect(verdict(new Build().op(0, 'write', 1).invoke(1, 'read').info(1))).toBe('valid');
  });

  it('needs the order real time gives: a write invoked after a read completed cannot explain it', () => {
    expect(verdict(new Build().op(1, 'read', null, 1).op(0, 'write', 1))).toBe('invalid');
    expect(verdict(new Build().invoke(1, 'read').invoke(0, 'write', 1).ok(1, 1).ok(0))).toBe('valid');
  });

  it('compares values as JSON scalars: 1 and "1" differ', () => {
    expect(verdict(new Build().op(0, 'write', 1).op(1, 'read', null, '1'))).toBe('invalid');
    expect(verdict(new Build().op(0, 'write', 'a').op(0, 'cas', ['a', true]).op(1, 'read', null, true))).toBe('valid');
  });

  it('checks each key on its own and combines the verdicts', () => {
    const result = check(new Build().invoke(0, 'write', 1, 'x').ok(0).invoke(0, 'write', 1, 'y').ok(0).invoke(1, 'read', null, 'x').ok(1, 1).invoke(1, 'read', null, 'y').ok(1, null));
    expect(result.keys.map((key) => [key.key, key.verdict])).toEqual([
      ['x', 'valid'],
      ['y', 'invalid'],
    ]);
    expect(result.verdict).toBe('invalid');
    expect(overallVerdict(['valid', 'unknown', 'valid'])).toBe('unknown');
    expect(overallVerdict(['unknown', 'invalid'])).toBe('invalid');
    expect(overallVerdict([])).toBe('valid');
  });

  it('answers unknown, naming the limit, when the search runs out of steps or time', () => {
    const events = generateRegisterHistory({ seed: 7, clients: 5, operations: 3_000, keys: 1 });
    const paired = pairOperations(events);
    if (!paired.ok) throw new Error(paired.error.message);
    const steps = checkRegisterLinearizable(paired.value, { maxStepsPerKey: 100 });
    expect(steps.ok && steps.verdict).toBe('unknown');
    expect(steps.ok && steps.keys[0]!.reason).toBe('the search took 100 steps without an answer (the limit maxStepsPerKey, --max-steps)');
    let calls = 0;
    const time = checkRegisterLinearizable(paired.value, { timeoutMsPerKey: 1_000, nowMs: () => (calls++ === 0 ? 0 : 5_000) });
    expect(time.ok && time.verdict).toBe('unknown');
    expect(time.ok && time.keys[0]!.reason).toBe('the search ran past its time without an answer (the limit timeoutMsPerKey, --timeout-ms), after 1024 steps');
    // With its budget the same history is valid.
    expect(checkRegisterLinearizable(paired.value)).toMatchObject({ ok: true, verdict: 'valid' });
  });

  it('refuses operations that are not the register workload', () => {
    const bad = (build: Build) => checkRegisterLinearizable(build.operations());
    expect(bad(new Build().invoke(0, 'incr' as never, 1).ok(0))).toEqual({
      ok: false,
      message: 'the operation invoked at index 0 (process 0) has f "incr"; the register workload\'s are read, write and cas',
    });
    expect(bad(new Build().invoke(0, 'cas', [1]).ok(0))).toMatchObject({ ok: false, message: expect.stringContaining('it must be [expected, new] with scalar values') });
    expect(bad(new Build().invoke(0, 'write', { a: 1 }).ok(0))).toMatchObject({ ok: false, message: expect.stringContaining('values are JSON scalars') });
    expect(bad(new Build().invoke(0, 'read').ok(0, [1]))).toMatchObject({ ok: false, message: expect.stringContaining('read [1]; values are JSON scalars') });
  });
});
