// Leases from the outside of one member: `conclavectl lease grant|revoke|timetolive|list|keep-alive` printing what
// etcdctl prints, `put --lease`, the client's kept lease (renewals, and `lost` once revoked), and the embedded handle.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import type { ConclaveNode } from '../../src/index.js';
import { startLocalNode, type Cleanups } from '../support/local-node.js';
import { ctl } from './ctl-helpers.js';

const cleanups: Cleanups = [];
let node: ConclaveNode;
let url: string;

beforeAll(async () => {
  ({ node, url } = await startLocalNode(cleanups, 'conclave-lease-'));
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const run = (args: readonly string[]) => ctl(['--endpoints', url, ...args]);

describe('conclavectl lease', () => {
  it('grant, put --lease, timetolive (--keys), list, keep-alive --once and revoke, in etcdctl words', async () => {
    const granted = await run(['lease', 'grant', '30']);
    expect(granted.stderr).toBe('');
    const match = /^lease ([0-9a-f]{16}) granted with TTL\(30s\)\n$/.exec(granted.stdout);
    expect(match).not.toBeNull();
    const id = match![1]!;
    expect(await run(['put', 'lk', 'v', '--lease', id])).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect((await run(['lease', 'timetolive', id, '--keys'])).stdout).toMatch(new RegExp(`^lease ${id} granted with TTL\\(30s\\), remaining\\((29|30)s\\), attached keys\\(\\[lk\\]\\)\\n$`));
    expect((await run(['lease', 'list'])).stdout).toContain(`${id}\n`);
    expect(await run(['lease', 'keep-alive', '--once', id])).toEqual({ code: 0, stdout: `lease ${id} keepalived with TTL(30)\n`, stderr: '' });
    const json = JSON.parse((await run(['lease', 'timetolive', id, '-w', 'json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ id: Number.parseInt(id, 16), 'granted-ttl': 30 });
    expect(await run(['lease', 'revoke', id])).toEqual({ code: 0, stdout: `lease ${id} revoked\n`, stderr: '' });
    expect((await run(['lease', 'timetolive', id])).stdout).toBe(`lease ${id} already expired\n`);
    expect((await run(['get', 'lk'])).stdout).toBe('');
    // A keep-alive of a lease that is gone says so and ends.
    expect(await run(['lease', 'keep-alive', id])).toEqual({ code: 0, stdout: `lease ${id} expired or revoked.\n`, stderr: '' });
  });

  it('refuses what it cannot read as etcdctl does', async () => {
    expect(await run(['lease', 'grant'])).toEqual({ code: 1, stdout: '', stderr: 'Error: lease grant command needs TTL argument\n' });
    expect((await run(['lease', 'grant', 'ten'])).stderr).toMatch(/^Error: bad TTL \(strconv\.ParseInt: parsing "ten": invalid syntax\)\n$/);
    expect((await run(['lease', 'revoke', 'xyz'])).stderr).toMatch(/^Error: bad lease ID arg \(.*\), expecting ID in Hex\n$/);
    expect(await run(['lease', 'revoke', 'abc'])).toEqual({ code: 1, stdout: '', stderr: 'Error: etcdserver: requested lease not found\n' });
    expect(await run(['lease', 'timetolive'])).toMatchObject({ code: 1, stderr: 'Error: lease timetolive command needs lease ID as argument\n' });
  });
});

describe('the client and the embedded handle', () => {
  it("a kept lease renews every TTL/3 and emits lost once it is revoked", async () => {
    const client = new Client({ endpoints: [url] });
    try {
      const lease = await client.lease(1);
      // Raised to the minimum TTL (1.5 election timeouts, in whole seconds): 1 s here.
      expect(lease.ttlSeconds).toBe(1);
      let renewals = 0;
      lease.on('keepalive', () => renewals++);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(renewals).toBeGreaterThanOrEqual(4);
      expect((await client.leaseTimeToLive(lease.id)).response.ttl).toBeGreaterThanOrEqual(0);
      const lost = new Promise<string>((resolve) => lease.once('lost', (reason) => resolve(reason)));
      await node.lease.revoke(lease.id);
      expect(await lost).toBe('expired');
      expect(lease.isLost).toBe(true);
    } finally {
      client.close();
    }
  });

  it('the embedded handle grants, renews, lists and revokes', async () => {
    const { id, ttl } = await node.lease.grant(20, { id: 99 });
    expect([id, ttl]).toEqual([99, 20]);
    await node.put('emb', 'v', { lease: 99 });
    expect(await node.lease.keepAliveOnce(99)).toBe(20);
    expect((await node.lease.timeToLive(99, { keys: true })).keys.map((k) => Buffer.from(k).toString())).toEqual(['emb']);
    expect(await node.lease.list()).toContain(99);
    await node.lease.revoke(99);
    expect(await node.get('emb')).toBeUndefined();
    expect(await node.lease.keepAliveOnce(99)).toBe(0);
  });
});
