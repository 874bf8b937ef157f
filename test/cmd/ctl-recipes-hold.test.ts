// The recipe commands that run until stopped, as processes against one member: `registry watch SERVICE` prints
// each registration, update, health change and deregistration of that service (and nothing of another) as it
// happens, in its line format and as JSON lines, and exits 0 on SIGTERM; `snowflake alloc POOL` holds its worker
// ID past its lease's TTL (another alloc gets another ID), releases it on SIGTERM, and killed with -9 its ID is
// freed when the lease expires but handed out again only from its not-before time (TTL + maxClockSkewMs later);
// its lease revoked under it, it exits 1.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { snowflakeLimits } from '../../src/limits.js';
import { ctlBin } from '../support/ctl.js';
import { startLocalNode, type Cleanups } from '../support/local-node.js';

const cleanups: Cleanups = [];
let url: string;
let client: Client;

beforeAll(async () => {
  ({ url } = await startLocalNode(cleanups, 'conclave-ctl-hold-'));
  client = new Client({ endpoints: [url] });
  cleanups.push(() => client.close());
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The built conclavectl as a process, with its output so far split in lines. */
function started(args: readonly string[]): { child: ChildProcessWithoutNullStreams; lines: () => string[]; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [ctlBin(), '--endpoints', url, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => void child.kill('SIGKILL'));
  return { child, lines: () => out.split('\n').filter((line) => line !== ''), err: () => err, exited };
}

async function watchesOpen(): Promise<number> {
  const vars = (await (await fetch(new URL('/debug/vars', url))).json()) as { watches?: number };
  return vars.watches ?? 0;
}

describe('conclavectl registry watch', () => {
  it('prints registered, health, updated and deregistered events of its service as they happen, and exits 0 on SIGTERM', async () => {
    let status = 200;
    const target = createServer((request, response) => {
      response.statusCode = request.url === '/ready' ? status : 404;
      response.end();
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => target.close(() => resolve())));
    const port = (target.address() as AddressInfo).port;

    const before = await watchesOpen();
    const simple = started(['registry', 'watch', 'web']);
    const json = started(['registry', 'watch', 'web', '-w', 'json']);
    // Each watches from the revision after the one it starts at: wait until both are open.
    await expect.poll(watchesOpen, { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 2);
    expect(simple.lines()).toEqual([]);

    const lease = await client.lease(30);
    cleanups.push(() => lease.close());
    const hex = lease.id.toString(16).padStart(16, '0');
    const check = { type: 'http', path: '/ready', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 1, healthyThreshold: 1 } as const;
    const registered = await client.registryRegister({ service: 'web', instance: 'a', address: '127.0.0.1', port, lease: lease.id, tags: ['blue'], check });
    // Another service, and a service whose name starts like this one's: neither is shown.
    await client.registryRegister({ service: 'other', instance: 'x', address: '127.0.0.1', port: 1, lease: lease.id });
    await client.registryRegister({ service: 'webs', instance: 'y', address: '127.0.0.1', port: 1, lease: lease.id });
    const shown = (n: number) => expect.poll(() => simple.lines().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(n);
    await shown(1);
    status = 500;
    await shown(2);
    status = 200;
    await shown(3);
    const updated = await client.registryRegister({ service: 'web', instance: 'a', address: '127.0.0.2', port, lease: lease.id, tags: ['blue', 'canary'] });
    await shown(4);
    const deregistered = await client.registryDeregister('web', 'a');
    await shown(5);

    const line = (type: string, address: string, health: string, tags: string, revision: number | string) => `${type} web/a ${address}:${port} ${health} weight=1 tags=${tags} lease=${hex} revision=${revision}`;
    const lines = simple.lines();
    const healthRevisions = [1, 2].map((i) => Number(/revision=(\d+)$/.exec(lines[i] ?? '')?.[1]));
    expect(lines).toEqual([
      line('registered', '127.0.0.1', 'passing', 'blue', registered.header.revision),
      line('health', '127.0.0.1', 'critical', 'blue', healthRevisions[0]!),
      line('health', '127.0.0.1', 'passing', 'blue', healthRevisions[1]!),
      line('updated', '127.0.0.2', 'passing', 'blue,canary', updated.header.revision),
      line('deregistered', '127.0.0.2', 'passing', 'blue,canary', deregistered.header.revision),
    ]);
    expect(registered.header.revision < healthRevisions[0]! && healthRevisions[0]! < healthRevisions[1]! && healthRevisions[1]! < updated.header.revision).toBe(true);

    await expect.poll(() => json.lines().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    const events = json.lines().map((text) => JSON.parse(text) as { type: string; revision: string; instance: { service: string; instance: string; address: string; port: string; health: string; tags: string[]; lease: string } });
    expect(events.map((e) => [e.type, e.revision, e.instance.service, e.instance.instance, e.instance.address, e.instance.port, e.instance.health, e.instance.lease])).toEqual(
      [
        ['registered', registered.header.revision, '127.0.0.1', 'passing'],
        ['health', healthRevisions[0]!, '127.0.0.1', 'critical'],
        ['health', healthRevisions[1]!, '127.0.0.1', 'passing'],
        ['updated', updated.header.revision, '127.0.0.2', 'passing'],
        ['deregistered', deregistered.header.revision, '127.0.0.2', 'passing'],
      ].map(([type, revision, address, health]) => [type, String(revision), 'web', 'a', address, String(port), health, String(lease.id)]),
    );

    for (const watcher of [simple, json]) watcher.child.kill('SIGTERM');
    expect(await simple.exited).toBe(0);
    expect(await json.exited).toBe(0);
    expect(simple.err() + json.err()).toBe('');
    expect(simple.lines()).toHaveLength(5);
  }, 30_000);

  it('refuses a missing service and the table format', async () => {
    const missing = started(['registry', 'watch']);
    expect(await missing.exited).toBe(1);
    expect(missing.err()).toBe('Error: registry watch command needs SERVICE argument\n');
    const table = started(['registry', 'watch', 'web', '-w', 'table']);
    expect(await table.exited).toBe(1);
    expect(table.err()).toBe('Error: table not supported as output format\n');
  });
});

describe('conclavectl snowflake alloc', () => {
  const TTL_S = 1;
  const held = /^worker ID (\d+) of pool ids held with lease ([0-9a-f]{16}) \(TTL 1s\)$/;

  /** An alloc of pool "ids" on a lease of TTL_S, once it has printed what it holds. */
  async function alloc(): Promise<ReturnType<typeof started> & { workerId: number; lease: number }> {
    const run = started(['snowflake', 'alloc', 'ids', '--ttl', String(TTL_S)]);
    await expect.poll(() => run.lines().length + run.err().length, { timeout: 10_000 }).toBeGreaterThan(0);
    const [, id = '', lease = ''] = held.exec(run.lines()[0] ?? '') ?? [];
    expect(run.lines(), run.err()).toEqual([expect.stringMatching(held)]);
    return { ...run, workerId: Number(id), lease: Number.parseInt(lease, 16) };
  }

  const ttlOf = async (lease: number) => (await client.leaseTimeToLive(lease)).response.ttl;

  it('holds its worker ID past the TTL, releases it on SIGTERM; killed with -9 its ID is free after the lease expires and reusable only from its not-before time', async () => {
    const first = await alloc();
    const second = await alloc();
    expect([first.workerId, second.workerId]).toEqual([0, 1]);
    // Held past its TTL: its lease is kept alive while it runs.
    await sleep(TTL_S * 1000 * 2);
    expect(await ttlOf(first.lease)).toBeGreaterThanOrEqual(0);
    expect(await ttlOf(second.lease)).toBeGreaterThanOrEqual(0);

    const terminatedAt = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.lines()).toEqual([expect.stringMatching(held), 'worker ID 0 of pool ids released']);
    expect(await ttlOf(first.lease)).toBe(-1);
    const killedAt = Date.now();
    second.child.kill('SIGKILL');
    await second.exited;

    // Probes allocate with leases of their own (kept), until both freed IDs have been handed out again.
    const probes: { workerId: number; notBeforeMs: number; sentAt: number; answeredAt: number; secondLeaseGone: boolean }[] = [];
    const deadline = Date.now() + 15_000;
    while (!(probes.some((p) => p.workerId === 0) && probes.some((p) => p.workerId === 1)) && Date.now() < deadline) {
      const secondLeaseGone = (await ttlOf(second.lease)) === -1;
      const lease = await client.leaseGrant(30);
      const sentAt = Date.now();
      const { response } = await client.workerAllocate('ids', lease.response.id);
      probes.push({ ...response, sentAt, answeredAt: Date.now(), secondLeaseGone });
      await sleep(100);
    }
    const reuseOf = (id: number) => probes.find((p) => p.workerId === id);
    const skew = snowflakeLimits.maxClockSkewMs;
    // Released at SIGTERM: not handed out before TTL + skew after it, and its not-before time was kept to.
    expect(reuseOf(0)?.notBeforeMs).toBeGreaterThanOrEqual(terminatedAt + TTL_S * 1000 + skew);
    expect(reuseOf(0)!.answeredAt).toBeGreaterThanOrEqual(reuseOf(0)!.notBeforeMs);
    // Killed: freed by its lease's expiry (after the kill), so not before kill + TTL + skew.
    expect(reuseOf(1)?.notBeforeMs).toBeGreaterThan(killedAt + TTL_S * 1000 + skew);
    expect(reuseOf(1)!.answeredAt).toBeGreaterThanOrEqual(reuseOf(1)!.notBeforeMs);
    // Between the expiry and the not-before time the ID was free but others were handed out instead.
    const waiting = probes.filter((p) => p.secondLeaseGone && p.sentAt < reuseOf(1)!.notBeforeMs);
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.every((p) => p.workerId !== 1)).toBe(true);
    // Every probe got an ID no one else held.
    expect(new Set(probes.map((p) => p.workerId)).size).toBe(probes.length);
  }, 40_000);

  it('exits 1 once its lease is revoked under it: it no longer holds the ID', async () => {
    const run = await alloc();
    await client.leaseRevoke(run.lease);
    expect(await run.exited).toBe(1);
    expect(run.err()).toMatch(/^Error: .*lease \d+ expired or was revoked\n$/);
    expect(run.lines()).toHaveLength(1);
  }, 20_000);
});
