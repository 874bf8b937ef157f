// Delivery between real transports on 127.0.0.1: order, coalescing into frames, backpressure, and the largest
// messages the Raft core's limits allow.

import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { raftLimits, transportLimits } from '../../src/limits.js';
import { index, term, type Message, type SnapshotChunk } from '../../src/raft/types.js';
import { FrameCodec, PEER_PROTOCOL_VERSION } from '../../src/transport/frame.js';
import { A, B, C, CLUSTER, append, closeAll, connectAll, connected, heartbeat, nextTurn, rawListener, sleep, startMember, waitFor } from './helpers.js';

afterEach(closeAll);

describe('delivery', () => {
  it('delivers every message between three transports, in send order per sender', async () => {
    const members = await Promise.all([startMember(A), startMember(B), startMember(C)]);
    connectAll(members);
    const perPair = 300;
    // Sent over several turns, some before the connections are up, so that both the queue and live writes are used.
    for (let round = 0; round < 10; round++) {
      for (const sender of members) {
        const batch: Message[] = [];
        for (const receiver of members) {
          if (receiver === sender) continue;
          for (let i = 0; i < perPair / 10; i++) batch.push(heartbeat(sender.id, receiver.id, round * (perPair / 10) + i));
        }
        sender.transport.send(batch);
      }
      await sleep(round % 3 === 0 ? 5 : 0);
    }
    await waitFor(() => members.every((m) => m.received.length === 2 * perPair), 'all messages delivered');
    for (const receiver of members) {
      for (const sender of members) {
        if (sender === receiver) continue;
        const commits = receiver.received.filter((m) => m.from === sender.id).map((m) => (m as { commit: number }).commit);
        expect(commits).toEqual(Array.from({ length: perPair }, (_, i) => i));
      }
      expect(receiver.received.every((m) => m.to === receiver.id)).toBe(true);
      for (const [peer, stats] of receiver.transport.stats()) {
        expect(stats).toMatchObject({ connected: true, receivedMessages: perPair, sentMessages: perPair, droppedMessages: 0, queuedMessages: 0, queuedBytes: 0 });
        expect(receiver.statuses).toContainEqual({ peer, connected: true });
      }
    }
  });

  it('delivers every message type with its fields, entry data as Uint8Array', async () => {
    const [a, b] = await Promise.all([startMember(A), startMember(B)]);
    connectAll([a, b]);
    const base = { from: A, to: B, term: term(7) };
    const data = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
    const messages: Message[] = [
      { ...base, type: 'preVote', lastLogIndex: index(4), lastLogTerm: term(6), transfer: false },
      { ...base, type: 'vote', lastLogIndex: index(4), lastLogTerm: term(6), transfer: true },
      { ...base, type: 'preVoteResponse', granted: true },
      { ...base, type: 'voteResponse', granted: false },
      { ...base, type: 'append', prevLogIndex: index(3), prevLogTerm: term(2), commit: index(3), entries: [{ term: term(7), index: index(4), type: 'confChange', data: data(9) }, { term: term(7), index: index(5), type: 'normal', data: data(0) }] },
      { ...base, type: 'appendResponse', success: false, index: index(9), rejectHintIndex: index(5), rejectHintTerm: term(2) },
      heartbeat(A, B, 12, 'ctx-1'),
      { ...base, type: 'heartbeatResponse', context: 'ctx-1' },
      { ...base, type: 'snapshot', snapshot: { index: index(100), term: term(5), config: { voters: [A, B], learners: [C] }, sizeBytes: 20 }, offset: 10, length: 10, last: true, data: data(10) },
      { ...base, type: 'snapshotResponse', snapshotIndex: index(100), receivedBytes: 20, installed: true },
      { ...base, type: 'timeoutNow' },
      { ...base, type: 'forwardProposal', entries: [{ type: 'normal', data: data(3) }] },
      { ...base, type: 'readIndex', context: 'r' },
      { ...base, type: 'readIndexResponse', context: 'r', index: index(44) },
    ];
    a.transport.send(messages);
    await waitFor(() => b.received.length === messages.length, 'all types delivered');
    expect(b.received).toEqual(messages);
    const chunk = b.received.find((m): m is SnapshotChunk => m.type === 'snapshot')!;
    expect(chunk.data).toBeInstanceOf(Uint8Array);
  });

  it('coalesces what one turn sends into one frame: version byte, then the messages as a msgpack stream', async () => {
    const listener = await rawListener({ clusterId: CLUSTER, memberId: B });
    const a = await startMember(A);
    a.transport.setPeers(new Map([[B, [listener.url]]]));
    await waitFor(() => connected(a, B), 'A connected to the raw listener');
    a.transport.send(Array.from({ length: 100 }, (_, i) => heartbeat(A, B, i)));
    a.transport.send([append(A, B, 0, 64)]);
    await waitFor(() => listener.frames.length >= 1, 'a frame');
    await sleep(50);
    expect(listener.frames).toHaveLength(1);
    const frame = listener.frames[0]!;
    expect(frame[0]).toBe(PEER_PROTOCOL_VERSION);
    const decoded = new FrameCodec(transportLimits.maxPeerFrameBytes).decodeFrame(frame);
    expect(decoded.ok && decoded.messages.length).toBe(101);
    // A later turn makes a new frame.
    a.transport.send([heartbeat(A, B, 500)]);
    await waitFor(() => listener.frames.length === 2, 'a second frame');
  });

  it('splits a turn that exceeds maxPeerFrameBytes into several frames, none over the limit', async () => {
    const listener = await rawListener({ clusterId: CLUSTER, memberId: B });
    const maxPeerFrameBytes = 64 * 1024;
    const a = await startMember(A, { limits: { maxPeerFrameBytes } });
    a.transport.setPeers(new Map([[B, [listener.url]]]));
    await waitFor(() => connected(a, B), 'connected');
    a.transport.send(Array.from({ length: 10 }, (_, i) => append(A, B, i, 20_000)));
    await waitFor(() => listener.frames.reduce((n, f) => n + countMessages(f), 0) === 10, 'all ten appends');
    expect(listener.frames.length).toBeGreaterThanOrEqual(4);
    for (const frame of listener.frames) expect(frame.length).toBeLessThanOrEqual(maxPeerFrameBytes);
  });

  it('stops writing while the socket buffers and lets the queue absorb, then drains when the peer reads again', async () => {
    const listener = await rawListener({ clusterId: CLUSTER, memberId: B });
    const a = await startMember(A, { limits: { maxPeerSocketBufferedBytes: 256 * 1024, peerPongTimeoutMs: 60_000 } });
    a.transport.setPeers(new Map([[B, [listener.url]]]));
    await waitFor(() => connected(a, B) && listener.sockets.length === 1, 'connected');
    const socket = (listener.sockets[0] as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    const total = 48;
    for (let i = 0; i < total; i++) {
      a.transport.send([append(A, B, i, 1024 * 1024)]);
      await nextTurn();
    }
    await sleep(100);
    const stalled = a.transport.stats().get(B)!;
    // Loopback kernel buffers hold a few MiB; the rest must wait in the queue, not in the socket.
    expect(stalled.queuedMessages).toBeGreaterThan(0);
    expect(stalled.sentMessages + stalled.queuedMessages).toBe(total);
    expect(stalled.droppedMessages).toBe(0);
    socket.resume();
    await waitFor(() => listener.frames.reduce((n, f) => n + countMessages(f), 0) === total, 'every append after resuming', 30_000);
    expect(a.transport.stats().get(B)).toMatchObject({ queuedMessages: 0, queuedBytes: 0, sentMessages: total });
  });

  it('carries a full snapshot chunk and a full append with the default limits', async () => {
    const [a, b] = await Promise.all([startMember(A), startMember(B)]);
    connectAll([a, b]);
    const chunkData = new Uint8Array(raftLimits.snapshotChunkBytes).fill(0x5a);
    const chunk: SnapshotChunk = {
      type: 'snapshot', from: A, to: B, term: term(2),
      snapshot: { index: index(10), term: term(2), config: { voters: [A, B], learners: [] }, sizeBytes: chunkData.length },
      offset: 0, length: chunkData.length, last: true, data: chunkData,
    };
    // The most entries an append carries, together at the byte bound, plus the single oversized proposal it may carry alone.
    const full = append(A, B, 0, Math.floor(raftLimits.maxAppendBytes / raftLimits.maxEntriesPerAppend), raftLimits.maxEntriesPerAppend);
    const single = append(A, B, 600, raftLimits.maxProposalBytes);
    a.transport.send([chunk, full, single]);
    await waitFor(() => b.received.length === 3, 'the three large messages');
    // Compared without the typed arrays' contents (a deep equality over millions of bytes is slow), then those byte-wise.
    expect(b.received.map(withoutData)).toEqual([chunk, full, single].map(withoutData));
    expect(bytesOf(b.received)).toEqual(bytesOf([chunk, full, single]));
    expect(a.transport.stats().get(B)!.droppedMessages).toBe(0);
  });
});

function withoutData(message: Message): unknown {
  const shape = (data: Uint8Array) => `${data.constructor.name}(${data.length})`;
  if (message.type === 'snapshot') return { ...message, data: shape(message.data) };
  if (message.type === 'append') return { ...message, entries: message.entries.map((e) => ({ ...e, data: shape(e.data) })) };
  return message;
}

/** A digest of every byte of data a message list carries, in order. */
function bytesOf(messages: readonly Message[]): string {
  const hash = createHash('sha256');
  for (const message of messages) {
    if (message.type === 'snapshot') hash.update(message.data);
    if (message.type === 'append') for (const entry of message.entries) hash.update(entry.data);
  }
  return hash.digest('hex');
}

function countMessages(frame: Buffer): number {
  const decoded = new FrameCodec(64 * 1024 * 1024).decodeFrame(frame);
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.messages.length;
}
