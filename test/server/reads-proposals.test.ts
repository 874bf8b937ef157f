// The member's bookkeeping of client requests: linearizable reads batched onto one ReadIndex confirmation, and
// proposals settled by request ID. Time is a number the test moves.

import { describe, expect, it } from 'vitest';
import { ConclaveError } from '../../src/protocol/errors.js';
import { index } from '../../src/raft/index.js';
import { ProposalTracker } from '../../src/server/proposals.js';
import { ReadBatcher } from '../../src/server/reads.js';

const settled = async (promise: Promise<unknown>): Promise<string> => {
  let state = 'pending';
  promise.then(
    () => (state = 'resolved'),
    (error: unknown) => (state = error instanceof ConclaveError ? error.code : 'rejected'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
};

function readBatcher(options: { failWith?: ConclaveError } = {}) {
  let now = 0;
  let applied = 0;
  const asked: string[] = [];
  const batcher = new ReadBatcher({
    requestReadIndex: (context) => {
      asked.push(context);
      return options.failWith ?? null;
    },
    appliedIndex: () => applied,
    nonce: 'n',
    maxPending: 3,
    timeoutMs: 1000,
    retryMs: 300,
    nowMs: () => now,
  });
  return {
    batcher,
    asked,
    advance: (ms: number) => (now += ms),
    apply: (to: number) => {
      applied = to;
      batcher.onApplied(to);
    },
  };
}

describe('ReadBatcher', () => {
  it('confirms all reads of one turn with one ReadIndex, and serves them once applied up to the index', async () => {
    const { batcher, asked, apply } = readBatcher();
    const reads = [batcher.wait(), batcher.wait(), batcher.wait()];
    await Promise.resolve();
    expect(asked).toHaveLength(1);
    batcher.onReadState({ context: asked[0] as string, index: index(7) });
    expect(await settled(reads[0] as Promise<void>)).toBe('pending');
    apply(6);
    expect(await settled(reads[0] as Promise<void>)).toBe('pending');
    apply(7);
    expect(await Promise.all(reads.map(settled))).toEqual(['resolved', 'resolved', 'resolved']);
  });

  it('sends reads that arrive while a confirmation is in flight with the next one', async () => {
    const { batcher, asked, apply } = readBatcher();
    apply(10);
    const first = batcher.wait();
    await Promise.resolve();
    const second = batcher.wait();
    await Promise.resolve();
    expect(asked).toHaveLength(1);
    // An answer to an unknown context is ignored.
    batcher.onReadState({ context: 'other', index: index(1) });
    batcher.onReadState({ context: asked[0] as string, index: index(10) });
    expect(await settled(first)).toBe('resolved');
    expect(await settled(second)).toBe('pending');
    expect(asked).toHaveLength(2);
    batcher.onReadState({ context: asked[1] as string, index: index(10) });
    expect(await settled(second)).toBe('resolved');
  });

  it('asks again when a confirmation goes unanswered, and fails reads past their deadline with ErrTimeout', async () => {
    const { batcher, asked, advance } = readBatcher();
    const read = batcher.wait();
    await Promise.resolve();
    advance(300);
    batcher.tick();
    expect(asked).toHaveLength(2);
    expect(asked[1]).not.toBe(asked[0]);
    advance(700);
    batcher.tick();
    expect(await settled(read)).toBe('ErrTimeout');
  });

  it('fails at once when the core refuses, and beyond maxPending with ErrTooManyRequests', async () => {
    const refusing = readBatcher({ failWith: new ConclaveError('ErrNoLeader') });
    const refused = refusing.batcher.wait();
    expect(await settled(refused)).toBe('ErrNoLeader');
    const { batcher } = readBatcher();
    const reads = [batcher.wait(), batcher.wait(), batcher.wait()];
    expect(await settled(batcher.wait())).toBe('ErrTooManyRequests');
    batcher.failAll(new ConclaveError('ErrStopped'));
    expect(await Promise.all(reads.map(settled))).toEqual(['ErrStopped', 'ErrStopped', 'ErrStopped']);
  });
});

describe('ProposalTracker', () => {
  it('settles each request with the result of its own entry, and ignores other members’ IDs', async () => {
    const tracker = new ProposalTracker<string>('boot1', 10, 1000, () => 0);
    const a = tracker.open();
    const b = tracker.open();
    expect(a.id).not.toBe(b.id);
    expect(a.id.startsWith('boot1.')).toBe(true);
    tracker.settle('boot0.0', 'someone else');
    tracker.settle(b.id, 'result b');
    tracker.settle(a.id, 'result a');
    expect(await a.result).toBe('result a');
    expect(await b.result).toBe('result b');
    expect(tracker.size).toBe(0);
  });

  it('expires requests past the timeout with ErrTimeout, refuses beyond maxPending, and fails all on stop', async () => {
    let now = 0;
    const tracker = new ProposalTracker<string>('boot', 2, 100, () => now);
    const old = tracker.open();
    now = 50;
    const newer = tracker.open();
    expect(() => tracker.open()).toThrow(/maxPendingProposals/);
    now = 120;
    tracker.expire();
    expect(await settled(old.result)).toBe('ErrTimeout');
    expect(await settled(newer.result)).toBe('pending');
    tracker.failAll(new ConclaveError('ErrStopped'));
    expect(await settled(newer.result)).toBe('ErrStopped');
  });
});
