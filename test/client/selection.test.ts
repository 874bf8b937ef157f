// Client-side selection among a service's instances: the spread of each strategy, and consistent hashing's
// stability (the same keys map to the same instances whatever the order of discovery) and its movement bound
// (adding or removing one of n instances moves about 1/n of the keys, and only to or from that instance).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceInstance } from '../../src/protocol/registry.js';
import { ConsistentHash, LeastOutstanding, RoundRobin, WeightedRoundRobin } from '../../src/client/selection.js';

const instance = (id: string, weight = 1): ServiceInstance => ({
  service: 's',
  instance: id,
  address: '127.0.0.1',
  port: 1,
  tags: [],
  metadata: {},
  weight,
  health: 'passing',
  lease: 1,
  modRevision: 2,
});

const counts = (picks: (ServiceInstance | undefined)[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const pick of picks) if (pick !== undefined) out[pick.instance] = (out[pick.instance] ?? 0) + 1;
  return out;
};

const KEYS = Array.from({ length: 20_000 }, (_, i) => `key-${i}`);

describe('selection', () => {
  it('round robin takes each instance in turn; none without instances', () => {
    const selector = new RoundRobin();
    expect(selector.pick()).toBeUndefined();
    selector.update([instance('b'), instance('a'), instance('c')]);
    expect(Array.from({ length: 6 }, () => selector.pick()?.instance)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('weighted round robin picks in proportion to weight, smoothly, and never an instance of weight 0', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 6 }), (weights) => {
        const selector = new WeightedRoundRobin();
        selector.update(weights.map((weight, i) => instance(`i${i}`, weight)));
        const total = weights.reduce((a, b) => a + b, 0);
        const picks = Array.from({ length: total * 3 }, () => selector.pick());
        const expected: Record<string, number> = {};
        weights.forEach((weight, i) => {
          if (weight > 0) expected[`i${i}`] = weight * 3;
        });
        expect(counts(picks)).toEqual(expected);
      }),
    );
    // Smooth: weights 5,1,1 give a a b a c a a, not a a a a a b c.
    const selector = new WeightedRoundRobin();
    selector.update([instance('a', 5), instance('b', 1), instance('c', 1)]);
    expect(Array.from({ length: 7 }, () => selector.pick()?.instance).join('')).toBe('aabacaa');
  });

  it('least outstanding picks the least loaded instance and counts requests until done()', () => {
    const selector = new LeastOutstanding();
    selector.update([instance('a'), instance('b')]);
    const first = selector.pick() as ServiceInstance;
    const second = selector.pick() as ServiceInstance;
    expect(new Set([first.instance, second.instance])).toEqual(new Set(['a', 'b']));
    selector.done(first);
    expect(selector.pick()?.instance).toBe(first.instance);
    expect(selector.outstanding(first)).toBe(1);
    expect(selector.outstanding(second)).toBe(1);
  });

  it('consistent hashing maps keys the same whatever the order instances were found in, and spreads them', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `node-${i}`);
    const one = new ConsistentHash();
    const other = new ConsistentHash();
    one.update(ids.map((id) => instance(id)));
    other.update([...ids].reverse().map((id) => instance(id)));
    const mapped = counts(KEYS.map((key) => one.pick(key)));
    expect(KEYS.every((key) => one.pick(key)?.instance === other.pick(key)?.instance)).toBe(true);
    // 160 virtual nodes each: every instance within ±35% of its fair share.
    for (const id of ids) expect(Math.abs((mapped[id] ?? 0) - KEYS.length / ids.length)).toBeLessThan(0.35 * (KEYS.length / ids.length));
  });

  it('consistent hashing moves only the keys of the instance that came or went, about 1/n of them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.nat(), (n, pick) => {
        const ids = Array.from({ length: n }, (_, i) => `svc-${i}-${pick % 97}`);
        const before = new ConsistentHash();
        before.update(ids.map((id) => instance(id)));
        const added = `svc-new-${pick}`;
        const after = new ConsistentHash();
        after.update([...ids, added].map((id) => instance(id)));
        let moved = 0;
        for (const key of KEYS.slice(0, 5000)) {
          const was = before.pick(key)?.instance;
          const is = after.pick(key)?.instance;
          if (was === is) continue;
          moved++;
          // A key that moved, moved to the new instance: none shuffles between the old ones.
          expect(is).toBe(added);
        }
        // The expected share is 1/(n+1); the bound leaves room for the ring's unevenness.
        expect(moved / 5000).toBeLessThan(2 / (n + 1));
        // Removing it again puts every key back where it was.
        const removed = new ConsistentHash();
        removed.update(ids.map((id) => instance(id)));
        expect(KEYS.slice(0, 2000).every((key) => removed.pick(key)?.instance === before.pick(key)?.instance)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});
