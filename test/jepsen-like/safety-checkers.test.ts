// The safety checkers of the lock/election, snowflake and set workloads, on hand-built histories: each anomaly
// they name is found, and the histories a correct system produces (with info and failed operations) pass.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFencedWrites } from '../../jepsen-like/checkers/fenced.js';
import { checkSet } from '../../jepsen-like/checkers/set.js';
import { checkUniqueIds } from '../../jepsen-like/checkers/unique-ids.js';
import { HistoryBuilder } from './build-history.js';

const kinds = (result: { anomalies: readonly { kind: string }[] }) => result.anomalies.map((a) => a.kind);

describe('fenced writes (locks and elections)', () => {
  it('passes hand-overs whose writes carry growing tokens, with refused stale writes and unknown outcomes', () => {
    const h = new HistoryBuilder()
      .op(1, 'acquire', 'L', null, 10)
      .op(1, 'fenced-write', 'L', 10, 11)
      .op(2, 'acquire', 'L', null, 14)
      // The old holder, paused, writes late: the storage refuses it.
      .invoke(1, 'fenced-write', 'L', 10)
      .fail(1)
      .op(2, 'fenced-write', 'L', 14, 15)
      .invoke(2, 'fenced-write', 'L', 14)
      .info(2)
      .op(3, 'campaign', 'E', null, 3)
      .op(3, 'fenced-write', 'E', 3, 16);
    const result = checkFencedWrites(h.operations());
    expect(result.verdict).toBe('valid');
    expect(result.counts).toMatchObject({ names: 2, acquisitions: 3, acceptedWrites: 3, refusedWrites: 1, unknownWrites: 1 });
  });

  it('finds a write accepted with a smaller token after a larger one, in the storage order and in real time', () => {
    const h = new HistoryBuilder()
      .op(1, 'acquire', 'L', null, 10)
      .op(2, 'acquire', 'L', null, 14)
      .op(2, 'fenced-write', 'L', 14, 15)
      .op(1, 'fenced-write', 'L', 10, 16);
    const result = checkFencedWrites(h.operations());
    expect(result.verdict).toBe('invalid');
    expect(kinds(result).sort()).toEqual(['stale-write-after', 'token-went-back']);
    const wentBack = result.anomalies.find((a) => a.kind === 'token-went-back');
    expect(wentBack?.ops.map((op) => op.value)).toEqual([14, 10]);
  });

  it('finds, by revisions alone, concurrent writes accepted out of token order', () => {
    const h = new HistoryBuilder().invoke(1, 'fenced-write', 'L', 14).invoke(2, 'fenced-write', 'L', 10).ok(1, 20).ok(2, 21);
    expect(kinds(checkFencedWrites(h.operations()))).toEqual(['token-went-back']);
  });

  it('finds a grant not larger than one acknowledged before it began', () => {
    const h = new HistoryBuilder().op(1, 'campaign', 'E', null, 7).op(2, 'campaign', 'E', null, 7);
    const result = checkFencedWrites(h.operations());
    expect(kinds(result)).toEqual(['grant-went-back']);
    // Concurrent grants constrain nothing between them; different names neither.
    const concurrent = new HistoryBuilder().invoke(1, 'acquire', 'L', null).invoke(2, 'acquire', 'L', null).ok(2, 9).ok(1, 8).op(3, 'acquire', 'M', null, 1);
    expect(checkFencedWrites(concurrent.operations()).verdict).toBe('valid');
  });

  it('confirms each acquisition against the grants read after healing: every token is a key the committed history created', () => {
    const h = new HistoryBuilder()
      .op(1, 'acquire', 'L', null, 10)
      .op(1, 'fenced-write', 'L', 10, 11)
      .op(1, 'release', 'L', 10)
      // A waiter that gave up (12) leaves a creation with no acquisition; an info acquire constrains nothing.
      .invoke(2, 'acquire', 'L', null)
      .info(2)
      .op(3, 'campaign', 'E', null, 14)
      .op(4, 'grants', 'L', null, [10, 12])
      .op(4, 'grants', 'E', null, [3, 14]);
    const result = checkFencedWrites(h.operations());
    expect(result.verdict).toBe('valid');
    expect(result.counts).toMatchObject({ acquisitions: 2, acquisitionsConfirmed: 2 });
  });

  it('finds an acquisition whose token the committed history lost (lost-acquisition), for locks and elections', () => {
    const h = new HistoryBuilder()
      .op(1, 'acquire', 'L', null, 10)
      // Granted from a waiter key that a leader acknowledged and the cluster then lost.
      .op(2, 'acquire', 'L', null, 14)
      .op(3, 'campaign', 'E', null, 7)
      .op(4, 'grants', 'L', null, [10, 16])
      .op(4, 'grants', 'E', null, []);
    const result = checkFencedWrites(h.operations());
    expect(result.verdict).toBe('invalid');
    expect(kinds(result)).toEqual(['lost-acquisition', 'lost-acquisition']);
    expect(result.anomalies[0]?.ops.map((op) => op.output)).toEqual([14, [10, 16]]);
    expect(result.anomalies[1]?.message).toMatch(/"E": campaign was granted token 7/);
    expect(result.counts).toMatchObject({ acquisitionsConfirmed: 1, 'anomalies:lost-acquisition': 2 });
  });

  it('checks only acquisitions acknowledged before the grants read began, against the last grants read', () => {
    // Acknowledged while the read ran: the read may have been served before the key was created.
    const concurrent = new HistoryBuilder().invoke(1, 'acquire', 'L', null).invoke(2, 'grants', 'L', null).ok(1, 20).ok(2, []);
    expect(checkFencedWrites(concurrent.operations())).toMatchObject({ verdict: 'valid', counts: { acquisitionsConfirmed: 0 } });
    const later = new HistoryBuilder().op(1, 'acquire', 'L', null, 20).op(2, 'grants', 'L', null, [20]).op(2, 'grants', 'L', null, [21]);
    expect(kinds(checkFencedWrites(later.operations()))).toEqual(['lost-acquisition']);
    const failedRead = new HistoryBuilder().op(1, 'acquire', 'L', null, 20).invoke(2, 'grants', 'L', null).fail(2);
    expect(checkFencedWrites(failedRead.operations())).toMatchObject({ verdict: 'valid', counts: { acquisitionsConfirmed: 0 } });
  });

  it('is unknown for a grants read that is not an array of revisions', () => {
    const result = checkFencedWrites(new HistoryBuilder().op(1, 'grants', 'L', null, [10, 'x']).operations());
    expect(result.verdict).toBe('unknown');
    expect(result.reason).toMatch(/grants of "L" \(index 0\) answered \[10,"x"\]/);
  });

  it('is unknown, naming the operation, for a token that is not an integer', () => {
    const result = checkFencedWrites(new HistoryBuilder().op(1, 'acquire', 'L', null, 'ten').operations());
    expect(result.verdict).toBe('unknown');
    expect(result.reason).toMatch(/acquire of "L" \(index 0\) answered "ten"/);
  });

  it('property: any interleaving of holders whose writes the storage orders by token checks valid; swapping two accepted tokens does not', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 3 }), { minLength: 2, maxLength: 30 }), (holders) => {
        // Holder i acquires token 10 * (turn + 1) and writes once; the storage accepts writes in turn order.
        const h = new HistoryBuilder();
        holders.forEach((process, turn) => h.op(process, 'acquire', 'L', null, 10 * (turn + 1)).op(process, 'fenced-write', 'L', 10 * (turn + 1), 1_000 + turn));
        expect(checkFencedWrites(h.operations()).verdict).toBe('valid');
        const swapped = new HistoryBuilder();
        holders.forEach((process, turn) => swapped.op(process, 'fenced-write', 'L', turn === 0 ? 20 : turn === 1 ? 10 : 10 * (turn + 1), 1_000 + turn));
        expect(kinds(checkFencedWrites(swapped.operations()))).toContain('token-went-back');
      }),
    );
  });
});

