// Watches on a real 3-member cluster: `conclavectl watch` and a client watch on every member see every put of the
// prefix exactly once and in order while the member the ctl watch talks to is killed with -9 (it resumes on
// another member from the next revision) and the leader is killed too; and while a partition isolates the leader
// and then a follower (through the members' /debug/peer-faults, which --unsafe-peer-fault-injection turns on).
// At the end each watcher's sequence equals the committed history of the prefix from its start.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type WatchBatch } from '../../src/client/index.js';
import { ctlBin } from '../support/ctl.js';
import { eventually, postJson, put, statusOf, waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

const ELECTION_MS = 500;
let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: 50, electionTimeoutMs: ELECTION_MS, logLevel: 'warn', extraFlags: ['--unsafe-peer-fault-injection=true'] });
  const leader = await waitForLeader(cluster.endpoints, 15_000);
  await waitForMembersPublished(leader, 3, 15_000);
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

/** Puts w/from, ... through whichever member answers, retrying a put whose member went away (a retried put may apply twice: both are then in the history). */
async function putSome(from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    await eventually(`put w/${i}`, async () => {
      for (const endpoint of cluster.endpoints) {
        try {
          if ((await put(endpoint, `w/${i}`, `v${i}`)).status === 200) return true;
        } catch {
          // That member is down: the next one.
        }
      }
      return null;
    }, 60 * ELECTION_MS);
  }
}

