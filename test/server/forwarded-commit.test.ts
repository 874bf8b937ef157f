// A write sent to a follower is forwarded to the leader, and the follower answers once it has applied the entry
// itself, so news of the commit is on that client's path. The leader holds news of a commit index for a moment
// (commit-news.ts) in case an append carries it; for an entry another member proposed it must not: it sends the
// news at once. Here the hold is a minute and heartbeats (which also carry the commit index) 1.5 s apart, so each
// forwarded write would wait for a heartbeat if the leader held the news.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConclaveNode } from '../../src/index.js';
import { serverLimits } from '../../src/limits.js';
import { eventually } from '../support/http-json.js';
import { startLocalCluster, type Cleanups } from '../support/local-node.js';

const HEARTBEAT_MS = 1500;
const WRITES = 5;
const cleanups: Cleanups = [];
let nodes: ConclaveNode[];
const originalHoldMs = serverLimits.commitNewsHoldMs;

describe('a write forwarded by a follower', () => {
  beforeAll(async () => {
    (serverLimits as { commitNewsHoldMs: number }).commitNewsHoldMs = 60_000;
    nodes = await startLocalCluster(cleanups, 3, { heartbeatIntervalMs: HEARTBEAT_MS, electionTimeoutMs: 2 * HEARTBEAT_MS });
  }, 60_000);

  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    (serverLimits as { commitNewsHoldMs: number }).commitNewsHoldMs = originalHoldMs;
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
