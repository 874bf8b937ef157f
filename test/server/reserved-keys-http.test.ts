// The registry's reserved prefix on one in-process member, through every way in: the JSON gateway's /v3/kv/* and
// /v3/lock/unlock, the WebSocket API and the typed client all refuse a plain write under "\0registry/" with
// ErrReservedKey (400, the gateway's InvalidArgument shape) and change nothing, while discovery, reads and watches
// of the prefix are served and the registry's own calls (register, deregister) still write there.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, op, WsConnection } from '../../src/client/index.js';
import type { ConclaveNode } from '../../src/index.js';
import { instanceKey } from '../../src/protocol/registry-record.js';
import { b64, postJson, unb64 } from '../support/http-json.js';
import { startLocalNode, type Cleanups } from '../support/local-node.js';

const cleanups: Cleanups = [];
let url: string;
let node: ConclaveNode;
let lease: string;

const KEY = Buffer.from(instanceKey('web', 'w1')).toString('base64');
const PREFIX = { key: b64('\0registry/'), range_end: b64('\0registry0') };

beforeAll(async () => {
  ({ node, url } = await startLocalNode(cleanups, 'conclave-reserved-'));
  lease = (await postJson(url, '/v3/lease/grant', { TTL: 60 })).body['ID'] as string;
  const registered = await postJson(url, '/v3/registry/register', { service: 'web', instance: 'w1', address: '10.0.0.1', port: 80, lease });
  expect(registered.status).toBe(200);
}, 20_000);
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function registry(): Promise<{ revision: string; keys: string[]; values: string[] }> {
  const { body } = await postJson(url, '/v3/kv/range', PREFIX);
  const kvs = (body['kvs'] as { key: string; value: string }[] | undefined) ?? [];
  return { revision: (body['header'] as { revision: string }).revision, keys: kvs.map((kv) => unb64(kv.key)), values: kvs.map((kv) => unb64(kv.value)) };
}

describe('the reserved prefix over HTTP', () => {
  it.each<[string, string, unknown]>([
    ['a put', '/v3/kv/put', { key: KEY, value: b64('{"address":"evil","port":1}') }],
    ['a put of a new instance', '/v3/kv/put', { key: b64('\0registry/web/forged'), value: b64('{"address":"evil","port":1}') }],
    ['a delete', '/v3/kv/deleterange', { key: KEY }],
    ['a delete of every key', '/v3/kv/deleterange', { key: b64('\0'), range_end: b64('\0') }],
    ['a txn whose untaken branch deletes', '/v3/kv/txn', { compare: [], success: [{ request_put: { key: b64('elsewhere'), value: b64('1') } }], failure: [{ request_delete_range: { key: KEY } }] }],
    ['an unlock of a registration', '/v3/lock/unlock', { key: KEY }],
  ])('refuses %s with ErrReservedKey, changing nothing', async (_, path, body) => {
    const before = await registry();
    const reply = await postJson(url, path, body);
    expect(reply.status).toBe(400);
    expect(reply.body['error']).toBe('key is under a reserved prefix');
    expect(reply.body['code']).toBe(3);
    expect(reply.body['message']).toContain('"\\u0000registry/"');
    expect(await registry()).toEqual(before);
    expect(before.keys).toEqual(['\0registry/web/w1']);
  });

  it('says which two ranges delete everything else', async () => {
    const reply = await postJson(url, '/v3/kv/deleterange', { key: b64('\0'), range_end: b64('\0') });
    expect(reply.body['message']).toContain('delete range ["\\u0000", "\\u0000registry/") and range ["\\u0000registry0", end of the key space) to delete the rest');
  });

  it('serves discovery and reads of the prefix, and the registry still writes there', async () => {
    expect((await postJson(url, '/v3/registry/list', { service: 'web' })).body['instances']).toMatchObject([{ instance: 'w1', address: '10.0.0.1' }]);
    expect((await postJson(url, '/v3/kv/range', { key: KEY })).body['count']).toBe('1');
    expect((await postJson(url, '/v3/registry/register', { service: 'web', instance: 'w2', address: '10.0.0.2', port: 80, lease })).status).toBe(200);
    expect((await registry()).keys).toEqual(['\0registry/web/w1', '\0registry/web/w2']);
    expect((await postJson(url, '/v3/registry/deregister', { service: 'web', instance: 'w2' })).body['deleted']).toBe('1');
    expect((await registry()).keys).toEqual(['\0registry/web/w1']);
  });
});

describe('the reserved prefix over the WebSocket API and the client', () => {
  it('refuses plain writes there with the same code, and serves reads', async () => {
    const before = await registry();
    const ws = await WsConnection.connect(url, { wire: 'msgpack' });
    cleanups.push(() => ws.close());
    const key = instanceKey('web', 'w1');
    await expect(ws.call('put', { key, value: new Uint8Array(0) })).rejects.toMatchObject({ code: 'ErrReservedKey' });
    await expect(ws.call('deleteRange', { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) })).rejects.toMatchObject({ code: 'ErrReservedKey' });
    expect((await ws.call('range', { key })).response.count).toBe(1);
    const client = new Client({ endpoints: [url] });
    cleanups.push(() => client.close());
    await expect(client.put(key, 'forged')).rejects.toMatchObject({ code: 'ErrReservedKey' });
    await expect(client.delete('', { prefix: true })).rejects.toMatchObject({ code: 'ErrReservedKey' });
    await expect(client.txn().then(op.put('elsewhere', '1')).else(op.delete(key)).commit()).rejects.toMatchObject({ code: 'ErrReservedKey' });
    expect((await client.get(key)).response.count).toBe(1);
    // The embedded handle goes through the same handlers.
    await expect(node.put(key, 'forged')).rejects.toMatchObject({ code: 'ErrReservedKey' });
    expect(await registry()).toEqual(before);
  });
});
