// Raft over lossy links: a member cut off while the others wrote past their log's compaction point catches up by a
// snapshot of several chunks streamed through front doors that drop whole WebSocket messages both ways (chunks and
// their acknowledgements alike). The follower keeps chunks only in order (src/raft/snapshot-receiver.ts) and the
// leader resends from the acknowledged offset after a stall: the transfer must still complete, and the member end
// with the others' state.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberIdOf } from '../../src/server/ids.js';
import { PeerNetwork } from '../../jepsen-like/proxy.js';
import { distinctStates, eventually, get, put, waitForLeader } from '../support/http-json.js';
import { CLUSTER_TOKEN, ProcessCluster } from '../support/process-cluster.js';

let cluster: ProcessCluster;
const network = new PeerNetwork();

beforeAll(async () => {
  cluster = await ProcessCluster.start({
    heartbeatIntervalMs: 50,
    electionTimeoutMs: 500,
    extraFlags: ['--snapshot-count=500'],
    frontDoor: (name, peerPort) => network.add(name, peerPort),
  });
  for (const m of cluster.members) network.setMemberId(m.name, memberIdOf([m.advertisedPeerUrl], CLUSTER_TOKEN));
  await waitForLeader(cluster.endpoints, 15_000);
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
  await network.close();
});

interface Vars {
  storage: { snapshotsTaken: number; snapshotsInstalled: number };
}

const varsOf = async (endpoint: string): Promise<Vars> => (await fetch(new URL('/debug/vars', endpoint))).json() as Promise<Vars>;

describe('catching up by snapshot over lossy links', () => {
  it('installs a multi-chunk snapshot through links that drop half the messages both ways, and ends with the same state', async () => {
    const [first, second, lagging] = cluster.members;
    if (lagging === undefined || first === undefined || second === undefined) throw new Error('three members expected');
    const others = [first.name, second.name];
    network.partition([[lagging.name], others]);
    const leader = await waitForLeader([first.clientUrl, second.clientUrl], 10_000);
    // Past the log kept behind a snapshot (storageLimits.snapshotCatchUpEntries, 5,000), and several 1 MiB chunks.
    const total = 6500;
    const value = (i: number) => `value-${i}-`.padEnd(600, 'x');
    let next = 0;
    const writer = async () => {
      for (let i = next++; i < total; i = next++) {
        const reply = await put(leader, `bulk/${String(i).padStart(5, '0')}`, value(i));
        if (reply.status !== 200) throw new Error(`put ${i}: ${JSON.stringify(reply.body)}`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, writer));
    expect((await varsOf(leader)).storage.snapshotsTaken).toBeGreaterThan(0);

    network.healAll();
    const lossy = { delayMs: 0, jitterMs: 0, lossProbability: 0.5 };
    for (const other of others) {
      network.setFault(other, lagging.name, lossy);
      network.setFault(lagging.name, other, lossy);
    }
    await eventually('the lagging member installed a snapshot', async () => ((await varsOf(lagging.clientUrl)).storage.snapshotsInstalled > 0 ? true : null), 60_000, () => cluster.logs());
    const last = await eventually('the lagging member caught up', async () => {
      const read = await get(lagging.clientUrl, `bulk/${String(total - 1).padStart(5, '0')}`, { serializable: true });
      return read.value;
    }, 30_000, () => cluster.logs());
    expect(last).toBe(value(total - 1));
    const dropped = Object.values(network.stats()).reduce((sum, door) => sum + door.framesDropped, 0);
    expect(dropped).toBeGreaterThan(0);
    network.healAll();
    expect(await distinctStates(cluster.endpoints, 15_000, () => cluster.logs())).toEqual({ kv: 1, state: 1 });
  }, 120_000);
});
