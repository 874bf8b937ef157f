// PeerFaults: a cut drops Raft messages both ways and counts them; a heal lets them through again at once.

import { afterEach, describe, expect, it } from 'vitest';
import { PeerFaults } from '../../src/transport/index.js';
import { A, B, closeAll, connectAll, connected, heartbeat, startMember, waitFor } from './helpers.js';

afterEach(closeAll);

describe('PeerFaults', () => {
  it('drops what goes to and comes from a cut peer, counted, and nothing once healed', async () => {
    const faults = new PeerFaults();
    const [a, b] = await Promise.all([startMember(A, { faults }), startMember(B)]);
    connectAll([a, b]);
    await waitFor(() => connected(a, B) && connected(b, A), 'connected both ways');

    faults.cutOff([B]);
    expect(faults.cutPeers).toEqual([B]);
    a.transport.send([heartbeat(A, B, 1)]);
    expect(faults.droppedMessages).toBe(1);
    b.transport.send([heartbeat(B, A, 2)]);
    await waitFor(() => faults.droppedMessages === 2, 'A drops what B sent');
    expect(a.received).toEqual([]);

    faults.cutOff([]);
    a.transport.send([heartbeat(A, B, 3)]);
    b.transport.send([heartbeat(B, A, 4)]);
    await waitFor(() => a.received.length === 1 && b.received.length === 1, 'both heartbeats through');
    expect(a.received[0]).toMatchObject({ from: B, commit: 4 });
    expect(b.received).toEqual([expect.objectContaining({ from: A, commit: 3 })]);
    expect(faults.droppedMessages).toBe(2);
  });
});
