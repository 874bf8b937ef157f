// Membership changes through setPeers.

import { afterEach, describe, expect, it } from 'vitest';
import { A, B, closeAll, connectAll, connected, freePort, heartbeat, sleep, startMember, waitFor } from './helpers.js';

afterEach(closeAll);

describe('setPeers', () => {
  it('removing a peer closes both connections, drops its queue, and refuses it afterwards', async () => {
    const [a, b] = await Promise.all([startMember(A), startMember(B)]);
    connectAll([a, b]);
    await waitFor(() => connected(a, B) && connected(b, A), 'connected both ways');

    a.transport.setPeers(new Map());
    expect([...a.transport.stats().keys()]).toEqual([]);
    expect(a.statuses.at(-1)).toEqual({ peer: B, connected: false });
    await waitFor(() => !connected(b, A), 'B loses its connection to A');
    const lost = b.logs.find((l) => l.text === 'lost connection to peer');
    expect(lost?.fields?.['reason']).toBe('closed by the peer (code 4002: removed from the membership)');
    // B redials; A no longer knows it.
    await waitFor(() => a.transport.faults().refusedDials > 0, 'A refuses B');
    b.transport.send([heartbeat(B, A, 1)]);
    a.transport.send([heartbeat(A, B, 1)]);
    await sleep(100);
    expect(a.received).toEqual([]);
    expect(b.received).toEqual([]);
    expect(a.transport.faults().unroutableMessages).toBe(1);

    // Adding it back restores both directions.
    a.transport.setPeers(new Map([[B, [b.url]]]));
    await waitFor(() => connected(a, B) && connected(b, A), 'connected again', 5000);
    a.transport.send([heartbeat(A, B, 2)]);
    b.transport.send([heartbeat(B, A, 2)]);
    await waitFor(() => a.received.length >= 1 && b.received.some((m) => (m as { commit: number }).commit === 2), 'delivery after re-adding');
  });

  it('a removed peer\'s queued messages are dropped, not sent to a later peer of the same ID', async () => {
    const dead = await freePort();
    const a = await startMember(A);
    a.transport.setPeers(new Map([[B, [`http://127.0.0.1:${dead}`]]]));
    a.transport.send([heartbeat(A, B, 1), heartbeat(A, B, 2)]);
    expect(a.transport.stats().get(B)!.queuedMessages).toBe(2);
    a.transport.setPeers(new Map());
    const b = await startMember(B);
    b.transport.setPeers(new Map([[A, [a.url]]]));
    a.transport.setPeers(new Map([[B, [b.url]]]));
    await waitFor(() => connected(a, B), 'connected to the new B');
    expect(a.transport.stats().get(B)).toMatchObject({ queuedMessages: 0, sentMessages: 0 });
    await sleep(50);
    expect(b.received).toEqual([]);
  });

  it('moves to a peer\'s new URL at once, without waiting for the backoff', async () => {
    const dead = await freePort();
    const a = await startMember(A, { limits: { reconnectMinMs: 5000, reconnectMaxMs: 10_000 } });
    const b = await startMember(B);
    b.transport.setPeers(new Map([[A, [a.url]]]));
    a.transport.setPeers(new Map([[B, [`http://127.0.0.1:${dead}`]]]));
    await waitFor(() => a.logs.some((l) => l.text === 'redialling peer'), 'the first dial failed');
    a.transport.setPeers(new Map([[B, [b.url]]]));
    await waitFor(() => connected(a, B), 'connected on the new URL', 1000);
  });

  it('ignores this member\'s own ID among the peers', async () => {
    const a = await startMember(A);
    a.transport.setPeers(new Map([[A, [a.url]]]));
    expect(a.transport.stats().size).toBe(0);
  });
});
