// Three real `conclave` processes on loopback, driven through the HTTP API: they elect a leader and serve; writes on
// any member are applied everywhere; the leader killed with -9 in the middle of writes loses no acknowledged write and
// a new leader serves within a few election timeouts; the killed member restarts on its data and catches up; a
// graceful stop hands leadership over at once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, distinctStates, get, postJson, put, statusOf, unb64, waitForLeader, eventually as eventuallyWith } from '../support/http-json.js';
import { prefixEnd } from '../../src/client/keys.js';
import { ctl } from '../support/ctl.js';
import { freePort, ProcessCluster, type ProcessMember } from '../support/process-cluster.js';

const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;

let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_MS });
  await waitForLeader(cluster.endpoints, 15_000).catch((error: Error) => {
    throw new Error(`${error.message}\n${cluster.logs()}`);
  });
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
});

const memberAt = (endpoint: string): ProcessMember => cluster.members.find((m) => m.clientUrl === endpoint) as ProcessMember;

/** Every key under `prefix` as member `endpoint` serves it locally. */
async function dump(endpoint: string, prefix: string): Promise<{ revision: number; kvs: [string, string][] }> {
  const rangeEnd = Buffer.from(prefixEnd(Buffer.from(prefix))).toString('base64');
  const { body } = await postJson(endpoint, '/v3/kv/range', { key: b64(prefix), range_end: rangeEnd, serializable: true });
  const kvs = ((body['kvs'] as { key: string; value: string }[] | undefined) ?? []).map((kv) => [unb64(kv.key), unb64(kv.value)] as [string, string]);
  return { revision: Number((body['header'] as { revision: string }).revision), kvs };
}

function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  return eventuallyWith(what, probe, timeoutMs, () => cluster.logs());
}

