// Watches on a real 3-member cluster: `conclavectl watch` and a client watch on every member see every put of the
// prefix exactly once and in order while the member the ctl watch talks to is killed with -9 (it resumes on
// another member from the next revision) and the leader is killed too; at the end each watcher's sequence
// equals the committed history of the prefix from its start.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type WatchBatch } from '../../src/client/index.js';
import { ctlBin } from '../support/ctl.js';
import { eventually, put, waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

const ELECTION_MS = 500;
let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: 50, electionTimeoutMs: ELECTION_MS, logLevel: 'warn' });
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
      while (writing) {
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
});
