// ReadIndexTracker: a read is released only once a majority of voters acknowledged a heartbeat round that
// started after the read arrived; reads that arrive between two rounds share the next one.

import { describe, expect, it } from 'vitest';
import { ReadIndexTracker } from '../../src/raft/readindex.js';
import { index, nodeId, type NodeId } from '../../src/raft/types.js';

const self = nodeId('n1');
const n2 = nodeId('n2');
const n3 = nodeId('n3');
const n4 = nodeId('n4');
const n5 = nodeId('n5');
const three: NodeId[] = [self, n2, n3];
const five: NodeId[] = [self, n2, n3, n4, n5];
const released = (reads: { context: string; index: number }[]) => reads.map((read) => `${read.context}@${read.index}`);

describe('ReadIndexTracker', () => {
  it('opens a round for a read and releases it once a majority (the leader included) acknowledged the round', () => {
    const tracker = new ReadIndexTracker();
    expect(tracker.hasOpenRound()).toBe(false);
    tracker.add('a', self, index(7));
    expect([tracker.hasOpenRound(), tracker.size()]).toEqual([true, 1]);
    const context = tracker.startRound();
    expect(tracker.hasOpenRound()).toBe(false);
    expect(released(tracker.acknowledge(n2, context, three, self))).toEqual(['a@7']);
    expect(tracker.size()).toBe(0);
    expect(tracker.acknowledge(n3, context, three, self)).toEqual([]); // released once only
  });

  it('needs a majority of five: two acknowledgements besides the leader', () => {
    const tracker = new ReadIndexTracker();
    tracker.add('a', n4, index(3));
    const context = tracker.startRound();
    expect(tracker.acknowledge(n2, context, five, self)).toEqual([]);
    expect(tracker.acknowledge(n2, context, five, self)).toEqual([]); // the same voter twice is still one
    expect(released(tracker.acknowledge(n5, context, five, self))).toEqual(['a@3']);
  });

  it('a read that arrives after a round started is not released by that round', () => {
    const tracker = new ReadIndexTracker();
    tracker.add('early', self, index(5));
    const first = tracker.startRound();
    tracker.add('late', self, index(6));
    expect(released(tracker.acknowledge(n2, first, three, self))).toEqual(['early@5']);
    expect(tracker.hasOpenRound()).toBe(true);
    const second = tracker.startRound();
    expect(second).not.toBe(first);
    expect(released(tracker.acknowledge(n3, second, three, self))).toEqual(['late@6']);
  });

  it('reads between two rounds share one round, and are released in arrival order', () => {
    const tracker = new ReadIndexTracker();
    tracker.add('a', self, index(5));
    tracker.add('b', n2, index(5));
    tracker.add('c', n3, index(6));
    const context = tracker.startRound();
    expect(released(tracker.acknowledge(n2, context, three, self))).toEqual(['a@5', 'b@5', 'c@6']);
  });

  it('an acknowledgement of a later round also confirms the earlier rounds', () => {
    const tracker = new ReadIndexTracker();
    tracker.add('a', self, index(1));
    const first = tracker.startRound();
    tracker.add('b', self, index(2));
    const second = tracker.startRound();
    expect(released(tracker.acknowledge(n3, second, three, self))).toEqual(['a@1', 'b@2']);
    expect(tracker.acknowledge(n2, first, three, self)).toEqual([]);
  });

  it('ignores contexts that are not rounds it started', () => {
    const tracker = new ReadIndexTracker();
    tracker.add('a', self, index(1));
    const context = tracker.startRound();
    for (const bogus of ['', 'x', '0', '-1', '1.5', String(Number(context) + 1)]) {
      expect(tracker.acknowledge(n2, bogus, three, self), bogus).toEqual([]);
    }
    expect(tracker.size()).toBe(1);
  });

  it('counts only voters, and the leader only when it is one', () => {
    const tracker = new ReadIndexTracker();
    tracker.add('a', self, index(1));
    const context = tracker.startRound();
    expect(tracker.acknowledge(n4, context, three, self)).toEqual([]); // a learner
    const withoutLeader: NodeId[] = [n2, n3]; // the leader removed itself
    expect(tracker.acknowledge(n2, context, withoutLeader, self)).toEqual([]);
    expect(released(tracker.acknowledge(n3, context, withoutLeader, self))).toEqual(['a@1']);
  });

  it('keeps reads waiting for the first commit of the term apart, and reset drops everything', () => {
    const tracker = new ReadIndexTracker();
    tracker.waitForTermCommit('w', n2);
    tracker.add('a', self, index(1));
    expect([tracker.size(), tracker.hasOpenRound()]).toEqual([2, true]);
    expect(tracker.takeWaitingForTermCommit()).toEqual([{ context: 'w', from: n2 }]);
    expect(tracker.takeWaitingForTermCommit()).toEqual([]);
    tracker.waitForTermCommit('w2', n3);
    const context = tracker.startRound();
    tracker.reset();
    expect([tracker.size(), tracker.hasOpenRound()]).toEqual([0, false]);
    expect(tracker.acknowledge(n2, context, three, self)).toEqual([]);
  });

  it('acknowledgements from before a reset do not count for rounds after it', () => {
    const tracker = new ReadIndexTracker();
    tracker.add('a', self, index(1));
    tracker.startRound();
    tracker.add('b', self, index(2));
    const second = tracker.startRound();
    tracker.acknowledge(n2, second, five, self);
    tracker.reset();
    tracker.add('c', self, index(3));
    const third = tracker.startRound();
    expect(tracker.acknowledge(n3, third, five, self)).toEqual([]); // n2's old acknowledgement is forgotten
    expect(released(tracker.acknowledge(n4, third, five, self))).toEqual(['c@3']);
  });
});
