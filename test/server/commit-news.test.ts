// The leader holds news of a commit index (appends without entries) for a moment, so that the next append, which
// carries a newer commit index, replaces it: each follower still learns every commit, at most holdMs late.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { index, nodeId, term, type AppendRequest, type HeartbeatRequest, type Message } from '../../src/raft/index.js';
import { CommitNewsHold } from '../../src/server/commit-news.js';

const leader = nodeId('n1');
const [f2, f3] = [nodeId('n2'), nodeId('n3')];

function append(to: typeof f2, commit: number, entries = 0, atTerm = 2): AppendRequest {
  const data = new Uint8Array(0);
  return {
    type: 'append',
    from: leader,
    to,
    term: term(atTerm),
    prevLogIndex: index(commit),
    prevLogTerm: term(atTerm),
    entries: Array.from({ length: entries }, (_, i) => ({ index: index(commit + 1 + i), term: term(atTerm), type: 'normal' as const, data })),
    commit: index(commit),
  };
}

function heartbeat(to: typeof f2, commit: number): HeartbeatRequest {
  return { type: 'heartbeat', from: leader, to, term: term(2), commit: index(commit), context: '' };
}

describe('CommitNewsHold', () => {
  let released: Message[][];
  let hold: CommitNewsHold;

  beforeEach(() => {
    vi.useFakeTimers();
    released = [];
    hold = new CommitNewsHold(2, (messages) => released.push([...messages]));
  });
  afterEach(() => {
    hold.clear();
    vi.useRealTimers();
  });

  it('sends held news when holdMs passes without an append to carry it', () => {
    hold.hold([append(f2, 5), append(f3, 5)]);
    vi.advanceTimersByTime(1);
    expect(released).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(released.map((batch) => batch.map((m) => `${m.to}:${(m as AppendRequest).commit}`))).toEqual([['n2:5', 'n3:5']]);
    expect(hold.heldCount).toBe(0);
  });

  it('drops news that an append to the same follower carries, and keeps the rest', () => {
    hold.hold([append(f2, 5), append(f3, 5)]);
    hold.supersede([append(f2, 5, 1)]);
    expect(hold.heldCount).toBe(1);
    vi.advanceTimersByTime(2);
    expect(released.map((batch) => batch.map((m) => m.to))).toEqual([['n3']]);
  });

  it('cancels its timer once every follower has its news carried', () => {
    hold.hold([append(f2, 5), append(f3, 5)]);
    hold.supersede([append(f2, 6, 2), append(f3, 6, 2)]);
    vi.advanceTimersByTime(10);
    expect(released).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is not superseded by a heartbeat, nor by an append with an older commit index or term', () => {
    hold.hold([append(f2, 7, 0, 3)]);
    hold.supersede([heartbeat(f2, 7), append(f2, 6, 1, 3), append(f2, 7, 1, 2)]);
    expect(hold.heldCount).toBe(1);
    vi.advanceTimersByTime(2);
    expect(released.flat().map((m) => (m as AppendRequest).commit)).toEqual([7]);
  });

  it('keeps only the newest news per follower, on the first timer', () => {
    hold.hold([append(f2, 5)]);
    vi.advanceTimersByTime(1);
    hold.hold([append(f2, 6)]);
    vi.advanceTimersByTime(1);
    expect(released.flat().map((m) => `${m.to}:${(m as AppendRequest).commit}`)).toEqual(['n2:6']);
  });

  it('sends at once with holdMs 0, and sends nothing after clear()', () => {
    const immediate = new CommitNewsHold(0, (messages) => released.push([...messages]));
    immediate.hold([append(f2, 5)]);
    expect(released).toHaveLength(1);
    hold.hold([append(f3, 5)]);
    hold.clear();
    vi.advanceTimersByTime(10);
    expect(released).toHaveLength(1);
  });
});
