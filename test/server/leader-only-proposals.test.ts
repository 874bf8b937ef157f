// The lessor's revokes and checkpoints (and the health checker's results) are the leader's own decisions, from its
// own view of time: a member whose Raft core no longer leads refuses them rather than forwarding them to the
// leader. The lessor learns that its member stepped down only when the loop next runs, which a stalled disk holds
// back; meanwhile a deposed leader expired a lease from its stale expiries, and its revoke, forwarded, revoked a
// lease the new leader had just renewed (the jepsen-like registry workload under fsync-stall: a live instance gone).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/server/config.js';
import { silentLogger } from '../../src/server/log.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { freePort } from '../support/process-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-leader-only-'));
const servers: RunningServer[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  const initialCluster = ports.map((port, i) => `m${i}=http://127.0.0.1:${port}`).join(',');
  for (const [i, port] of ports.entries()) {
    const resolved = resolveServerConfig(
      {
        name: `m${i}`,
        'data-dir': join(dir, `m${i}`),
        'listen-peer-urls': `http://127.0.0.1:${port}`,
        'initial-advertise-peer-urls': `http://127.0.0.1:${port}`,
        'initial-cluster': initialCluster,
        'heartbeat-interval': '50',
        'election-timeout': '500',
      },
      {},
    );
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
    servers.push(await startServer(resolved.config, silentLogger, { serveClients: false }));
  }
}, 60_000);
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function leaderOf(): Promise<RunningServer> {
  for (let i = 0; i < 200; i++) {
    const leader = servers.find((server) => server.member.raftNode.isLeader);
    if (leader !== undefined) return leader;
    await sleep(50);
  }
  throw new Error('no leader within 10 s');
}

describe("the leader's own proposals", () => {
  it('are refused by a member that does not lead, and nothing reaches the leader', async () => {
    const leader = await leaderOf();
    const follower = servers.find((server) => server !== leader)!;
    await leader.member.proposeKv({ type: 'leaseGrant', request: { id: 77, ttl: 60 } });
    await expect(follower.member.proposeAsLeader({ type: 'leaseRevoke', request: { id: 77, atMs: Date.now() } })).rejects.toMatchObject({ code: 'ErrNotLeader' });
    // Had the follower forwarded it, the revoke would have applied by now.
    await sleep(1000);
    for (const server of servers) expect(server.member.kv.leases.has(77)).toBe(true);
    // The leader itself may make them.
    await leader.member.proposeAsLeader({ type: 'leaseRevoke', request: { id: 77, atMs: Date.now() } });
    expect(leader.member.kv.leases.has(77)).toBe(false);
  }, 30_000);
});