describe('unique IDs (snowflake)', () => {
  it('passes increasing IDs per generator, single or in batches, ignoring failed and unknown calls', () => {
    const h = new HistoryBuilder()
      .op(1, 'generate', 'w1', null, '18446744073709551000')
      .op(2, 'generate', 'w2', 3, ['5', '6', '7'])
      .invoke(3, 'generate', 'w3', null)
      .info(3)
      .invoke(2, 'generate', 'w2', null)
      .fail(2)
      .op(1, 'generate', 'w1', null, '18446744073709551615');
    const result = checkUniqueIds(h.operations());
    expect(result.verdict).toBe('valid');
    expect(result.counts).toEqual({ issued: 5, unique: 5, processes: 2 });
  });

  it('finds an ID issued twice (compared as 64-bit integers, beyond a double) and a generator going back', () => {
    const twice = new HistoryBuilder().op(1, 'generate', 'w1', null, '9007199254740993').op(2, 'generate', 'w2', null, ['1', '9007199254740993']);
    expect(kinds(checkUniqueIds(twice.operations()))).toEqual(['duplicate-id']);
    const nearby = new HistoryBuilder().op(1, 'generate', 'w1', null, '9007199254740993').op(2, 'generate', 'w2', null, '9007199254740992');
    expect(checkUniqueIds(nearby.operations()).verdict).toBe('valid');
    const back = new HistoryBuilder().op(1, 'generate', 'w1', null, ['8', '9']).op(1, 'generate', 'w1', null, '9');
    expect(kinds(checkUniqueIds(back.operations())).sort()).toEqual(['duplicate-id', 'not-monotonic']);
  });

  it('is unknown for an ID that is not a decimal string', () => {
    expect(checkUniqueIds(new HistoryBuilder().op(1, 'generate', 'w', null, 12).operations()).reason).toMatch(/not decimal ID strings/);
  });
});

describe('sets: every acknowledged element in the final read', () => {
  it('passes when every ok add is read, info adds either way, and failed adds absent', () => {
    const h = new HistoryBuilder()
      .op(1, 'add', 's', 1)
      .invoke(2, 'add', 's', 2)
      .info(2)
      .invoke(3, 'add', 's', 3)
      .info(3)
      .invoke(4, 'add', 's', 4)
      .fail(4)
      .op(5, 'read', 's', null, [1, 3]);
    const result = checkSet(h.operations());
    expect(result.verdict).toBe('valid');
    expect(result.counts).toMatchObject({ acknowledged: 1, infoPresent: 1, infoAbsent: 1, failed: 1 });
  });

  it('finds a lost element, an unexpected one and a failed add that took effect', () => {
    const h = new HistoryBuilder().op(1, 'add', 's', 1).op(1, 'add', 's', 2).invoke(2, 'add', 's', 3).fail(2).op(3, 'read', 's', null, [2, 3, 'x']);
    expect(kinds(checkSet(h.operations())).sort()).toEqual(['failed-but-present', 'lost', 'unexpected']);
  });

  it('is unknown without a final read that began after the last add', () => {
    const none = checkSet(new HistoryBuilder().op(1, 'add', 's', 1).operations());
    expect(none.verdict).toBe('unknown');
    expect(none.reason).toMatch(/"s" has no ok read/);
    const early = new HistoryBuilder().invoke(1, 'add', 's', 1).op(2, 'read', 's', null, []).ok(1);
    expect(checkSet(early.operations()).reason).toMatch(/began before its last add completed/);
  });
});
