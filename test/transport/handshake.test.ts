// The handshake on real sockets: who is refused, by which side, with what reason; and start-up failures.

import { request } from 'node:http';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeId } from '../../src/raft/types.js';
import { PeerTransport, TransportError } from '../../src/transport/index.js';
import { HEADERS, PEER_PATH } from '../../src/transport/handshake.js';
import { A, B, C, CLUSTER, OTHER_CLUSTER, closeAll, connected, heartbeat, rawListener, sleep, startMember, waitFor, type Member } from './helpers.js';

afterEach(closeAll);

const warnings = (member: Member, text: string) => member.logs.filter((line) => line.level === 'warn' && line.text === text).map((line) => String(line.fields?.['reason']));

/** Dials `target` by hand and returns the HTTP status and refusal header of the answer. */
function dialRaw(target: Member, headers: Record<string, string>, path = PEER_PATH): Promise<{ status: number; refusal: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${target.url.replace('http', 'ws')}${path}`, { headers, perMessageDeflate: false });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, refusal: res.headers[HEADERS.refusal] as string | undefined });
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('the listener accepted')));
    ws.on('error', () => {});
  });
}

const validHeaders = (from: string, to: string, cluster = CLUSTER) => ({ [HEADERS.version]: '1', [HEADERS.clusterId]: cluster, [HEADERS.from]: from, [HEADERS.to]: to });

describe('handshake', () => {
  it('refuses a peer of another cluster in both directions, delivers nothing, and says why', async () => {
    const a = await startMember(A);
    const b = await startMember(B, { clusterId: OTHER_CLUSTER });
    a.transport.setPeers(new Map([[B, [b.url]]]));
    b.transport.setPeers(new Map([[A, [a.url]]]));
    for (let i = 0; i < 5; i++) {
      a.transport.send([heartbeat(A, B, i)]);
      b.transport.send([heartbeat(B, A, i)]);
      await sleep(20);
    }
    await waitFor(() => [a, b].every((m) => m.transport.faults().refusedDials > 0 && m.transport.faults().refusedByPeers > 0), 'refusals on both sides');
    for (const [member, peer] of [[a, B], [b, A]] as const) {
      expect(member.received).toEqual([]);
      expect(member.transport.stats().get(peer)).toMatchObject({ connected: false, sentMessages: 0, receivedMessages: 0 });
      expect(member.statuses).toEqual([]);
      expect(warnings(member, 'refused a peer connection')[0]).toMatch(/^cluster ID mismatch: this member is in cluster [0-9a-f]{16}, the dialer in [0-9a-f]{16}$/);
      expect(warnings(member, 'cannot connect to peer')[0]).toMatch(/^refused by the peer \(HTTP 403\): cluster ID mismatch/);
    }
  });

  it('the dialer refuses a listener that answers as another cluster or another member', async () => {
    const otherCluster = await rawListener({ clusterId: OTHER_CLUSTER, memberId: B });
    const otherMember = await rawListener({ clusterId: CLUSTER, memberId: C });
    const a = await startMember(A);
    a.transport.setPeers(new Map([[B, [otherCluster.url]], [nodeId('000000000000000e'), [otherMember.url]]]));
    a.transport.send([heartbeat(A, B, 1), heartbeat(A, nodeId('000000000000000e'), 1)]);
    await waitFor(() => otherCluster.closes.length > 0 && otherMember.closes.length > 0, 'both connections closed by the dialer');
    expect([otherCluster.closes[0], otherMember.closes[0]]).toEqual([4001, 4001]);
    expect(a.transport.faults().refusedListeners).toBeGreaterThanOrEqual(2);
    await waitFor(() => warnings(a, 'cannot connect to peer').length >= 2, 'the refusals logged');
    expect(otherCluster.frames).toEqual([]);
    expect(otherMember.frames).toEqual([]);
    const reasons = warnings(a, 'cannot connect to peer');
    expect(reasons).toContainEqual(expect.stringMatching(/^refused the listener: cluster ID mismatch/));
    expect(reasons).toContainEqual(expect.stringMatching(/^refused the listener: member ID mismatch: expected member 000000000000000e, the listener is 000000000000000c/));
    expect([...a.transport.stats().values()].every((s) => !s.connected && s.sentMessages === 0)).toBe(true);
  });

  it('refuses a dialer that expects another member, and a sender that is not a peer', async () => {
    const [a, b] = await Promise.all([startMember(A), startMember(B)]);
    // A thinks C lives at B's address; B knows A, so only the member ID is wrong.
    b.transport.setPeers(new Map([[A, [a.url]]]));
    a.transport.setPeers(new Map([[C, [b.url]]]));
    await waitFor(() => b.transport.faults().refusedDials >= 1, 'B refuses A dialling C');
    expect(warnings(b, 'refused a peer connection')).toContainEqual(`member ID mismatch: this is member ${B}, the dialer expects ${C}`);
    // A does not know B: B's dials are refused as from an unknown sender.
    await waitFor(() => a.transport.faults().refusedDials >= 1, 'A refuses B');
    expect(warnings(a, 'refused a peer connection')).toContainEqual(`member ${B} is not a peer of member ${A} (removed, or not yet known)`);
    expect(connected(b, A)).toBe(false);
    expect(a.received).toEqual([]);
  });

  it.each([
    ['no handshake headers', {}, /^no conclave-peer-version header/],
    ['another protocol version', { ...validHeaders(A, B), [HEADERS.version]: '2' }, /^peer protocol version is not 1$/],
    ['a malformed cluster ID', validHeaders(A, B, 'cluster'), /^missing or malformed conclave-cluster-id header$/],
    ['a malformed sender ID', validHeaders('a', B), /^missing or malformed conclave-from header$/],
    ['the listener\'s own ID as sender', validHeaders(B, B), /^the dialer claims this member's own ID/],
  ])('answers 403 with the reason to %s', async (_what, headers, reason) => {
    const b = await startMember(B);
    b.transport.setPeers(new Map([[A, []]]));
    const answer = await dialRaw(b, headers);
    expect(answer.status).toBe(403);
    expect(answer.refusal).toMatch(reason);
    expect(b.transport.faults().refusedDials).toBe(1);
  });

  it('answers 404 on another path and 426 to plain HTTP', async () => {
    const b = await startMember(B);
    b.transport.setPeers(new Map([[A, []]]));
    expect((await dialRaw(b, validHeaders(A, B), '/other')).status).toBe(404);
    const status = await new Promise<number>((resolve, reject) => {
      request(`${b.url}/raft`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect(status).toBe(426);
  });

  it('closes a socket that does not complete its handshake in handshakeTimeoutMs', async () => {
    const b = await startMember(B, { limits: { handshakeTimeoutMs: 150 } });
    const started = Date.now();
    const socket = connect(b.transport.listenAddresses[0]!.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2000);
  });

  it('gives up a dial whose handshake gets no answer in handshakeTimeoutMs, and redials', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    const held: import('node:net').Socket[] = [];
    silent.on('connection', (socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (silent.address() as import('node:net').AddressInfo).port;
      const a = await startMember(A, { limits: { handshakeTimeoutMs: 100, reconnectMinMs: 10, reconnectMaxMs: 20 } });
      a.transport.setPeers(new Map([[B, [`http://127.0.0.1:${port}`]]]));
      await waitFor(() => held.length >= 2, 'a second dial after the first timed out');
      expect(warnings(a, 'cannot connect to peer')[0]).toMatch(/handshake has timed out/);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('start', () => {
  it('rejects with ErrPeerListen naming the URL when the port is taken', async () => {
    const a = await startMember(A);
    const port = a.transport.listenAddresses[0]!.port;
    const attempt = startMember(B, { port });
    await expect(attempt).rejects.toThrow(TransportError);
    await expect(attempt).rejects.toMatchObject({ code: 'ErrPeerListen', message: `ErrPeerListen: cannot listen on http://127.0.0.1:${port}: port ${port} on 127.0.0.1 is already in use (EADDRINUSE)` });
  });

  it('releases the ports it bound when a later listen URL fails', async () => {
    const a = await startMember(A);
    const taken = a.transport.listenAddresses[0]!.port;
    const free = await import('./helpers.js').then((h) => h.freePort());
    await expect(PeerTransport.start({ clusterId: CLUSTER, memberId: B, listenUrls: [`http://127.0.0.1:${free}`, `http://127.0.0.1:${taken}`], onMessage: () => {} })).rejects.toMatchObject({ code: 'ErrPeerListen' });
    const again = await startMember(B, { port: free });
    expect(again.transport.listenAddresses[0]!.port).toBe(free);
  });

  it.each([
    ['a cluster ID that is not 16 hex digits', { clusterId: 'abc' }],
    ['a member ID that is not 16 hex digits', { memberId: nodeId('B') }],
    ['an https listen URL', { listenUrls: ['https://127.0.0.1:0'] }],
    ['no listen URL', { listenUrls: [] }],
    ['a zero limit', { limits: { maxPeerQueueMessages: 0 } }],
    ['reconnectMinMs above reconnectMaxMs', { limits: { reconnectMinMs: 500, reconnectMaxMs: 100 } }],
  ])('rejects %s with ErrInvalidTransportOption', async (_what, override) => {
    await expect(PeerTransport.start({ clusterId: CLUSTER, memberId: A, listenUrls: ['http://127.0.0.1:0'], onMessage: () => {}, ...override })).rejects.toMatchObject({
      code: 'ErrInvalidTransportOption',
    });
  });

  it('setPeers throws ErrInvalidTransportOption on a malformed peer, changing nothing', async () => {
    const a = await startMember(A);
    a.transport.setPeers(new Map([[B, ['http://127.0.0.1:1']]]));
    expect(() => a.transport.setPeers(new Map([[C, ['not a url']]]))).toThrow(expect.objectContaining({ code: 'ErrInvalidTransportOption' }));
    expect(() => a.transport.setPeers(new Map([[nodeId('C'), []]]))).toThrow(/peer ID "C" is not 16 lowercase hex digits/);
    expect([...a.transport.stats().keys()]).toEqual([B]);
  });
});
