// The keepalive stream as etcd's gateway serves it, on one member: a POST /v3/lease/keepalive body of many
// requests gets an answer line each (TTL 0 for a lease that is gone, an error line with the ID for one that cannot
// be served, an error line for one that cannot be read, and the stream goes on) and ends when the body ends; the
// WebSocket of the same path answers frame for frame; so does a leaseKeepAlive stream of the WebSocket API.

import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WsConnection } from '../../src/client/index.js';
import { decodeResponse } from '../../src/protocol/json.js';
import type { ConclaveNode } from '../../src/index.js';
import { startLocalNode, type Cleanups } from '../support/local-node.js';

const cleanups: Cleanups = [];
let node: ConclaveNode;
let url: string;

beforeAll(async () => {
  ({ node, url } = await startLocalNode(cleanups, 'conclave-keepalive-'));
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** POSTs `body` to the keepalive stream and returns its answer lines once the call ends. */
function stream(body: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const request = http.request(new URL('/v3/lease/keepalive', url), { method: 'POST' }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('POST /v3/lease/keepalive', () => {
  it('answers every request of the body, in etcd gateway lines, and ends with the body', async () => {
    const { id } = await node.lease.grant(20);
    const lines = await stream(`{"ID":"${id}"}\n{"ID":"12345"} {"ID": "x"}\n{"TTL":"1"}\n{"ID":"${id}"}`);
    expect(lines).toHaveLength(5);
    const results = lines.filter((line) => line['result'] !== undefined).map((line) => line['result'] as Record<string, string>);
    expect(results.filter((r) => r['ID'] === String(id)).map((r) => r['TTL'])).toEqual(['20', '20']);
    // A lease that does not exist: TTL left out (0), as etcd answers.
    expect(results.find((r) => r['ID'] === '12345')).toMatchObject({ ID: '12345' });
    expect(results.find((r) => r['ID'] === '12345')?.['TTL']).toBeUndefined();
    const errors = lines.filter((line) => line['error'] !== undefined).map((line) => (line['error'] as { message: string }).message);
    expect(errors).toHaveLength(2);
    expect(errors.some((message) => /not an integer|invalid request field/.test(message))).toBe(true);
    expect(errors.some((message) => /unknown request field: TTL/.test(message))).toBe(true);
  });

  it('over a WebSocket: a frame per request, a binary frame refused, the connection still usable', async () => {
    const { id } = await node.lease.grant(15);
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v3/lease/keepalive`);
    const frames: Record<string, unknown>[] = [];
    let arrived: (() => void) | null = null;
    ws.on('message', (data: Buffer) => {
      frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
      arrived?.();
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const next = (count: number) =>
      new Promise<void>((resolve) => {
        arrived = () => frames.length >= count && resolve();
        arrived();
      });
    ws.send(JSON.stringify({ ID: String(id) }));
    await next(1);
    ws.send(Buffer.from('{"ID":"1"}'), { binary: true });
    await next(2);
    ws.send(JSON.stringify({ ID: String(id) }));
    await next(3);
    ws.close();
    expect((frames[0]?.['result'] as Record<string, string>)['TTL']).toBe('15');
    expect((frames[1]?.['error'] as { message: string }).message).toMatch(/binary frame/);
    expect((frames[2]?.['result'] as Record<string, string>)['TTL']).toBe('15');
  });

  it('over the WebSocket API: a leaseKeepAlive stream answers each renewal, in msgpack', async () => {
    const { id } = await node.lease.grant(12);
    const connection = await WsConnection.connect(url, { wire: 'msgpack' });
    try {
      const stream = connection.openStream('leaseKeepAlive', (message) => decodeResponse('leaseKeepAlive', message), { ID: id });
      const answers: number[] = [];
      for await (const { response } of stream) {
        answers.push(response.ttl);
        if (answers.length === 1) stream.send({ ID: 424242 });
        if (answers.length === 2) break;
      }
      expect(answers).toEqual([12, 0]);
      // A call of the same method renews once.
      expect((await connection.call('leaseKeepAlive', { id })).response.ttl).toBe(12);
    } finally {
      connection.close();
    }
  });
});
