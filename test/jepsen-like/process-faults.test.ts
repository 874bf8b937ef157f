// The process faults' mechanisms on a real three-member cluster, as the jepsen-like harness starts it (with the
// clock preload and the fsync shim): a member removed and added back as a new member while clients carry on; a
// follower whose fsyncs stall falls behind while the others commit, a write sent through it waits, and both go
// through once it is released; a leader whose clock jumps past a lease's TTL does not expire it early.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JepsenCluster } from '../../jepsen-like/cluster.js';
import { addBack, removeMember } from '../../jepsen-like/faults/membership.js';
import { Client } from '../../src/client/index.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-process-faults-'));
let cluster: JepsenCluster;
let client: Client;
const text = new TextEncoder();
const bytes = (value: string) => text.encode(value);
const decoded = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  cluster = await JepsenCluster.start({ nodes: 3, dir, heartbeatIntervalMs: 50, electionTimeoutMs: 500, readyTimeoutMs: 30_000, target: 'conclave', clock: true, fsyncStall: true });
  client = new Client({ endpoints: cluster.endpoints, requestTimeoutMs: 2000, dialTimeoutMs: 1000 });
}, 60_000);

afterAll(async () => {
  client?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function leader(): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const name = await cluster.leader();
    if (name !== null) return name;
    await sleep(100);
  }
  throw new Error(`no leader\n${cluster.logs()}`);
}

/** The value of `key` as member `name` has applied it (a serializable read on its own endpoint). */
async function localValue(name: string, key: string): Promise<string | undefined> {
  const result = await client.range({ key: bytes(key), serializable: true }, { endpoint: cluster.clientUrlOf(name), timeoutMs: 1000 });
  return decoded(result.response.kvs[0]?.value);
}

async function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    await sleep(100);
  }
  throw new Error(`${what} within ${timeoutMs} ms\n${cluster.logs()}`);
}

describe('process faults on a real cluster', () => {
  it('removes the leader through the member API and adds it back as a new member, clients failing over meanwhile', async () => {
    const target = await leader();
    const oldId = cluster.idOf(target);
    expect(await removeMember(cluster, target)).toBe(oldId);
    const listed = (await client.memberList()).response.members;
    expect(listed.map((m) => m.id).sort()).toEqual(cluster.current.map((n) => cluster.idOf(n)).sort());
    expect(listed.some((m) => m.id === oldId)).toBe(false);
    expect(listed).toHaveLength(2);
    // The client's endpoint list still names the removed member: its requests go to the others.
    await eventually('a write while a member is out', async () => ((await client.put(bytes('during-removal'), bytes('yes'))).response ? true : null));

    const added = await addBack(cluster, target);
    expect(added.serving).toBe(true);
    expect(added.id).not.toBe(oldId);
    expect(cluster.idOf(target)).toBe(added.id);
    const after = (await client.memberList()).response.members;
    expect(after).toHaveLength(3);
    expect(after.find((m) => m.id === added.id)?.peerUrls).toEqual([added.peerUrl]);
    // The new member, on an empty data directory, has the write made while it was out.
    expect(await eventually('the added member caught up', async () => ((await localValue(target, 'during-removal')) === 'yes' ? true : null))).toBe(true);
    expect(cluster.exited).toEqual([]);
  }, 60_000);

  it("stalls one follower's fsyncs: it falls behind while the others commit, and catches up once released", async () => {
    const lead = await leader();
    const follower = cluster.current.find((n) => n !== lead)!;
    const stall = cluster.fsyncStall!;
    stall.stall(follower);
    let throughStalled: Promise<unknown> = Promise.resolve();
    try {
      await client.put(bytes('while-stalled'), bytes('committed'));
      expect(await localValue(lead, 'while-stalled')).toBe('committed');
      // A write sent to the stalled member answers only once that member has applied it.
      throughStalled = client.call('put', { key: bytes('through-stalled'), value: bytes('late') }, { endpoint: cluster.clientUrlOf(follower), timeoutMs: 15_000 });
      const early = await Promise.race([throughStalled.then(() => 'answered', () => 'failed'), sleep(1000).then(() => 'still waiting')]);
      expect(early).toBe('still waiting');
      expect(await localValue(follower, 'while-stalled')).toBeUndefined();
    } finally {
      expect(stall.release(follower)).toBe(true);
    }
    await throughStalled;
    expect(await localValue(follower, 'through-stalled')).toBe('late');
    expect(await eventually('the stalled follower caught up', async () => ((await localValue(follower, 'while-stalled')) === 'committed' ? true : null))).toBe(true);
  }, 60_000);

  it("a leader whose monotonic clock jumps past a lease's TTL does not expire it: its lease clock holds to the quorum's", async () => {
    const lease = (await client.leaseGrant(60)).response.id;
    await client.put(bytes('leased'), bytes('held'), { lease });
    expect((await client.leaseTimeToLive(lease)).response.ttl).toBeGreaterThan(30);
    const lead = await leader();
    const clockOf = async () => ((await (await fetch(new URL('/debug/vars', cluster.clientUrlOf(lead)))).json()) as { clock: { monotonicMs: number; lease: { leaseMs: number } } }).clock;
    const before = await clockOf();
    cluster.clock!.set(lead, { wallOffsetMs: 0, monotonicOffsetMs: 90_000, rate: 1 });
    try {
      // The fault took: the member's monotonic clock is 90 s ahead...
      const jumped = await eventually('the monotonic clock jumped', async () => {
        const now = await clockOf();
        return now.monotonicMs - before.monotonicMs > 90_000 ? now : null;
      });
      // ...but its lease clock moved with real time (within the tolerance), and the lease lives on.
      expect(jumped.lease.leaseMs - before.lease.leaseMs).toBeLessThan(jumped.monotonicMs - before.monotonicMs - 80_000);
      await sleep(1000);
      expect((await client.leaseTimeToLive(lease)).response.ttl).toBeGreaterThan(30);
      expect(decoded((await client.get(bytes('leased'))).response.kvs[0]?.value)).toBe('held');
    } finally {
      cluster.clock!.reset(lead);
    }
  }, 60_000);
});
