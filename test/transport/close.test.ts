// close(): what it ends, and that nothing is left running. In a file of its own, so that the handles counted
// before are this process's alone and not a previous test's that are still being released.

import { afterEach, describe, expect, it } from 'vitest';
import { A, B, C, D, closeAll, connectAll, connected, freePort, heartbeat, sleep, startMember, waitFor } from './helpers.js';

afterEach(closeAll);

describe('close', () => {
  it('leaves no handle open: listeners, sockets, timers and immediates are all gone', async () => {
    const kinds = ['TCPServerWrap', 'TCPSocketWrap', 'Timeout', 'Immediate'];
    const count = () => {
      const all = process.getActiveResourcesInfo();
      return Object.fromEntries(kinds.map((kind) => [kind, all.filter((k) => k === kind).length]));
    };
    await sleep(20);
    const before = count();
    const members = await Promise.all([startMember(A, { limits: { reconnectMinMs: 1000 } }), startMember(B), startMember(C)]);
    connectAll(members);
    // And a peer that is down, so that a redial timer is pending, and messages queued and in flight.
    const dead = await freePort();
    members[0]!.transport.setPeers(new Map([[B, [members[1]!.url]], [C, [members[2]!.url]], [D, [`http://127.0.0.1:${dead}`]]]));
    await waitFor(() => connected(members[0]!, B) && connected(members[0]!, C) && connected(members[1]!, A), 'connections up');
    for (const member of members) member.transport.send(members.filter((m) => m !== member).map((m) => heartbeat(member.id, m.id, 1)));
    expect(count()['TCPSocketWrap']).toBeGreaterThan(before['TCPSocketWrap']!);

    await Promise.all(members.map((m) => m.transport.close()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(count()).toEqual(before);
  });

  it('is idempotent, and send and setPeers after it do nothing', async () => {
    const a = await startMember(A);
    const first = a.transport.close();
    const second = a.transport.close();
    expect(second).toBe(first);
    await first;
    expect(() => a.transport.send([heartbeat(A, B, 1)])).not.toThrow();
    a.transport.setPeers(new Map([[B, ['http://127.0.0.1:1']]]));
    expect(a.transport.stats().size).toBe(0);
    await a.transport.close();
  });
});
