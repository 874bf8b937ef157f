import { describe, expect, it } from 'vitest';
import { SnapshotReceiver } from '../../src/raft/snapshot-receiver.js';
import { index, nodeId, term, type SnapshotChunk, type SnapshotMeta } from '../../src/raft/types.js';

const meta: SnapshotMeta = { index: index(10), term: term(2), config: { voters: [nodeId('n1')], learners: [] }, sizeBytes: 10 };

function chunk(offset: number, length: number, overrides: Partial<SnapshotChunk> = {}): SnapshotChunk {
  return {
    type: 'snapshot',
    from: nodeId('n1'),
    to: nodeId('n2'),
    term: term(2),
    snapshot: meta,
    offset,
    length,
    last: offset + length === meta.sizeBytes,
    data: new Uint8Array(length),
    ...overrides,
  };
}

describe('SnapshotReceiver', () => {
  it('keeps chunks in order and completes on the last one', () => {
    const receiver = new SnapshotReceiver();
    expect(receiver.accept(chunk(0, 4))).toEqual({ stored: true, complete: false, receivedBytes: 4 });
    expect(receiver.accept(chunk(4, 4))).toEqual({ stored: true, complete: false, receivedBytes: 8 });
    expect(receiver.accept(chunk(8, 2))).toEqual({ stored: true, complete: true, receivedBytes: 10 });
  });

  it('answers an out-of-order chunk with what it holds, so the leader resumes there', () => {
    const receiver = new SnapshotReceiver();
    receiver.accept(chunk(0, 4));
    expect(receiver.accept(chunk(8, 2))).toEqual({ stored: false, complete: false, receivedBytes: 4 });
    expect(receiver.accept(chunk(0, 4))).toEqual({ stored: false, complete: false, receivedBytes: 4 });
    expect(receiver.accept(chunk(4, 4)).stored).toBe(true);
  });

  it('asks for the start when a chunk of an unknown snapshot arrives mid-stream (e.g. after a restart)', () => {
    expect(new SnapshotReceiver().accept(chunk(4, 4))).toEqual({ stored: false, complete: false, receivedBytes: 0 });
  });

  it('refuses malformed chunks without storing or completing anything', () => {
    const receiver = new SnapshotReceiver();
    receiver.accept(chunk(0, 4));
    // A "last" chunk that does not reach sizeBytes once crashed the node on an invariant; now it is refused.
    expect(receiver.accept(chunk(4, 4, { last: true }))).toEqual({ stored: false, complete: false, receivedBytes: 4 });
    expect(receiver.accept(chunk(4, 4, { data: new Uint8Array(3) }))).toEqual({ stored: false, complete: false, receivedBytes: 4 });
    expect(receiver.accept(chunk(8, 4, { last: true }))).toEqual({ stored: false, complete: false, receivedBytes: 4 });
    expect(receiver.accept(chunk(4, 6)).complete).toBe(true);
  });

  it('a newer snapshot starting at offset 0 replaces a partial older one', () => {
    const receiver = new SnapshotReceiver();
    receiver.accept(chunk(0, 4));
    const newer: SnapshotMeta = { ...meta, index: index(20), sizeBytes: 3 };
    expect(receiver.accept(chunk(0, 3, { snapshot: newer, last: true }))).toEqual({ stored: true, complete: true, receivedBytes: 3 });
  });
});

describe('a follower given a malformed snapshot chunk', () => {
  it('refuses it instead of failing an invariant (peer input must never crash a node)', async () => {
    const { RaftNode } = await import('../../src/raft/node.js');
    const ids = ['n1', 'n2', 'n3'].map(nodeId);
    const follower = new RaftNode({ id: nodeId('n2'), initialConfig: { voters: ids, learners: [] }, random: () => 0 });
    const lying = chunk(0, 4, { last: true }); // claims to be the last chunk of a 10-byte snapshot
    expect(() => follower.step(lying)).not.toThrow();
    const ready = follower.ready();
    expect(ready.snapshot).toBeNull();
    expect(ready.snapshotChunks).toEqual([]);
    expect(ready.persistedMessages).toMatchObject([{ type: 'snapshotResponse', receivedBytes: 0, installed: false }]);
  });
});
