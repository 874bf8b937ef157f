// Majority arithmetic, checked exhaustively over small voter sets against definitions written independently
// of the implementation, and by properties over random ones.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { committedIndex, hasQuorum, quorumSize, voteOutcome } from '../../src/raft/quorum.js';
import { index, nodeId, type Index, type NodeId } from '../../src/raft/types.js';

const voters = (count: number): NodeId[] => Array.from({ length: count }, (_, i) => nodeId(`n${i + 1}`));

/** Every assignment of `values` to `count` positions. */
function* assignments<T>(values: readonly T[], count: number): Generator<T[]> {
  if (count === 0) {
    yield [];
    return;
  }
  for (const rest of assignments(values, count - 1)) for (const value of values) yield [...rest, value];
}

/** By definition: the largest i that more than half of the voters hold (0 when none). */
function largestHeldByMajority(matches: readonly number[]): number {
  let best = 0;
  for (const candidate of matches) {
    const holders = matches.filter((match) => match >= candidate).length;
    if (holders * 2 > matches.length && candidate > best) best = candidate;
  }
  return best;
}

function matchOf(ids: readonly NodeId[], matches: readonly number[]): (voter: NodeId) => Index {
  return (voter) => index(matches[ids.indexOf(voter)] ?? 0);
}

describe('quorumSize', () => {
  it('is the smallest count that is more than half', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4]);
    for (let n = 1; n <= 50; n++) {
      const q = quorumSize(n);
      expect(q * 2).toBeGreaterThan(n);
      expect((q - 1) * 2).toBeLessThanOrEqual(n);
    }
  });
});

describe('committedIndex', () => {
  it('is 0 for no voters', () => {
    expect(committedIndex([], () => index(9))).toBe(0);
  });

  it('matches the definition for every match assignment of up to 5 voters (indexes 0..4)', () => {
    let checked = 0;
    for (let count = 1; count <= 5; count++) {
      const ids = voters(count);
      for (const matches of assignments([0, 1, 2, 3, 4], count)) {
        expect(committedIndex(ids, matchOf(ids, matches)), `matches ${matches.join(',')}`).toBe(largestHeldByMajority(matches));
        checked++;
      }
    }
    expect(checked).toBe(5 + 25 + 125 + 625 + 3125);
  });

  it('known cases', () => {
    const ids = voters(5);
    expect(committedIndex(ids, matchOf(ids, [3, 2, 2, 0, 0]))).toBe(2);
    expect(committedIndex(ids, matchOf(ids, [9, 9, 1, 1, 1]))).toBe(1);
    expect(committedIndex(voters(4), matchOf(voters(4), [5, 5, 1, 1]))).toBe(1); // 2 of 4 is not a majority
  });

  it('property: the result is held by a majority, and nothing larger is', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 9 }), (matches) => {
        const ids = voters(matches.length);
        const result = committedIndex(ids, matchOf(ids, matches));
        const holding = (at: number) => matches.filter((match) => match >= at).length;
        expect(holding(result) * 2).toBeGreaterThan(matches.length);
        expect(holding(result + 1) * 2).toBeLessThanOrEqual(matches.length);
      }),
    );
  });

  it('property: raising one voter match never lowers the result, and the input order does not matter', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 9 }), fc.nat(), fc.nat({ max: 100 }), (matches, which, raise) => {
        const ids = voters(matches.length);
        const before = committedIndex(ids, matchOf(ids, matches));
        const raised = matches.map((match, i) => (i === which % matches.length ? match + raise : match));
        expect(committedIndex(ids, matchOf(ids, raised))).toBeGreaterThanOrEqual(before);
        const reversed = [...ids].reverse();
        expect(committedIndex(reversed, matchOf(ids, matches))).toBe(before);
      }),
    );
  });
});

describe('voteOutcome', () => {
  it('matches the definition for every vote assignment of up to 5 voters', () => {
    type Vote = 'granted' | 'rejected' | 'absent';
    for (let count = 1; count <= 5; count++) {
      const ids = voters(count);
      for (const assignment of assignments<Vote>(['granted', 'rejected', 'absent'], count)) {
        const votes = new Map<NodeId, boolean>();
        assignment.forEach((vote, i) => {
          if (vote !== 'absent') votes.set(ids[i] as NodeId, vote === 'granted');
        });
        const granted = assignment.filter((vote) => vote === 'granted').length;
        const undecided = assignment.filter((vote) => vote === 'absent').length;
        const expected = granted * 2 > count ? 'won' : (granted + undecided) * 2 <= count ? 'lost' : 'pending';
        expect(voteOutcome(ids, votes), assignment.join(',')).toBe(expected);
      }
    }
  });

  it('ignores votes from non-voters', () => {
    const ids = voters(3);
    const votes = new Map<NodeId, boolean>([
      [nodeId('n1'), true],
      [nodeId('n9'), true],
      [nodeId('n8'), true],
    ]);
    expect(voteOutcome(ids, votes)).toBe('pending');
    votes.set(nodeId('n2'), false);
    votes.set(nodeId('n3'), false);
    expect(voteOutcome(ids, votes)).toBe('lost');
  });
});

describe('hasQuorum', () => {
  it('matches the definition for every subset of up to 6 voters', () => {
    for (let count = 1; count <= 6; count++) {
      const ids = voters(count);
      for (const assignment of assignments([true, false], count)) {
        const acknowledged = new Set(ids.filter((_, i) => assignment[i]));
        const expected = acknowledged.size * 2 > count;
        expect(hasQuorum(ids, (voter) => acknowledged.has(voter))).toBe(expected);
      }
    }
  });
});