describe('a three-member cluster of conclave processes', () => {
  it('agrees on one leader and reports healthy on every member', async () => {
    // A member learns who won from the winner's first heartbeat, a moment after the winner knows: agreement is
    // eventual (a fresh clone's CI caught this race), but it must come, and on one of the members.
    const statuses = await eventually('every member naming the same leader', async () => {
      const all = await Promise.all(cluster.endpoints.map(statusOf));
      return new Set(all.map((s) => s?.leader)).size === 1 && all.every((s) => s !== null && s.leader !== '') ? all : null;
    }, 5000);
    const leaders = new Set(statuses.map((s) => s?.leader));
    expect(leaders.size).toBe(1);
    expect(statuses.map((s) => s?.memberId)).toContain([...leaders][0]);
    for (const endpoint of cluster.endpoints) {
      const health = await eventually('health', async () => {
        const response = await fetch(new URL('/health', endpoint));
        const body = (await response.json()) as { health: string };
        return body.health === 'true' ? body : null;
      }, 5000);
      expect(health).toEqual({ health: 'true', reason: '' });
    }
  });

  it('lists its members with the names and URLs they published', async () => {
    const members = await eventually('every member published its name', async () => {
      const { body } = await postJson(cluster.endpoints[0] as string, '/v3/cluster/member/list', {});
      const list = body['members'] as { name?: string; peerURLs: string[]; clientURLs?: string[] }[];
      return list.every((m) => m.name !== undefined && m.clientURLs !== undefined) ? list : null;
    }, 10_000);
    expect(members.map((m) => m.name).sort()).toEqual(['n1', 'n2', 'n3']);
    for (const member of cluster.members) {
      const listed = members.find((m) => m.name === member.name);
      expect(listed?.peerURLs).toEqual([member.peerUrl]);
      expect(listed?.clientURLs).toEqual([member.clientUrl]);
    }
  });

  it('applies a write made on a follower everywhere, and serves it linearizably from every member', async () => {
    const leader = await waitForLeader(cluster.endpoints, 5000);
    const follower = cluster.endpoints.find((e) => e !== leader) as string;
    const reply = await put(follower, 'greeting', 'hello');
    expect(reply.status).toBe(200);
    const revision = Number((reply.body['header'] as { revision: string }).revision);
    for (const endpoint of cluster.endpoints) {
      const read = await get(endpoint, 'greeting');
      expect(read.value).toBe('hello');
      expect(read.revision).toBeGreaterThanOrEqual(revision);
    }
  });

  it('is driven by conclavectl: put, get, del, txn from stdin, member list, endpoint status and health, with failover', async () => {
    // The first endpoint is dead: conclavectl moves on to the next one.
    const endpoints = [`http://127.0.0.1:${await freePort()}`, ...cluster.endpoints].join(',');
    expect(await ctl(['--endpoints', endpoints, 'put', 'ctl/a', '1'])).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
    expect((await ctl(['--endpoints', endpoints, 'put', 'ctl/b', '2'])).stdout).toBe('OK\n');
    expect((await ctl(['--endpoints', endpoints, 'get', 'ctl/', '--prefix'])).stdout).toBe('ctl/a\n1\nctl/b\n2\n');
    expect((await ctl(['--endpoints', endpoints, 'get', 'ctl/', '--prefix', '--keys-only', '--limit', '1'])).stdout).toBe('ctl/a\n\n');
    const json = JSON.parse((await ctl(['--endpoints', endpoints, 'get', 'ctl/a', '-w', 'json'])).stdout) as { kvs: { key: string; version: number }[]; count: number };
    expect(json.count).toBe(1);
    expect(Buffer.from(json.kvs[0]?.key ?? '', 'base64').toString()).toBe('ctl/a');
    const txn = await ctl(['--endpoints', endpoints, 'txn'], 'value("ctl/a") = "1"\n\nput ctl/a swapped\n\nget ctl/a\n\n');
    expect(txn).toEqual({ code: 0, stdout: 'SUCCESS\n\nOK\n', stderr: '' });
    expect((await ctl(['--endpoints', endpoints, 'get', 'ctl/a', '--print-value-only'])).stdout).toBe('swapped\n');
    expect((await ctl(['--endpoints', endpoints, 'del', 'ctl/', '--prefix'])).stdout).toBe('2\n');
    const list = await ctl(['--endpoints', endpoints, 'member', 'list']);
    expect(list.code).toBe(0);
    for (const member of cluster.members) expect(list.stdout).toMatch(new RegExp(`, started, ${member.name}, ${member.peerUrl}, ${member.clientUrl}, false`));
    const status = await ctl(['--endpoints', cluster.endpoints[0] as string, 'endpoint', 'status', '--cluster', '-w', 'table']);
    expect(status.code).toBe(0);
    for (const endpoint of cluster.endpoints) expect(status.stdout).toContain(endpoint);
    expect(status.stdout.match(/\| +true +\| +false +\|/g)?.length).toBe(1); // one leader, no learner
    const health = await ctl(['--endpoints', cluster.endpoints.join(','), 'endpoint', 'health']);
    expect(health.code).toBe(0);
    expect(health.stdout.split('\n').filter((line) => line.includes('is healthy: successfully committed proposal'))).toHaveLength(3);
    const bad = await ctl(['--endpoints', endpoints, 'get', 'ctl/a', '--rev', '999999']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^Error: etcdserver: mvcc: required revision is a future revision: revision 999999, the store is at \d+\n$/);
  }, 30_000);

  it('refuses bad input with a 4xx and changes nothing', async () => {
    const endpoint = cluster.endpoints[0] as string;
    const before = (await get(endpoint, 'greeting')).revision;
    const cases: [unknown, number][] = [
      ['{"key": "Zm9v", "value": ', 400],
      [{ key: 'not base64!', value: b64('x') }, 400],
      [{ key: b64('k'), value: 7 }, 400],
      [{ key: b64('k'), value: b64('x'), surprise: true }, 400],
      [{ key: b64('k'.repeat(20_000)), value: b64('x') }, 400],
      [{ key: b64('k'), value: Buffer.alloc(2 * 1024 * 1024).toString('base64') }, 400],
    ];
    for (const [body, status] of cases) {
      const reply = await postJson(endpoint, '/v3/kv/put', body);
      expect(reply.status, JSON.stringify(reply.body)).toBe(status);
      expect(typeof reply.body['error']).toBe('string');
      expect(typeof reply.body['code']).toBe('number');
    }
    expect((await get(endpoint, 'greeting')).revision).toBe(before);
    const emptyKey = await postJson(endpoint, '/v3/kv/range', {});
    expect(emptyKey.status).toBe(400);
    expect(emptyKey.body['error']).toBe('etcdserver: key is not provided');
    expect((await postJson(endpoint, '/v3/kv/nonsense', {})).status).toBe(404);
    expect((await fetch(new URL('/v3/kv/put', endpoint))).status).toBe(501);
  });

  it('loses no acknowledged write when the leader is killed with -9 mid-write, and elects a new leader within a few election timeouts', async () => {
    const leader = await waitForLeader(cluster.endpoints, 5000);
    const acknowledged = new Map<string, string>();
    let stop = false;
    let killedAt = 0;
    // Writers on every member (a follower forwards to the leader), each waiting for its write before the next.
    const writer = async (endpoint: string, id: number) => {
      for (let i = 0; !stop; i++) {
        const key = `acked/${id}/${i}`;
        try {
          const reply = await put(endpoint, key, `v${i}`);
          if (reply.status === 200) acknowledged.set(key, `v${i}`);
        } catch {
          // Connection refused by the killed member, or a timeout: not acknowledged, so not checked.
        }
      }
    };
    const writers = cluster.endpoints.flatMap((endpoint, m) => [0, 1, 2].map((w) => writer(endpoint, m * 10 + w)));
    await new Promise((resolve) => setTimeout(resolve, 700));
    const before = acknowledged.size;
    killedAt = Date.now();
    await cluster.kill(memberAt(leader));
    const survivors = cluster.endpoints.filter((e) => e !== leader);
    const newLeader = await waitForLeader(survivors, 10 * ELECTION_MS);
    // Writes go through again on the new leader.
    await eventually('a write on the new leader', async () => ((await put(newLeader, 'after-kill', 'yes')).status === 200 ? true : null), 10 * ELECTION_MS);
    const recoveredMs = Date.now() - killedAt;
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await Promise.all(writers);
    expect(before).toBeGreaterThan(20);
    expect(recoveredMs).toBeLessThan(6 * ELECTION_MS);
    for (const endpoint of survivors) {
      const { kvs } = await dump(endpoint, 'acked/');
      const held = new Map(kvs);
      const missing = [...acknowledged].filter(([key, value]) => held.get(key) !== value);
      expect(missing, `lost on ${endpoint}`).toEqual([]);
    }

    // The killed member restarts on its data and catches up to the same state.
    const killed = memberAt(leader);
    cluster.spawn(killed, 'new');
    const reference = await dump(newLeader, 'acked/');
    await eventually('the restarted member caught up', async () => {
      const mine = await dump(killed.clientUrl, 'acked/');
      return mine.revision >= reference.revision ? mine : null;
    }, 15_000).then((mine) => expect(mine.kvs).toEqual(reference.kvs));

    // The same log gives the same state on every member: equal digests of the store, and of the whole state.
    expect(await distinctStates(cluster.endpoints, 15_000, () => cluster.logs())).toEqual({ kv: 1, state: 1 });
  }, 60_000);

  it('hands leadership over at once when the leader is stopped gracefully', async () => {
    const leader = await waitForLeader(cluster.endpoints, 10_000);
    const termBefore = (await statusOf(leader))?.raftTerm ?? 0;
    const stoppedAt = Date.now();
    const exitCode = await cluster.kill(memberAt(leader), 'SIGTERM');
    const survivors = cluster.endpoints.filter((e) => e !== leader);
    const next = await waitForLeader(survivors, 10 * ELECTION_MS);
    const handoverMs = Date.now() - stoppedAt;
    expect(exitCode).toBe(0);
    expect((await statusOf(next))?.raftTerm).toBeGreaterThan(termBefore);
    // Without a transfer the followers would wait at least one election timeout before campaigning.
    expect(handoverMs).toBeLessThan(ELECTION_MS);
    cluster.spawn(memberAt(leader), 'new');
    await eventually('the stopped member serves again', async () => ((await get(leader, 'greeting', { serializable: true })).value === 'hello' ? true : null), 15_000);
  }, 30_000);
});
