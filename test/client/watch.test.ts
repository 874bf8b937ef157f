// The client's watch against a scripted member: when its stream breaks it reopens it on the next endpoint from
// the revision after the last one delivered (or after the last progress response), never yields an event
// twice, and ends with ErrCompacted when that revision is gone.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type WatchBatch } from '../../src/client/index.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const header = (revision: number) => `{"cluster_id":"1","member_id":"2","revision":"${revision}","raft_term":"1"}`;
const created = (revision: number) => `{"result":{"header":${header(revision)},"created":true}}\n`;
const event = (revision: number, key = 'k') =>
  `{"result":{"header":${header(revision)},"events":[{"kv":{"key":"${b64(key)}","create_revision":"2","mod_revision":"${revision}","version":"1","value":"${b64(`v${revision}`)}"}}]}}\n`;
const progress = (revision: number) => `{"result":{"header":${header(revision)},"watch_id":"-1"}}\n`;

/** A member that answers the n-th watch call with script[n]: lines to send, then whether to cut the connection. */
async function scriptedMember(script: { lines: string[]; cut: boolean }[]): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
      const step = script[bodies.length];
      bodies.push(JSON.parse(body));
      body = '';
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const line of step?.lines ?? []) res.write(line);
      if (step === undefined || step.cut) setTimeout(() => res.socket?.destroy(), 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function collect(client: Client, until: number, options: Parameters<Client['watch']>[1] = {}): Promise<number[]> {
  const revisions: number[] = [];
  for await (const batch of client.watch('k', options) as AsyncIterable<WatchBatch>) {
    for (const e of batch.events) revisions.push(e.kv.modRevision);
    if (revisions[revisions.length - 1]! >= until) break;
  }
  return revisions;
}

describe('Client.watch', () => {
  it('resumes on the next endpoint from the revision after the last delivered, without a repeat', async () => {
    const a = await scriptedMember([{ lines: [created(1), event(2), event(3)], cut: true }]);
    // The second member replays revision 3 again (as a member behind the first might not, but could): it is dropped.
    const b = await scriptedMember([{ lines: [created(3), event(3), event(4), event(5)], cut: false }]);
    const client = new Client({ endpoints: [a.url, b.url] });
    expect(await collect(client, 5)).toEqual([2, 3, 4, 5]);
    client.close();
    expect(a.bodies).toEqual([{ create_request: { key: b64('k') } }]);
    expect(b.bodies).toEqual([{ create_request: { key: b64('k'), start_revision: '4' } }]);
  });

  it('resumes after the revision of the last progress response', async () => {
    const a = await scriptedMember([{ lines: [created(1), event(2), progress(9)], cut: true }]);
    const b = await scriptedMember([{ lines: [created(9), event(10)], cut: false }]);
    const client = new Client({ endpoints: [a.url, b.url] });
    expect(await collect(client, 10, { startRevision: 2, prefix: true })).toEqual([2, 10]);
    client.close();
    expect(a.bodies).toEqual([{ create_request: { key: b64('k'), range_end: b64('l'), start_revision: '2' } }]);
    expect(b.bodies).toEqual([{ create_request: { key: b64('k'), range_end: b64('l'), start_revision: '10' } }]);
  });

  it('ends with ErrCompacted, naming the revision to watch from, when the next revision is compacted', async () => {
    const a = await scriptedMember([
      { lines: [created(5), `{"result":{"header":${header(5)},"canceled":true,"compact_revision":"4","cancel_reason":"compacted"}}\n`], cut: false },
    ]);
    const client = new Client({ endpoints: [a.url] });
    await expect(collect(client, 99, { startRevision: 3 })).rejects.toMatchObject({ code: 'ErrCompacted', message: expect.stringContaining('watch again from 5') });
    client.close();
  });

  it('stops when its signal is aborted', async () => {
    const a = await scriptedMember([{ lines: [created(1)], cut: false }]);
    const client = new Client({ endpoints: [a.url] });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    expect(await collect(client, 99, { signal: stop.signal })).toEqual([]);
    client.close();
  });
});

describe('the watch against a member that streams only once the request body is complete (etcd 3.4 gateway)', () => {
  it('ends its body after the create request, so the stream starts', async () => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      // etcd's gateway answers a watch call only after reading the whole body.
      req.on('end', () => {
        expect(JSON.parse(body)).toMatchObject({ create_request: { key: b64('k') } });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(created(3));
        res.write(event(4));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const client = new Client({ endpoints: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`] });
    try {
      expect(await collect(client, 4, { signal: AbortSignal.timeout(5000) })).toEqual([4]);
    } finally {
      client.close();
    }
  });
});
