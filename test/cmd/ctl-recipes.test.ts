// The service registry and Snowflake IDs from the outside of one member: conclavectl registry list|deregister and
// snowflake next|parse, the client's kept registration and worker, a revoke that deregisters in its own revision,
// the registry's watch events, bad requests refused over HTTP, and the same calls over the WebSocket API.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, keepRegistered, parseSnowflake, snowflakeWorker, WsConnection, wsRegistryWatch, type RegistryEvent } from '../../src/client/index.js';
import { startLocalNode, type Cleanups } from '../support/local-node.js';
import { postJson } from '../support/http-json.js';
import { ctl } from './ctl-helpers.js';

const cleanups: Cleanups = [];
let url: string;
let client: Client;

beforeAll(async () => {
  ({ url } = await startLocalNode(cleanups, 'conclave-recipes-'));
  client = new Client({ endpoints: [url] });
  cleanups.push(() => client.close());
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const run = (args: readonly string[]) => ctl(['--endpoints', url, ...args]);

describe('service registry', () => {
  it('register, re-register (an update), list by tag in each format, deregister; a revoke deregisters in its own revision', async () => {
    const lease = await client.lease(30);
    cleanups.push(() => lease.close());
    await client.registryRegister({ service: 'web', instance: 'a', address: '10.0.0.1', port: 80, lease: lease.id, tags: ['blue'], metadata: { zone: 'z1' } });
    await client.registryRegister({ service: 'web', instance: 'b', address: '10.0.0.2', port: 81, lease: lease.id, weight: 3 });
    const again = await client.registryRegister({ service: 'web', instance: 'a', address: '10.0.0.9', port: 80, lease: lease.id, tags: ['blue', 'canary'] });
    const listed = await client.registryList('web');
    expect(listed.header.revision).toBe(again.header.revision);
    expect(listed.response.instances.map((i) => [i.instance, i.address, i.tags, i.weight, i.health])).toEqual([
      ['a', '10.0.0.9', ['blue', 'canary'], 1, 'passing'],
      ['b', '10.0.0.2', [], 3, 'passing'],
    ]);
    const hex = lease.id.toString(16).padStart(16, '0');
    expect(await run(['registry', 'list', 'web', '--tag', 'canary'])).toEqual({ code: 0, stdout: `a 10.0.0.9:80 passing weight=1 tags=blue,canary lease=${hex}\n`, stderr: '' });
    const json = JSON.parse((await run(['registry', 'list', 'web', '-w', 'json'])).stdout) as { instances: { instance: string; port: string }[] };
    expect(json.instances.map((i) => [i.instance, i.port])).toEqual([['a', '80'], ['b', '81']]);
    expect((await run(['registry', 'list', 'web', '-w', 'table'])).stdout).toContain('| INSTANCE |');
    expect(await run(['registry', 'deregister', 'web', 'b'])).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    expect(await run(['registry', 'deregister', 'web', 'b'])).toEqual({ code: 0, stdout: '0\n', stderr: '' });

    const watched: RegistryEvent[] = [];
    const stop = new AbortController();
    const watching = (async () => {
      for await (const batch of client.registryWatch('web', { startRevision: listed.header.revision + 1, signal: stop.signal })) {
        watched.push(...batch.events);
        if (watched.some((event) => event.type === 'deregistered' && event.instance.instance === 'a')) stop.abort();
      }
    })();
    const revoked = await client.leaseRevoke(lease.id);
    await watching;
    expect(watched.map((event) => [event.type, event.instance.instance])).toEqual([
      ['deregistered', 'b'],
      ['deregistered', 'a'],
    ]);
    // Deregistered in the revoke's revision.
    expect(watched[1]?.revision).toBe(revoked.header.revision);
    expect((await client.registryList('web')).response.instances).toEqual([]);
  });

  it('a kept registration stays while its lease is kept, and goes when closed', async () => {
    const kept = await keepRegistered(client, { service: 'api', instance: 'x1', address: '127.0.0.1', port: 9000 }, 5);
    expect((await client.registryList('api')).response.instances.map((i) => i.lease)).toEqual([kept.lease.id]);
    await kept.close();
    expect((await client.registryList('api')).response.instances).toEqual([]);
  });

  it('refuses registrations without a lease, with bad names or ports, and on a lease that does not exist, changing nothing', async () => {
    const body = { service: 'refused', instance: 'a', address: 'h', port: '80', lease: '0' };
    expect(await postJson(url, "/v3/registry/register", body)).toMatchObject({ status: 400 });
    expect(await postJson(url, "/v3/registry/register", { ...body, lease: '5', service: 'no/slash' })).toMatchObject({ status: 400 });
    expect(await postJson(url, "/v3/registry/register", { ...body, lease: '5', port: '70000' })).toMatchObject({ status: 400 });
    expect(await postJson(url, "/v3/registry/register", { ...body, lease: '5' })).toMatchObject({ status: 404 });
    expect(await postJson(url, "/v3/registry/register", { ...body, lease: '5', colour: 'red' })).toMatchObject({ status: 400 });
    expect((await client.registryList('refused')).response.instances).toEqual([]);
  });
});

describe('Snowflake IDs', () => {
  it('snowflake next prints N increasing decimal IDs of one worker; the next run gets another worker ID; parse reads one back', async () => {
    const first = await run(['snowflake', 'next', '--pool', 'ctl', '--count', '5']);
    expect(first.stderr).toBe('');
    const ids = first.stdout.trim().split('\n');
    expect(ids).toHaveLength(5);
    for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i] as string) > BigInt(ids[i - 1] as string)).toBe(true);
    const workers = new Set(ids.map((id) => parseSnowflake(id).workerId));
    expect(workers).toEqual(new Set([0]));
    // Worker 0 was released, but is not reusable before its TTL and the clock-skew bound have passed.
    const second = await run(['snowflake', 'next', '--pool', 'ctl', '--count', '1']);
    expect(parseSnowflake(second.stdout.trim()).workerId).toBe(1);
    const parsed = await run(['snowflake', 'parse', ids[0] as string]);
    const parts = parseSnowflake(ids[1] as string);
    expect(parsed.stdout).toMatch(/^timestamp: \d{4}-\d\d-\d\dT.*Z \(\d+ ms\)\nworker: 0\nsequence: 0\n$/);
    expect(JSON.parse((await run(['snowflake', 'parse', ids[1] as string, '-w', 'json'])).stdout)).toEqual({ timestamp_ms: String(parts.timestampMs), worker_id: 0, sequence: parts.sequence });
    expect(await run(['snowflake', 'parse', 'nope'])).toMatchObject({ code: 1, stderr: 'Error: invalid request field: "nope" is not a decimal ID\n' });
  });

  it('a worker of the client mints unique IDs, and none after its lease is revoked', async () => {
    const worker = await snowflakeWorker(client, 'lib', 5);
    const ids = await worker.generator.nextBatch(10_000);
    expect(new Set(ids).size).toBe(10_000);
    await client.leaseRevoke(worker.lease.id);
    // The kept lease learns of the revoke at its next renewal; until then `alive` holds, after it nothing is issued.
    await new Promise<void>((resolve) => worker.lease.once('lost', () => resolve()));
    await expect(worker.generator.next()).rejects.toMatchObject({ code: 'ErrLeaseNotFound' });
    await worker.close();
  });

  it('segments: consecutive blocks of a named counter', async () => {
    const a = await client.segmentReserve('orders', 100);
    const b = await client.segmentReserve('orders', 50);
    expect([a.response, b.response]).toEqual([
      { start: 0, count: 100 },
      { start: 100, count: 50 },
    ]);
  });

  it('the same calls over the WebSocket API', async () => {
    const connection = await WsConnection.connect(url);
    cleanups.push(() => connection.close());
    const lease = await client.leaseGrant(30);
    const allocated = await connection.call('workerAllocate', { pool: 'ws', lease: lease.response.id });
    expect(allocated.response).toEqual({ workerId: 0, notBeforeMs: 0 });
    await connection.call('registryRegister', { service: 'ws', instance: 'i', address: 'h', port: 1, lease: lease.response.id });
    expect((await connection.call('registryList', { service: 'ws' })).response.instances.map((i) => i.instance)).toEqual(['i']);
    expect((await connection.call('segmentReserve', { name: 'ws', count: 3 })).response).toEqual({ start: 0, count: 3 });
    await expect(connection.call('workerRelease', { pool: 'ws', workerId: 0, lease: 1 })).rejects.toMatchObject({ code: 'ErrWorkerNotHeld' });
  });

  it('the registryWatch stream of the WebSocket API, in both encodings', async () => {
    for (const wire of ['json', 'msgpack'] as const) {
      const connection = await WsConnection.connect(url, { wire });
      cleanups.push(() => connection.close());
      const service = `stream-${wire}`;
      const lease = await client.leaseGrant(30);
      const first = await client.registryRegister({ service, instance: 'i', address: 'h', port: 1, lease: lease.response.id });
      await client.registryRegister({ service, instance: 'i', address: 'h2', port: 1, lease: lease.response.id });
      const revoked = await client.leaseRevoke(lease.response.id);
      const seen: RegistryEvent[] = [];
      const stop = new AbortController();
      for await (const batch of wsRegistryWatch(connection, service, { startRevision: first.header.revision, signal: stop.signal })) {
        seen.push(...batch.events);
        if (seen.length >= 3) stop.abort();
      }
      expect(seen.map((event) => [event.type, event.instance.address, event.revision])).toEqual([
        ['registered', 'h', first.header.revision],
        ['updated', 'h2', first.header.revision + 1],
        ['deregistered', 'h2', revoked.header.revision],
      ]);
    }
  });
});
