// A write sent to a follower is forwarded to the leader, and the follower answers once it has applied the entry
// itself, so news of the commit is on that client's path. The leader holds news of a commit index for a moment
// (commit-news.ts) in case an append carries it; for an entry another member proposed it must not: it sends the
// news at once. Here the hold is a minute and heartbeats (which also carry the commit index) 1.5 s apart, so each
// forwarded write would wait for a heartbeat if the leader held the news.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type ConclaveNode } from '../../src/index.js';
import { serverLimits } from '../../src/limits.js';
import { eventually } from '../support/http-json.js';
import { freePort } from '../support/process-cluster.js';

const HEARTBEAT_MS = 1500;
const WRITES = 5;
const nodes: ConclaveNode[] = [];
let dir: string;
const originalHoldMs = serverLimits.commitNewsHoldMs;

describe('a write forwarded by a follower', () => {
  beforeAll(async () => {
    (serverLimits as { commitNewsHoldMs: number }).commitNewsHoldMs = 60_000;
    dir = mkdtempSync(join(tmpdir(), 'conclave-forwarded-'));
    const peerPorts = [await freePort(), await freePort(), await freePort()];
    const initialCluster = peerPorts.map((port, i) => `m${i}=http://127.0.0.1:${port}`).join(',');
    const started = peerPorts.map((port, i) =>
      startNode({
        name: `m${i}`,
        dataDir: join(dir, `m${i}`),
        listenPeerUrls: [`http://127.0.0.1:${port}`],
        initialAdvertisePeerUrls: [`http://127.0.0.1:${port}`],
        initialCluster,
        heartbeatIntervalMs: HEARTBEAT_MS,
        electionTimeoutMs: 2 * HEARTBEAT_MS,
      }),
    );
    nodes.push(...(await Promise.all(started)));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    (serverLimits as { commitNewsHoldMs: number }).commitNewsHoldMs = originalHoldMs;
    rmSync(dir, { recursive: true, force: true });
  });

  it('is answered without waiting for a heartbeat to carry the commit index', async () => {
    const leaderId = await eventually(
      'a leader',
      async () => {
        const { leader } = await (nodes[0] as ConclaveNode).status();
        return /^0+$/.test(leader) ? null : leader;
      },
      30_000,
    );
    const follower = nodes.find((node) => node.id !== leaderId) as ConclaveNode;
    await follower.put('warm-up', 'x');
    const startedMs = performance.now();
    for (let i = 0; i < WRITES; i++) await follower.put(`forwarded/${i}`, String(i));
    const elapsedMs = performance.now() - startedMs;
    // Held news would cost each write up to a heartbeat interval, about WRITES * HEARTBEAT_MS in all.
    expect(elapsedMs).toBeLessThan(HEARTBEAT_MS);
    const last = await follower.get('forwarded/4', { serializable: true });
    expect(Buffer.from(last?.value ?? []).toString()).toBe('4');
  }, 60_000);
});
