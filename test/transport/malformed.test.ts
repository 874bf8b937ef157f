// Hand-made frames from a raw ws client that passed the handshake: whatever it sends, nothing invalid is
// delivered, the connection is closed with a reason, and the transport keeps serving others.

import { encode } from '@msgpack/msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import { PEER_PROTOCOL_VERSION } from '../../src/transport/frame.js';
import { A, B, C, append, closeAll, closed, freePort, heartbeat, rawDialer, startMember, waitFor, type Member } from './helpers.js';

afterEach(closeAll);

const frame = (...values: unknown[]): Buffer => Buffer.concat([Buffer.of(PEER_PROTOCOL_VERSION), ...values.map((v) => encode(v))]);

/** B, which knows A as a peer (at an address where nothing listens: B's own dials fail, which is fine here). */
async function listenerB(limits = {}): Promise<Member> {
  const b = await startMember(B, { limits: { maxPeerFrameBytes: 64 * 1024, ...limits } });
  b.transport.setPeers(new Map([[A, [`http://127.0.0.1:${await freePort()}`]], [C, []]]));
  return b;
}

let seed = 99;
const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24)));

describe('malformed frames', () => {
  it.each([
    ['random bytes', () => randomBytes(200), /^malformed frame: /],
    ['another frame version', () => Buffer.concat([Buffer.of(9), encode(heartbeat(A, B, 1))]), /frame version 9/],
    ['a field of the wrong type', () => frame({ ...heartbeat(A, B, 1), term: 'three' }), /term is not a non-negative integer/],
    ['an unknown message type', () => frame({ ...heartbeat(A, B, 1), type: 'gossip' }), /message type "gossip" is unknown/],
    ['entry data that is not binary', () => frame({ ...append(A, B, 0, 1), entries: [{ term: 3, index: 1, type: 'normal', data: 'text' }] }), /data is not binary/],
    ['a valid message followed by a bad one', () => frame(heartbeat(A, B, 1), { type: 'heartbeat' }), /message 1: /],
    ['truncated msgpack', () => frame(heartbeat(A, B, 1)).subarray(0, 30), /not msgpack/],
  ])('%s: closes the connection with 1007 and delivers nothing', async (_what, make, reason) => {
    const b = await listenerB();
    const ws = await rawDialer(b, A);
    const ended = closed(ws);
    ws.send(make());
    // Anything after the bad frame is ignored too.
    ws.send(frame(heartbeat(A, B, 2)));
    const { code, reason: text } = await ended;
    expect(code).toBe(1007);
    expect(text).toMatch(reason);
    expect(b.received).toEqual([]);
    expect(b.transport.faults().malformedFrames).toBe(1);
    const logged = b.logs.find((l) => l.text === 'malformed frame from peer; connection closed');
    expect(logged?.fields).toMatchObject({ peer: A, reason: expect.any(String) });
  });

  it('closes the connection on a text frame', async () => {
    const b = await listenerB();
    const ws = await rawDialer(b, A);
    const ended = closed(ws);
    ws.send(JSON.stringify(heartbeat(A, B, 1)));
    expect(await ended).toEqual({ code: 1007, reason: 'malformed frame: text frame' });
    expect(b.received).toEqual([]);
  });

  it('refuses a frame larger than maxPeerFrameBytes (1009) without reading it into a message', async () => {
    const b = await listenerB();
    const ws = await rawDialer(b, A);
    const ended = closed(ws);
    ws.send(frame(append(A, B, 0, 100 * 1024)));
    expect((await ended).code).toBe(1009);
    expect(b.received).toEqual([]);
    await waitFor(() => b.transport.faults().malformedFrames === 1, 'the oversized frame counted');
    expect(b.logs.find((l) => l.text === 'peer broke the WebSocket protocol; connection closed')?.fields).toMatchObject({ peer: A, limitBytes: 64 * 1024 });
  });

  it('drops a valid message whose `to` is another member or whose `from` is not the connection\'s peer, and keeps the connection', async () => {
    const b = await listenerB();
    const ws = await rawDialer(b, A);
    ws.send(frame(heartbeat(A, C, 1), heartbeat(C, B, 2), heartbeat(A, B, 3)));
    await waitFor(() => b.received.length === 1, 'the one well-addressed message');
    expect(b.received).toEqual([heartbeat(A, B, 3)]);
    expect(b.transport.faults()).toMatchObject({ misaddressedMessages: 2, malformedFrames: 0 });
    expect(ws.readyState).toBe(ws.OPEN);
    expect(b.transport.stats().get(A)!.receivedMessages).toBe(1);
  });

  it('keeps serving: after a barrage of bad connections, a good one is delivered', async () => {
    const b = await listenerB();
    for (let i = 0; i < 20; i++) {
      const ws = await rawDialer(b, A);
      const ended = closed(ws);
      ws.send(randomBytes(1 + (i * 37) % 300));
      await ended;
    }
    const good = await rawDialer(b, A);
    good.send(frame(heartbeat(A, B, 7)));
    await waitFor(() => b.received.length === 1, 'the good frame');
    expect(b.received).toEqual([heartbeat(A, B, 7)]);
    expect(b.transport.faults().malformedFrames).toBe(20);
  });

  it('replaces an older connection from the same peer with a newer one', async () => {
    const b = await listenerB();
    const first = await rawDialer(b, A);
    const ended = closed(first);
    const second = await rawDialer(b, A);
    expect(await ended).toEqual({ code: 4003, reason: 'replaced by a newer connection from the same member' });
    second.send(frame(heartbeat(A, B, 1)));
    await waitFor(() => b.received.length === 1, 'delivery on the newer connection');
  });
});