describe('watches on a real cluster', () => {
  it('deliver every committed put of a prefix once, in order, across kill -9 of the watched member and of the leader', async () => {
    const first = cluster.members[0]!;
    const leaderUrl = await waitForLeader(cluster.endpoints, 10_000);
    // The ctl watch talks to member 1 first, and may move to the others.
    const endpoints = [first.clientUrl, ...cluster.endpoints.filter((e) => e !== first.clientUrl)].join(',');
    const watcher = spawn(process.execPath, [ctlBin(), '--endpoints', endpoints, 'watch', '--prefix', 'w/', '--rev', '1', '-w', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    watcher.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    watcher.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));

    // A client watch on each member, from revision 1 (the whole history).
    const clients = cluster.endpoints.map((endpoint) => new Client({ endpoints: [endpoint, ...cluster.endpoints.filter((e) => e !== endpoint)] }));
    const seen: string[][] = clients.map(() => []);
    const stop = new AbortController();
    const loops = clients.map(async (client, i) => {
      for await (const batch of client.watch('w/', { prefix: true, startRevision: 1, signal: stop.signal }) as AsyncIterable<WatchBatch>) {
        for (const event of batch.events) seen[i]!.push(`${Buffer.from(event.kv.key).toString()}=${Buffer.from(event.kv.value).toString()}@${event.kv.modRevision}`);
      }
    });

    await new Promise((resolve) => setTimeout(resolve, 500));
    // A writer puts all along, so that there are writes while each watch is cut off and resuming.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      // At least 25 puts, however slow the machine: the checks below need a history to compare.
      while (writing || written < 25) {
        await putSome(written, 1);
        written++;
      }
    })();
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await pause(300);
    await cluster.kill(first);
    await pause(400);
    cluster.spawn(first, 'new');
    const leader = cluster.members.find((m) => m.clientUrl === leaderUrl)!;
    await pause(400);
    if (leader !== first) await cluster.kill(leader);
    await pause(400);
    if (leader !== first) cluster.spawn(leader, 'new');
    await pause(400);
    writing = false;
    await writer;
    const total = written;

    // The committed history of the prefix, from a member that is up.
    const history = await eventually('the history', async () => {
      for (const endpoint of cluster.endpoints) {
        try {
          const reader = new Client({ endpoints: [endpoint] });
          const range = await reader.get('w/', { prefix: true });
          reader.close();
          return { revision: range.header.revision, count: range.response.count };
        } catch {
          // Not up.
        }
      }
      return null;
    }, 10_000);
    expect(history.count).toBe(total);
    expect(total).toBeGreaterThan(20);

    // Every watcher catches up to the last revision and holds the same sequence: the puts in revision order.
    const done = await eventually('every client watcher caught up', async () => {
      const last = seen.map((list) => Number(list[list.length - 1]?.split('@')[1] ?? 0));
      return last.every((revision) => revision >= history.revision) ? seen : null;
    }, 15_000);
    for (const list of done) {
      expect(list).toEqual(done[0]);
      const revisions = list.map((line) => Number(line.split('@')[1]));
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
      expect(new Set(revisions).size).toBe(revisions.length);
    }
    const keys = new Set(done[0]!.map((line) => line.split('=')[0]));
    for (let i = 0; i < total; i++) expect(keys.has(`w/${i}`)).toBe(true);

    const ctlEvents = await eventually('the ctl watch caught up', async () => {
      const lines = out.split('\n').filter((line) => line !== '');
      const events = lines.flatMap((line) => (JSON.parse(line) as { events: { kv: { key: string; value: string; mod_revision: string } }[] }).events);
      const shown = events.map((e) => `${Buffer.from(e.kv.key, 'base64').toString()}=${Buffer.from(e.kv.value, 'base64').toString()}@${e.kv.mod_revision}`);
      return Number(shown[shown.length - 1]?.split('@')[1] ?? 0) >= history.revision ? shown : null;
    }, 15_000).catch((error: Error) => {
      throw new Error(`${error.message}; ctl stderr: ${err}`);
    });
    expect(ctlEvents).toEqual(done[0]);

    stop.abort();
    watcher.kill('SIGINT');
    await Promise.allSettled(loops);
    for (const client of clients) client.close();
    await new Promise((resolve) => watcher.once('exit', resolve));
  }, 90_000);

  it('deliver the committed history of a prefix, no more and nothing else, while a partition isolates the leader and then a follower', async () => {
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const ids = await Promise.all(cluster.endpoints.map(async (endpoint) => (await varsOf(endpoint)).member));
    const cut = (endpoint: string, peers: readonly string[]) => postJson(endpoint, '/debug/peer-faults', { cut: peers }, 2000);
    const others = (i: number) => ids.filter((_, j) => j !== i);
    const start = (await postJson(cluster.endpoints[0]!, '/v3/kv/range', { key: Buffer.from('p/').toString('base64') })).body['header'] as { revision: string };
    const startRevision = Number(start.revision) + 1;

    // On every member, a watch pinned to it (it stays there through the partition) and one that may fail over.
    const watchers = cluster.endpoints.flatMap((endpoint) => [
      { endpoint, client: new Client({ endpoints: [endpoint] }) },
      { endpoint, client: new Client({ endpoints: [endpoint, ...cluster.endpoints.filter((e) => e !== endpoint)] }) },
    ]);
    const seen: string[][] = watchers.map(() => []);
    const stop = new AbortController();
    const loops = watchers.map(async ({ client }, i) => {
      for await (const batch of client.watch('p/', { prefix: true, startRevision, signal: stop.signal }) as AsyncIterable<WatchBatch>) {
        for (const event of batch.events) seen[i]!.push(shown(event));
      }
    });
    await pause(500);

    // A writer puts all along through whichever member answers quickly (an isolated one does not).
    let writing = true;
    let written = 0;
    const writer = (async () => {
      // At least 25 puts, however slow the machine: the checks below need a history to compare.
      while (writing || written < 25) {
        for (let k = 0; k < cluster.endpoints.length; k++) {
          const endpoint = cluster.endpoints[(written + k) % cluster.endpoints.length]!;
          const reply = await postJson(endpoint, '/v3/kv/put', { key: b64(`p/${written}`), value: b64(`v${written}`) }, 1000).catch(() => null);
          if (reply?.status === 200) break;
        }
        written++;
      }
    })();
    await pause(300);

    // The leader is cut off from both peers: it can commit nothing, and the two others elect a new leader.
    const leaderUrl = await waitForLeader(cluster.endpoints, 10_000);
    const leader = cluster.endpoints.indexOf(leaderUrl);
    expect((await cut(leaderUrl, others(leader))).status).toBe(200);
    // Writes sent to the isolated leader itself: it must not acknowledge them, nor show them to its watchers.
    const isolatedPuts = Promise.all([0, 1, 2].map((n) => postJson(leaderUrl, '/v3/kv/put', { key: b64(`p/isolated-${n}`), value: b64('never') }, 1500).catch(() => null)));
    const majority = cluster.endpoints.filter((e) => e !== leaderUrl);
    const isolatedId = BigInt(`0x${ids[leader]!}`).toString();
    await eventually('a new leader among the majority', async () => {
      for (const endpoint of majority) {
        const status = await statusOf(endpoint);
        if (status !== null && status.leader === status.memberId && status.leader !== isolatedId) return true;
      }
      return null;
    }, 20 * ELECTION_MS, () => cluster.logs());
    await pause(500);
    const isolatedSeen = watchers.map((w, i) => (w.endpoint === leaderUrl ? [...seen[i]!] : null));
    for (const reply of await isolatedPuts) expect(reply?.status ?? 0).not.toBe(200);
    expect((await cut(leaderUrl, [])).status).toBe(200);
    await pause(500);

    // Then a follower is isolated for a while and healed: it falls behind, then catches up.
    const newLeaderUrl = await waitForLeader(cluster.endpoints, 10_000);
    const follower = cluster.endpoints.findIndex((e) => e !== newLeaderUrl);
    expect((await cut(cluster.endpoints[follower]!, others(follower))).status).toBe(200);
    await pause(1000);
    const faults = (await fetch(new URL('/debug/peer-faults', cluster.endpoints[follower])).then((r) => r.json())) as { cut: string[]; dropped_messages: number };
    expect(faults.cut).toEqual([...others(follower)].sort());
    expect(faults.dropped_messages).toBeGreaterThan(0);
    expect((await cut(cluster.endpoints[follower]!, [])).status).toBe(200);
    await pause(500);
    writing = false;
    await writer;

    // The committed history of the prefix from startRevision: replayed by a healthy member, and checked against
    // a range of the prefix (each key's events are as many as its version, from its creation to its last change).
    const range = await eventually('the prefix read through the leader', async () => {
      const reply = await postJson(await waitForLeader(cluster.endpoints, 5000), '/v3/kv/range', { key: b64('p/'), range_end: b64('p0') }, 2000);
      return reply.status === 200 ? (reply.body['kvs'] as { key: string; create_revision: string; mod_revision: string; version: string }[]) : null;
    }, 10_000);
    const lastRevision = Math.max(...range.map((kv) => Number(kv.mod_revision)));
    const history = await collect(cluster.endpoints[(follower + 1) % 3]!, startRevision, lastRevision);
    const byKey = new Map<string, number[]>();
    for (const line of history) {
      const { key, revision } = parsed(line);
      byKey.set(key, [...(byKey.get(key) ?? []), revision]);
    }
    expect([...byKey.keys()].sort()).toEqual(range.map((kv) => Buffer.from(kv.key, 'base64').toString()).sort());
    for (const kv of range) {
      const revisions = byKey.get(Buffer.from(kv.key, 'base64').toString())!;
      expect(revisions.length).toBe(Number(kv.version));
      expect(revisions[0]).toBe(Number(kv.create_revision));
      expect(revisions[revisions.length - 1]).toBe(Number(kv.mod_revision));
    }
    expect(history.some((line) => line.includes('isolated'))).toBe(false);
    expect(written).toBeGreaterThan(20);

    // What the isolated leader's watchers had while it was cut off is a prefix of the committed history; at the
    // end every watcher, the isolated members' too, holds exactly the history: no gap, no duplicate, no reorder.
    for (const before of isolatedSeen) if (before !== null) expect(history.slice(0, before.length)).toEqual(before);
    const done = await eventually('every watcher caught up', async () => (seen.every((list) => list.length >= history.length) ? seen : null), 15_000);
    for (const list of done) expect(list).toEqual(history);

    stop.abort();
    await Promise.allSettled(loops);
    for (const { client } of watchers) client.close();
  }, 60_000);
});

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** An event as the test compares them: type, key, value and revision. */
function shown(event: WatchBatch['events'][number]): string {
  return `${event.type} ${Buffer.from(event.kv.key).toString()}=${Buffer.from(event.kv.value).toString()}@${event.kv.modRevision}`;
}

function parsed(line: string): { key: string; revision: number } {
  const [, rest = ''] = line.split(' ');
  return { key: rest.slice(0, rest.indexOf('=')), revision: Number(rest.slice(rest.lastIndexOf('@') + 1)) };
}

async function varsOf(endpoint: string): Promise<{ member: string }> {
  return (await (await fetch(new URL('/debug/vars', endpoint))).json()) as { member: string };
}

/** The events of the prefix from `from` through `through`, replayed by one member. */
async function collect(endpoint: string, from: number, through: number): Promise<string[]> {
  const client = new Client({ endpoints: [endpoint] });
  const stop = new AbortController();
  const events: string[] = [];
  try {
    for await (const batch of client.watch('p/', { prefix: true, startRevision: from, signal: stop.signal }) as AsyncIterable<WatchBatch>) {
      for (const event of batch.events) events.push(shown(event));
      if (batch.header.revision >= through && events.length > 0 && parsed(events[events.length - 1]!).revision >= through) break;
    }
  } finally {
    stop.abort();
    client.close();
  }
  return events;
}
