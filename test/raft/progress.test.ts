// The leader's flow control for one follower: probe / replicate / snapshot, the in-flight window, and
// rejections that arrive late.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Progress } from '../../src/raft/progress.js';
import { index } from '../../src/raft/types.js';

const replicating = (match: number, maxInflight = 3): Progress => {
  const progress = new Progress(index(match + 1), maxInflight);
  progress.maybeUpdate(index(match));
  progress.becomeReplicate();
  return progress;
};

describe('probe state', () => {
  it('starts probing, unpaused, with nothing matched', () => {
    const progress = new Progress(index(7), 4);
    expect([progress.state, progress.match, progress.next, progress.isPaused()]).toEqual(['probe', 0, 7, false]);
  });

  it('sends one append at a time: paused until acknowledged or heard from', () => {
    const progress = new Progress(index(7), 4);
    progress.sentEntries(index(9), 3);
    expect(progress.isPaused()).toBe(true);
    expect(progress.next).toBe(7); // probing does not move next optimistically
    expect(progress.maybeUpdate(index(9))).toBe(true);
    expect(progress.isPaused()).toBe(false);
    progress.sentEntries(index(9), 0);
    expect(progress.isPaused()).toBe(true);
    progress.heardFrom();
    expect(progress.isPaused()).toBe(false);
  });

  it('moves next back on a rejection of the append it is waiting for, using the hint but never to or below match', () => {
    const progress = new Progress(index(11), 4);
    progress.maybeUpdate(index(4));
    progress.next = index(11);
    expect(progress.maybeDecrease(index(10), index(6))).toBe(true);
    expect(progress.next).toBe(6);
    expect(progress.maybeDecrease(index(5), index(1))).toBe(true);
    expect(progress.next).toBe(5); // match + 1: entries up to 4 are known to match
    expect(progress.isPaused()).toBe(false);
  });

  it('ignores a rejection of an append that is not the latest probe (stale)', () => {
    const progress = new Progress(index(11), 4);
    expect(progress.maybeDecrease(index(7), index(3))).toBe(false);
    expect(progress.next).toBe(11);
  });
});

describe('replicate state', () => {
  it('streams optimistically within the window', () => {
    const progress = replicating(5);
    expect(progress.next).toBe(6);
    progress.sentEntries(index(7), 2);
    progress.sentEntries(index(9), 2);
    expect([progress.next, progress.inflightCount(), progress.isPaused()]).toEqual([10, 2, false]);
    progress.sentEntries(index(10), 1);
    expect(progress.isPaused()).toBe(true);
    progress.sentEntries(index(10), 0); // an empty append takes no slot
    expect(progress.inflightCount()).toBe(3);
  });

  it('frees every slot up to an acknowledgement', () => {
    const progress = replicating(5);
    progress.sentEntries(index(7), 2);
    progress.sentEntries(index(9), 2);
    progress.sentEntries(index(10), 1);
    expect(progress.maybeUpdate(index(9))).toBe(true);
    expect([progress.match, progress.next, progress.inflightCount(), progress.isPaused()]).toEqual([9, 11, 1, false]);
    expect(progress.maybeUpdate(index(8))).toBe(false); // late, smaller acknowledgement
    expect(progress.match).toBe(9);
  });

  it('a heartbeat answer frees one slot of a full window, so that lost appends are found', () => {
    const progress = replicating(0, 2);
    progress.sentEntries(index(1), 1);
    progress.sentEntries(index(2), 1);
    expect(progress.isPaused()).toBe(true);
    progress.heardFrom();
    expect([progress.isPaused(), progress.inflightCount()]).toEqual([false, 1]);
    progress.heardFrom(); // not full: nothing changes
    expect(progress.inflightCount()).toBe(1);
  });

  it('a rejection above match falls back to probing from match + 1; one at or below match is stale', () => {
    const progress = replicating(5);
    progress.sentEntries(index(8), 3);
    expect(progress.maybeDecrease(index(5), index(1))).toBe(false);
    expect(progress.state).toBe('replicate');
    expect(progress.maybeDecrease(index(8), index(2))).toBe(true);
    expect([progress.state, progress.next, progress.inflightCount(), progress.isPaused()]).toEqual(['probe', 6, 0, false]);
  });
});

describe('snapshot state', () => {
  it('pauses appends and tracks the transfer from zero', () => {
    const progress = replicating(3);
    progress.sentEntries(index(5), 2);
    progress.becomeSnapshot(index(20));
    expect([progress.state, progress.isPaused(), progress.snapshotIndex, progress.snapshotSentBytes, progress.snapshotAckedBytes]).toEqual(['snapshot', true, 20, 0, 0]);
    expect(progress.inflightCount()).toBe(0);
  });

  it('resumes from an offset without moving the acknowledged bytes forward', () => {
    const progress = new Progress(index(1), 4);
    progress.becomeSnapshot(index(20));
    progress.snapshotSentBytes = 12;
    progress.snapshotAckedBytes = 8;
    progress.snapshotAllSent = true;
    progress.resendSnapshotFrom(8);
    expect([progress.snapshotSentBytes, progress.snapshotAckedBytes, progress.snapshotAllSent]).toEqual([8, 8, false]);
    progress.resendSnapshotFrom(4);
    expect([progress.snapshotSentBytes, progress.snapshotAckedBytes]).toEqual([4, 4]);
  });

  it('after the install, probing restarts right after what the snapshot covers', () => {
    const progress = new Progress(index(1), 4);
    progress.becomeSnapshot(index(20));
    progress.maybeUpdate(index(20));
    progress.becomeProbe();
    expect([progress.state, progress.match, progress.next, progress.snapshotIndex]).toEqual(['probe', 20, 21, 0]);
  });
});

describe('properties', () => {
  type Op =
    | { kind: 'ack'; at: number }
    | { kind: 'reject'; at: number; hint: number }
    | { kind: 'send'; count: number }
    | { kind: 'heard' }
    | { kind: 'probe' }
    | { kind: 'replicate' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('ack' as const), at: fc.nat({ max: 40 }) }),
    fc.record({ kind: fc.constant('reject' as const), at: fc.nat({ max: 40 }), hint: fc.nat({ max: 40 }) }),
    fc.record({ kind: fc.constant('send' as const), count: fc.nat({ max: 3 }) }),
    fc.constant({ kind: 'heard' as const }),
    fc.constant({ kind: 'probe' as const }),
    fc.constant({ kind: 'replicate' as const }),
  );

  it('next stays above match, match never decreases, and the window never overflows', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const progress = new Progress(index(1), 3);
        let lastMatch = 0;
        for (const step of ops) {
          if (step.kind === 'ack') progress.maybeUpdate(index(step.at));
          else if (step.kind === 'reject') progress.maybeDecrease(index(step.at), index(step.hint));
          else if (step.kind === 'send' && !progress.isPaused()) progress.sentEntries(index(progress.next - 1 + step.count), step.count);
          else if (step.kind === 'heard') progress.heardFrom();
          else if (step.kind === 'probe') progress.becomeProbe();
          else if (step.kind === 'replicate') progress.becomeReplicate();
          expect(progress.next).toBeGreaterThan(progress.match);
          expect(progress.match).toBeGreaterThanOrEqual(lastMatch);
          expect(progress.inflightCount()).toBeLessThanOrEqual(3);
          lastMatch = progress.match;
        }
      }),
    );
  });
});
