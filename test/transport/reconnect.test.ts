// Peers that go away: redialling with backoff, a restarted peer on the same port, a dead peer's bounded queue,
// a connection that stops answering pings.

import { afterEach, describe, expect, it } from 'vitest';
import { A, B, C, CLUSTER, append, closeAll, connectAll, connected, freePort, heartbeat, rawListener, sleep, startMember, waitFor } from './helpers.js';

afterEach(closeAll);

describe('reconnect', () => {
  it('redials a peer that restarts on the same port, backing off exponentially meanwhile, and messages flow again', async () => {
    const limits = { reconnectMinMs: 20, reconnectMaxMs: 400 };
    const a = await startMember(A, { limits, random: () => 0.5 });
    const b = await startMember(B);
    connectAll([a, b]);
    a.transport.send([heartbeat(A, B, 1), heartbeat(A, B, 2)]);
    await waitFor(() => b.received.length === 2, 'delivery before the restart');

    const port = b.transport.listenAddresses[0]!.port;
    await b.transport.close();
    await waitFor(() => !connected(a, B), 'A notices B is gone');
    expect(a.statuses).toEqual([
      { peer: B, connected: true },
      { peer: B, connected: false },
    ]);
    await sleep(900);
    // Sent while B is down: queued, delivered once it is back.
    a.transport.send([heartbeat(A, B, 3)]);

    const restarted = await startMember(B, { port });
    restarted.transport.setPeers(new Map([[A, [a.url]]]));
    await waitFor(() => connected(a, B), 'A reconnected to the restarted B', 5000);
    a.transport.send([heartbeat(A, B, 4)]);
    await waitFor(() => restarted.received.length === 2, 'delivery after the restart');
    expect(restarted.received.map((m) => (m as { commit: number }).commit)).toEqual([3, 4]);

    // With jitter fixed at 0.5, each delay is 3/4 of a ceiling that doubles from 20 ms up to 400 ms (never below 20).
    const delays = a.logs.filter((l) => l.text === 'redialling peer').map((l) => l.fields?.['delayMs']);
    expect(delays.slice(0, 6)).toEqual([20, 30, 60, 120, 240, 300]);
    // And the dials really are that far apart.
    const failures = a.logs.filter((l) => l.text === 'cannot connect to peer').map((l) => l.at);
    expect(failures.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < Math.min(failures.length, 5); i++) {
      expect(failures[i]! - failures[i - 1]!).toBeGreaterThanOrEqual((delays[i] as number) - 2);
    }
    const stats = a.transport.stats().get(B)!;
    expect(stats.reconnects).toBe(failures.length + 1);
    expect(stats.connected).toBe(true);
    expect(a.statuses.at(-1)).toEqual({ peer: B, connected: true });
  });

  it('bounds a dead peer\'s queue by count and counts the drops, while a live peer receives everything', async () => {
    const deadPort = await freePort();
    const b = await startMember(B);
    const a = await startMember(A, { limits: { maxPeerQueueMessages: 50, reconnectMinMs: 10, reconnectMaxMs: 40 } });
    a.transport.setPeers(new Map([[B, [b.url]], [C, [`http://127.0.0.1:${deadPort}`]]]));
    b.transport.setPeers(new Map([[A, [a.url]]]));
    for (let turn = 0; turn < 20; turn++) {
      a.transport.send([...Array.from({ length: 10 }, (_, i) => heartbeat(A, B, turn * 10 + i)), ...Array.from({ length: 10 }, (_, i) => heartbeat(A, C, turn * 10 + i))]);
      await sleep(5);
    }
    await waitFor(() => b.received.length === 200, 'everything to the live peer');
    const dead = a.transport.stats().get(C)!;
    expect(dead).toMatchObject({ connected: false, queuedMessages: 50, droppedMessages: 150, sentMessages: 0 });
    expect(dead.reconnects).toBeGreaterThan(0);
    expect(a.transport.stats().get(B)).toMatchObject({ connected: true, sentMessages: 200, droppedMessages: 0 });
    // The overflow is logged once, not per message.
    expect(a.logs.filter((l) => l.text === 'peer queue full; dropping new messages until it drains').map((l) => l.fields?.['peer'])).toEqual([C]);
  });

  it('bounds a dead peer\'s queue by bytes', async () => {
    const deadPort = await freePort();
    const a = await startMember(A, { limits: { maxPeerQueueBytes: 20_000 } });
    a.transport.setPeers(new Map([[C, [`http://127.0.0.1:${deadPort}`]]]));
    a.transport.send(Array.from({ length: 10 }, (_, i) => append(A, C, i, 3000)));
    const stats = a.transport.stats().get(C)!;
    expect(stats.queuedBytes).toBeLessThanOrEqual(20_000);
    expect(stats.queuedMessages).toBe(6);
    expect(stats.droppedMessages).toBe(4);
  });

  it('closes and redials a connection whose peer stops answering pings', async () => {
    const listener = await rawListener({ clusterId: CLUSTER, memberId: B }, { autoPong: false });
    const a = await startMember(A, { limits: { peerPingIntervalMs: 30, peerPongTimeoutMs: 150, reconnectMinMs: 10 } });
    a.transport.setPeers(new Map([[B, [listener.url]]]));
    await waitFor(() => listener.sockets.length >= 2, 'a second connection after the first went silent');
    const lost = a.logs.find((l) => l.text === 'lost connection to peer');
    expect(String(lost?.fields?.['reason'])).toMatch(/^no pong for \d+ ms \(peerPongTimeoutMs is 150\)$/);
    expect(a.statuses.slice(0, 2)).toEqual([
      { peer: B, connected: true },
      { peer: B, connected: false },
    ]);
  });

  it('keeps a connection whose peer answers pings', async () => {
    const [a, b] = await Promise.all([
      startMember(A, { limits: { peerPingIntervalMs: 20, peerPongTimeoutMs: 500 } }),
      startMember(B),
    ]);
    connectAll([a, b]);
    await waitFor(() => connected(a, B), 'connected');
    // Longer than the pong timeout: a connection that did not count its pongs would have been dropped.
    await sleep(700);
    expect(a.transport.stats().get(B)).toMatchObject({ connected: true, reconnects: 0 });
  });
});
