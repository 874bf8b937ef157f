import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRegisterLinearizable, type Verdict } from '../../jepsen-like/checkers/linearizable.js';
import { pairOperations, type HistoryEvent, type JsonScalar, type Operation } from '../../jepsen-like/history.js';
import { Rng } from '../sim/prng.js';
import { generateRegisterHistory, withStaleRead, withUnwrittenRead, type RegisterHistoryOptions } from './register-histories.js';

function operationsOf(events: readonly HistoryEvent[]): Operation[] {
  const paired = pairOperations(events);
  if (!paired.ok) throw new Error(paired.error.message);
  return paired.value;
}

function verdictOf(events: readonly HistoryEvent[]): Verdict {
  const result = checkRegisterLinearizable(operationsOf(events));
  if (!result.ok) throw new Error(result.message);
  return result.verdict;
}

/**
 * The definition, searched by brute force with none of the checker's cuts: some order of every ok operation and
 * any of the info ones, each after every ok operation that completed before it was invoked, that a register
 * starting at null accepts. One key; small histories only.
 */
function bruteForceLinearizable(operations: readonly Operation[]): boolean {
  const ops = operations.filter((op) => op.outcome !== 'fail');
  const done = ops.map(() => false);
  const go = (value: JsonScalar, left: number): boolean => {
    if (left === 0) return true;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (done[i]) continue;
      const blocked = ops.some((other, j) => !done[j] && other.outcome === 'ok' && other.complete!.index < op.invoke.index);
      if (blocked) continue;
      let next: JsonScalar;
      if (op.f === 'write') next = op.value as JsonScalar;
      else if (op.f === 'cas') {
        const [expected, swapped] = op.value as [JsonScalar, JsonScalar];
        if (value !== expected) continue;
        next = swapped;
      } else {
        if (op.outcome === 'ok' && op.output !== value) continue;
        next = value;
      }
      done[i] = true;
      const found = go(next, left - (op.outcome === 'ok' ? 1 : 0));
      done[i] = false;
      if (found) return true;
    }
    return false;
  };
  return go(null, ops.filter((op) => op.outcome === 'ok').length);
}

const historyOptions: fc.Arbitrary<RegisterHistoryOptions> = fc.record({
  seed: fc.integer(),
  clients: fc.integer({ min: 1, max: 6 }),
  operations: fc.integer({ min: 1, max: 150 }),
  keys: fc.integer({ min: 1, max: 3 }),
  infoRate: fc.double({ min: 0, max: 0.4, noNaN: true }),
  failRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
  valueDomain: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
});

describe('the register linearizability checker on generated histories', () => {
  it('finds every history of a simulated linearizable register valid', () => {
    fc.assert(fc.property(historyOptions, (options) => verdictOf(generateRegisterHistory(options)) === 'valid'), { numRuns: 300 });
  });

  it('finds the same histories invalid with one read of a value nothing wrote', () => {
    fc.assert(
      fc.property(historyOptions, fc.integer(), (options, seed) => {
        const mutated = withUnwrittenRead(generateRegisterHistory(options), new Rng(seed).asFunction());
        return mutated === null || verdictOf(mutated) === 'invalid';
      }),
      { numRuns: 300 },
    );
  });

  it('finds them invalid with one read of a value overwritten before the read began (search, not the precheck)', () => {
    let mutatedCount = 0;
    fc.assert(
      fc.property(historyOptions, fc.integer(), (options, seed) => {
        const mutated = withStaleRead(generateRegisterHistory({ ...options, valueDomain: undefined }), new Rng(seed).asFunction());
        if (mutated !== null) mutatedCount++;
        return mutated === null || verdictOf(mutated) === 'invalid';
      }),
      { numRuns: 300 },
    );
    // The property is not vacuous: most generated histories have such a read.
    expect(mutatedCount).toBeGreaterThan(100);
  });

  it('agrees with a brute-force search on small histories, valid or not', () => {
    const counts = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.option(fc.integer({ min: 1, max: 3 }))), { maxLength: 3 }),
        (seed, clients, operations, infoRate, valueDomain, mutations) => {
          let events = generateRegisterHistory({ seed, clients, operations, keys: 1, infoRate, failRate: 0.2, valueDomain });
          // Change some reads' values, which makes some histories invalid and leaves others valid.
          const reads = events.filter((event) => event.f === 'read' && event.type === 'ok');
          for (const [which, value] of mutations) {
            if (reads.length === 0) break;
            const target = reads[which % reads.length]!;
            events = events.map((event) => (event.index === target.index ? { ...event, value: value ?? null } : event));
          }
          const expected = bruteForceLinearizable(operationsOf(events)) ? 'valid' : 'invalid';
          counts[expected]++;
          expect(verdictOf(events)).toBe(expected);
        },
      ),
      { numRuns: 1_500 },
    );
    expect(counts.valid).toBeGreaterThan(100);
    expect(counts.invalid).toBeGreaterThan(100);
  });

  it.each([
    { infoRate: 0.02, failRate: 0.02, valueDomain: undefined, what: 'fresh values, 2 % info' },
    // As Jepsen's register test: few values, so an info write can explain many reads, and more info.
    { infoRate: 0.1, failRate: 0.05, valueDomain: 5, what: 'values 0..4, 10 % info' },
  ])('checks a long history valid: 10 clients, 20,000 operations on 5 keys, $what', ({ infoRate, failRate, valueDomain }) => {
    const events = generateRegisterHistory({ seed: 20_000, clients: 10, operations: 20_000, keys: 5, infoRate, failRate, valueDomain });
    const operations = operationsOf(events);
    const started = performance.now();
    const result = checkRegisterLinearizable(operations);
    const elapsedMs = performance.now() - started;
    if (!result.ok) throw new Error(result.message);
    console.log(
      `linearizability of ${operations.length} operations on ${result.keys.length} keys: ${elapsedMs.toFixed(0)} ms ` +
        `(${result.keys.map((key) => `${String(key.key)}: ${key.operations} ops, ${key.info} info, ${key.steps} steps`).join('; ')})`,
    );
    expect(result.keys.map((key) => key.verdict)).toEqual(['valid', 'valid', 'valid', 'valid', 'valid']);
    expect(result.verdict).toBe('valid');
  });

  it('finds the one stale read in a long history, and names it', () => {
    const events = generateRegisterHistory({ seed: 4_242, clients: 10, operations: 20_000, keys: 5, infoRate: 0.05 });
    const mutated = withStaleRead(events, new Rng(1).asFunction())!;
    const changed = mutated.find((event, position) => event !== events[position])!;
    const result = checkRegisterLinearizable(operationsOf(mutated));
    if (!result.ok) throw new Error(result.message);
    expect(result.verdict).toBe('invalid');
    const invalid = result.keys.filter((key) => key.verdict === 'invalid');
    expect(invalid.map((key) => key.key)).toEqual([changed.key]);
    expect(invalid[0]!.explanation!.failedOp).toMatchObject({ f: 'read', output: changed.value, completeIndex: changed.index });
  });
});
