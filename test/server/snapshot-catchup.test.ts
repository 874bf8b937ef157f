// A member that was down while the others wrote past their log's compaction point catches up by a snapshot streamed
// over the real peer transport, and ends with the same state as the others.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { distinctStates, eventually, get, put, waitForLeader } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: 50, electionTimeoutMs: 500, extraFlags: ['--snapshot-count=500'] });
  await waitForLeader(cluster.endpoints, 15_000);
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
});

interface Vars {
  storage: { snapshotsTaken: number; snapshotsInstalled: number; compactions: number };
}

const varsOf = async (endpoint: string): Promise<Vars> => (await fetch(new URL('/debug/vars', endpoint))).json() as Promise<Vars>;

describe('catching up by snapshot', () => {
  it('streams a snapshot to a member that fell behind the compacted log, which then serves the same state', async () => {
    const lagging = cluster.members[2];
    if (lagging === undefined) throw new Error('three members expected');
    await cluster.kill(lagging);
    const live = cluster.endpoints.filter((e) => e !== lagging.clientUrl);
    const leader = await waitForLeader(live, 5000);
    // More entries than the log keeps behind a snapshot (storageLimits.snapshotCatchUpEntries, 5,000).
    const total = 6500;
    let next = 0;
    const writer = async () => {
      for (let i = next++; i < total; i = next++) {
        const reply = await put(leader, `bulk/${String(i).padStart(5, '0')}`, `value-${i}`);
        if (reply.status !== 200) throw new Error(`put ${i}: ${JSON.stringify(reply.body)}`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, writer));
    const leaderVars = await varsOf(leader);
    expect(leaderVars.storage.snapshotsTaken).toBeGreaterThan(0);
    expect(leaderVars.storage.compactions).toBeGreaterThan(0);

    cluster.spawn(lagging, 'new');
    // A watch on the lagging member from the first revision, opened as soon as it listens (most likely before the
    // snapshot replaces its state): it must deliver every put once, in order, across the install.
    const watcher = new Client({ endpoints: [lagging.clientUrl], dialTimeoutMs: 500 });
    const watched: string[] = [];
    const stopWatch = new AbortController();
    const watching = (async () => {
      for await (const batch of watcher.watch('bulk/', { prefix: true, startRevision: 2, signal: stopWatch.signal })) {
        for (const event of batch.events) watched.push(Buffer.from(event.kv.key).toString());
      }
    })();
    await eventually('the lagging member installed a snapshot', async () => ((await varsOf(lagging.clientUrl)).storage.snapshotsInstalled > 0 ? true : null), 30_000, () => cluster.logs());
    const last = await eventually('the lagging member caught up', async () => {
      const read = await get(lagging.clientUrl, `bulk/${String(total - 1).padStart(5, '0')}`, { serializable: true });
      return read.value;
    }, 30_000, () => cluster.logs());
    expect(last).toBe(`value-${total - 1}`);
    expect((await get(lagging.clientUrl, 'bulk/00000', { serializable: true })).value).toBe('value-0');
    // The installed snapshot and the log since give the same state as the others': the store and every record.
    expect(await distinctStates(cluster.endpoints, 15_000, () => cluster.logs())).toEqual({ kv: 1, state: 1 });
    await eventually('the watch on the lagging member delivered every put', async () => (watched.length >= total ? true : null), 15_000);
    stopWatch.abort();
    await watching;
    watcher.close();
    // The puts went in concurrently, so their revision order is not their key order: each key once is the check.
    expect(watched).toHaveLength(total);
    expect(new Set(watched).size).toBe(total);
  }, 90_000);
});
