// Active health checks on a member that leads: an HTTP check turns an instance critical after its unhealthy
// threshold of failed probes and passing again after its healthy threshold, each change one write seen by the
// registry's watch as a health event; discovery hides a critical instance unless asked for all. A TCP check of a
// port nothing listens on turns critical too.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type RegistryEvent } from '../../src/client/index.js';
import { startLocalNode, type Cleanups } from '../support/local-node.js';
import { freePort } from '../support/process-cluster.js';

const cleanups: Cleanups = [];
let client: Client;
let status = 200;
let probes = 0;
let target: Server;

beforeAll(async () => {
  const { url } = await startLocalNode(cleanups, 'conclave-health-');
  client = new Client({ endpoints: [url] });
  cleanups.push(() => client.close());
  target = createServer((request, response) => {
    probes++;
    response.statusCode = request.url === '/ready' ? status : 404;
    response.end();
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => target.close(() => resolve())));
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The next health events of a service, until `until` says enough. */
async function healthEvents(service: string, fromRevision: number, until: (events: RegistryEvent[]) => boolean): Promise<RegistryEvent[]> {
  const events: RegistryEvent[] = [];
  const stop = new AbortController();
  for await (const batch of client.registryWatch(service, { startRevision: fromRevision, signal: stop.signal })) {
    events.push(...batch.events.filter((event) => event.type === 'health'));
    if (until(events)) stop.abort();
  }
  return events;
}

describe('active health checks', () => {
  it('an HTTP check records critical after the unhealthy threshold and passing after the healthy one', async () => {
    const lease = await client.lease(30);
    cleanups.push(() => lease.close());
    const port = (target.address() as AddressInfo).port;
    const registered = await client.registryRegister({
      service: 'checked',
      instance: 'a',
      address: '127.0.0.1',
      port,
      lease: lease.id,
      check: { type: 'http', path: '/ready', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
    });
    await new Promise<void>((resolve) => {
      const seen = setInterval(() => {
        if (probes > 0) {
          clearInterval(seen);
          resolve();
        }
      }, 20);
    });
    status = 503;
    const failing = probes;
    const critical = await healthEvents('checked', registered.header.revision + 1, (events) => events.length >= 1);
    expect(critical.map((event) => event.instance.health)).toEqual(['critical']);
    // Two failed probes at least: the threshold.
    expect(probes - failing).toBeGreaterThanOrEqual(2);
    expect((await client.registryList('checked')).response.instances).toEqual([]);
    expect((await client.registryList('checked', { includeUnhealthy: true })).response.instances.map((i) => i.health)).toEqual(['critical']);
    status = 200;
    const passing = await healthEvents('checked', (critical[0]?.revision ?? 0) + 1, (events) => events.length >= 1);
    expect(passing.map((event) => event.instance.health)).toEqual(['passing']);
    expect((await client.registryList('checked')).response.instances.map((i) => i.instance)).toEqual(['a']);
  });

  it('a TCP check of a closed port turns the instance critical', async () => {
    const lease = await client.lease(30);
    cleanups.push(() => lease.close());
    const registered = await client.registryRegister({
      service: 'tcp-checked',
      instance: 'b',
      address: '127.0.0.1',
      port: await freePort(),
      lease: lease.id,
      check: { type: 'tcp', intervalMs: 1000, timeoutMs: 500 },
    });
    const events = await healthEvents('tcp-checked', registered.header.revision + 1, (seen) => seen.length >= 1);
    expect(events.map((event) => event.instance.health)).toEqual(['critical']);
  });
});
