// The WebSocket API (`/v3/conclave`) on a running member: concurrent calls on one connection in both encodings, watch
// streams, frames that cannot be taken (answered under their ID, the connection going on; or closed with the
// documented code), the per-connection bounds, and that a refused request changes nothing.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WsConnection } from '../../src/client/ws-connection.js';
import type { WsApiLimits } from '../../src/limits.js';
import { encodeWire, decodeWire } from '../../src/protocol/msgpack-wire.js';
import { WS_API_PATH, WS_CLOSE, WS_SUBPROTOCOLS } from '../../src/protocol/ws-frames.js';
import { resolveServerConfig, type RawFlags } from '../../src/server/config.js';
import { silentLogger } from '../../src/server/log.js';
import type { Member } from '../../src/server/member.js';
import { startServer } from '../../src/server/server.js';
import { ApiSockets } from '../../src/server/ws-api.js';
import { freePort } from '../support/process-cluster.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();
const bytes = (value: string) => new TextEncoder().encode(value);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A single-member cluster in this process with the WebSocket API on its own listener, under `limits`. */
async function member(limits: Partial<WsApiLimits> = {}): Promise<{ member: Member; url: string; sockets: ApiSockets }> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-ws-api-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const peerPort = await freePort();
  const flags = {
    'data-dir': join(dir, 'data'),
    'listen-peer-urls': `http://127.0.0.1:${peerPort}`,
    'initial-advertise-peer-urls': `http://127.0.0.1:${peerPort}`,
    'initial-cluster': `default=http://127.0.0.1:${peerPort}`,
    'heartbeat-interval': '20',
    'election-timeout': '200',
  };
  const resolved = resolveServerConfig(flags as RawFlags, {});
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  const server = await startServer(resolved.config, silentLogger, { serveClients: false });
  cleanups.push(() => server.close());
  const sockets = new ApiSockets(server.member, silentLogger, limits);
  const http: Server = createServer((_, res) => res.end());
  http.on('upgrade', (req, socket, head) => sockets.upgrade(req, socket, head));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    sockets.close();
    return new Promise<void>((resolve) => http.close(() => resolve()));
  });
  // Wait for the member to lead its one-member cluster.
  while (!server.member.raftNode.isLeader) await new Promise((resolve) => setTimeout(resolve, 10));
  return { member: server.member, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, sockets };
}

async function connect(url: string, wire: 'json' | 'msgpack'): Promise<WsConnection> {
  const connection = await WsConnection.connect(url, { wire });
  cleanups.push(() => connection.close());
  return connection;
}

/** A connection that sends hand-made frames and reads every frame back, decoded, in order. */
async function rawSocket(url: string, wire: 'json' | 'msgpack') {
  const ws = new WebSocket(`${url.replace('http', 'ws')}${WS_API_PATH}`, [WS_SUBPROTOCOLS[wire]]);
  cleanups.push(() => ws.terminate());
  const frames: any[] = [];
  let wake: (() => void) | null = null;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (data: Buffer, isBinary) => {
    frames.push(isBinary ? decodeWire(data) : JSON.parse(data.toString()));
    wake?.();
  });
  void closed.then(() => wake?.());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let taken = 0;
  return {
    ws,
    closed,
    send(frame: unknown) {
      if (wire === 'json') ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
      else ws.send(frame instanceof Uint8Array ? frame : encodeWire(frame));
    },
    /** The next frame not yet taken. */
    async next(): Promise<any> {
      while (frames.length <= taken) {
        if (ws.readyState === ws.CLOSED) throw new Error('closed');
        await new Promise<void>((resolve) => (wake = resolve));
      }
      return frames[taken++];
    },
  };
}

describe.each(['json', 'msgpack'] as const)('the WebSocket API in %s', (wire) => {
  it('carries many calls at once on one connection, each answered under its own ID', async () => {
    const { url } = await member();
    const connection = await connect(url, wire);
    const puts = await Promise.all(Array.from({ length: 200 }, (_, i) => connection.call('put', { key: bytes(`k/${i}`), value: bytes(`v${i}`) })));
    const revisions = puts.map((p) => p.header.revision);
    expect(new Set(revisions).size).toBe(200);
    const [range, count, txn] = await Promise.all([
      connection.call('range', { key: bytes('k/7') }),
      connection.call('range', { key: bytes('k/'), rangeEnd: bytes('k0'), countOnly: true }),
      connection.call('txn', {
        compare: [{ key: bytes('k/1'), target: 'value', result: 'equal', value: bytes('v1') }],
        success: [{ requestPut: { key: bytes('k/1'), value: bytes('changed'), prevKv: true } }],
        failure: [],
      }),
    ]);
    expect(range.response.kvs.map((kv) => text(kv.value))).toEqual(['v7']);
    expect(count.response.count).toBe(200);
    expect(txn.response.succeeded).toBe(true);
    expect(txn.header.revision).toBe(Math.max(...revisions) + 1);
    const status = await connection.call('status', {});
    expect(status.response.raftTerm).toBeGreaterThan(0);
    expect(status.header.memberId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('streams a watch: created, each revision as applied, ended by closing the stream', async () => {
    const { url } = await member();
    const connection = await connect(url, wire);
    const before = await connection.call('put', { key: bytes('w/a'), value: bytes('0') });
    const seen: any[] = [];
    const watching = (async () => {
      for await (const response of connection.watch({ key: bytes('w/'), rangeEnd: bytes('w0'), startRevision: before.header.revision, prevKv: true })) {
        seen.push(response);
        if (seen.length === 4) break;
      }
    })();
    await connection.call('put', { key: bytes('w/a'), value: bytes('1') });
    await connection.call('deleteRange', { key: bytes('w/a') });
    await watching;
    expect(seen[0]).toMatchObject({ created: true, watchId: 0 });
    const events = seen.slice(1).flatMap((r) => r.events.map((e: any) => [e.type, text(e.kv.key), text(e.kv.value), e.prevKv === undefined ? null : text(e.prevKv.value)]));
    expect(events).toEqual([
      ['PUT', 'w/a', '0', null],
      ['PUT', 'w/a', '1', '0'],
      ['DELETE', 'w/a', '', '1'],
    ]);
    // The watch is gone with its stream; the connection goes on.
    expect((await connection.call('range', { key: bytes('w/a') })).response.kvs).toEqual([]);
  });

  it('answers a malformed request under its ID and stays usable; a refused request changes nothing', async () => {
    const { url } = await member();
    const raw = await rawSocket(url, wire);
    const key = (k: string) => (wire === 'json' ? b64(k) : bytes(k));
    raw.send({ id: 1, type: 'call', method: 'put', request: { key: key('a'), value: key('1'), bogus: true } });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 1, error: { code: 'ErrUnknownField', message: expect.stringContaining('bogus') } });
    raw.send({ id: 2, type: 'call', method: 'put', request: { key: 12, value: key('1') } });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 2, error: { code: 'ErrInvalidField', message: expect.stringContaining('key') } });
    // A txn whose last op is malformed: none of its ops is applied.
    raw.send({
      id: 3,
      type: 'call',
      method: 'txn',
      request: { success: [{ request_put: { key: key('a'), value: key('1') } }, { request_put: { key: key('b'), lease: 'x' } }] },
    });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 3, error: { code: 'ErrInvalidField', message: expect.stringContaining('success[1].request_put.lease') } });
    raw.send({ id: 4, type: 'call', method: 'nosuch', request: {} });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 4, error: { code: 'ErrNotFound', message: expect.stringContaining('nosuch') } });
    raw.send({ id: 5, type: 'call', method: 'watch', request: {} });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 5, error: { code: 'ErrNotFound', message: expect.stringContaining('open it') } });
    raw.send({ id: 6, type: 'shout' });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 6, error: { code: 'ErrInvalidField' } });
    raw.send({ id: 7, type: 'call', method: 'range', request: { key: key('a'), range_end: key('c') }, extra: 1 });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 7, error: { code: 'ErrUnknownField', message: expect.stringContaining('extra') } });
    raw.send({ id: 8, type: 'call', method: 'range', request: { key: key('a'), range_end: key('c') } });
    const range = await raw.next();
    expect(range).toMatchObject({ type: 'response', id: 8 });
    expect(range.response.kvs).toBeUndefined();
    expect(Number(range.response.header.revision)).toBe(1);
  });

  it('answers a frame over maxFrameBytes under its ID, and goes on', async () => {
    const { url } = await member({ maxFrameBytes: 64 * 1024 });
    const raw = await rawSocket(url, wire);
    const big = 'x'.repeat(100 * 1024);
    raw.send({ id: 9, type: 'call', method: 'put', request: { key: wire === 'json' ? b64('big') : bytes('big'), value: wire === 'json' ? b64(big) : bytes(big) } });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 9, error: { code: 'ErrRequestTooLarge', message: expect.stringContaining('wsApiLimits.maxFrameBytes') } });
    raw.send({ id: 9, type: 'call', method: 'range', request: { key: wire === 'json' ? b64('big') : bytes('big') } });
    const range = await raw.next();
    expect(range).toMatchObject({ type: 'response', id: 9 });
    expect(range.response.count).toBeUndefined();
  });

  it('takes watch requests on an open stream, answers a bad one there, and ends it on close', async () => {
    const { url } = await member();
    const raw = await rawSocket(url, wire);
    const key = (k: string) => (wire === 'json' ? b64(k) : bytes(k));
    raw.send({ id: 3, type: 'open', method: 'watch' });
    raw.send({ id: 3, type: 'send', request: { create_request: { key: key('x'), watch_id: 5 } } });
    expect(await raw.next()).toMatchObject({ type: 'message', id: 3, response: { created: true, watch_id: wire === 'json' ? '5' : 5 } });
    raw.send({ id: 3, type: 'send', request: { create_request: { key: 7 } } });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 3, error: { code: 'ErrInvalidField', message: expect.stringContaining('create_request.key') } });
    raw.send({ id: 3, type: 'send', request: { progress_request: {} }, bogus: 1 });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 3, error: { code: 'ErrUnknownField', message: expect.stringContaining('bogus') } });
    raw.send({ id: 4, type: 'call', method: 'put', request: { key: key('x'), value: key('1') } });
    const [first, second] = [await raw.next(), await raw.next()];
    const message = first.type === 'message' ? first : second;
    expect(message.response.events).toHaveLength(1);
    expect(Buffer.from(message.response.events[0].kv.key)).toEqual(Buffer.from(key('x')));
    raw.send({ id: 3, type: 'send', request: { cancel_request: { watch_id: 5 } } });
    expect(await raw.next()).toMatchObject({ type: 'message', id: 3, response: { canceled: true } });
    raw.send({ id: 3, type: 'close' });
    expect(await raw.next()).toEqual({ type: 'closed', id: 3 });
    raw.send({ id: 3, type: 'send', request: { progress_request: {} } });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 3, error: { code: 'ErrInvalidFrame' } });
  });
});

describe('frames of any shape', () => {
  it.each(['json', 'msgpack'] as const)('in %s: each one with an ID gets exactly one answer under it, and the connection keeps serving', async (wire) => {
    const { url } = await member();
    const raw = await rawSocket(url, wire);
    const junk = fc.record(
      {
        type: fc.oneof(fc.constantFrom('call', 'open', 'send', 'close'), fc.string({ maxLength: 8 })),
        method: fc.oneof(fc.constantFrom('put', 'range', 'txn', 'watch', 'status'), fc.string({ maxLength: 8 }), fc.integer()),
        request: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ key: fc.oneof(fc.string(), fc.uint8Array({ maxLength: 4 })), value: fc.jsonValue({ maxDepth: 1 }) })),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: ['type'] },
    );
    const frames = fc.sample(junk, { numRuns: 150, seed: 42 });
    let id = 0;
    for (const frame of frames) {
      // Only calls are answered by definition; an open stream is closed again at once so that its ID is free.
      const current = id++;
      const value = wire === 'json' ? JSON.parse(JSON.stringify({ ...frame, id: current }, (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v))) : { ...frame, id: current };
      raw.send(value);
      if (value.type === 'open' && value.method === 'watch') raw.send({ id: current, type: 'close' });
    }
    raw.send({ id: 100_000, type: 'call', method: 'status', request: {} });
    const answered = new Map<number, number>();
    for (;;) {
      const frame = await raw.next();
      if (frame.id === 100_000) {
        expect(frame.type).toBe('response');
        break;
      }
      if (frame.type === 'message') continue;
      answered.set(frame.id, (answered.get(frame.id) ?? 0) + 1);
    }
    const calls = frames.map((frame, i) => ({ frame, i })).filter(({ frame }) => frame.type === 'call');
    for (const { i } of calls) expect(answered.get(i), `frame ${i}: ${JSON.stringify(frames[i])}`).toBe(1);
    expect(raw.ws.readyState).toBe(raw.ws.OPEN);
  });
});

describe('choosing the encoding', () => {
  it('by ?encoding= without a subprotocol, msgpack by default, and 400 for another', async () => {
    const { url } = await member();
    const base = `${url.replace('http', 'ws')}${WS_API_PATH}`;
    const firstFrame = (target: string) =>
      new Promise<{ isBinary: boolean; data: Buffer }>((resolve, reject) => {
        const ws = new WebSocket(target);
        cleanups.push(() => ws.terminate());
        ws.once('open', () => ws.send(target.endsWith('json') ? '{"id":1,"type":"call","method":"status"}' : encodeWire({ id: 1, type: 'call', method: 'status' })));
        ws.once('message', (data: Buffer, isBinary) => resolve({ isBinary, data }));
        ws.once('error', reject);
      });
    const json = await firstFrame(`${base}?encoding=json`);
    expect([json.isBinary, JSON.parse(json.data.toString()).type]).toEqual([false, 'response']);
    const msgpack = await firstFrame(base);
    expect([msgpack.isBinary, (decodeWire(msgpack.data) as any).type]).toEqual([true, 'response']);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${base}?encoding=xml`);
      ws.once('unexpected-response', (_, response) => resolve(response.statusCode ?? 0));
      ws.once('error', () => resolve(-1));
    });
    expect(refused).toBe(400);
  });
});

describe('protocol violations close the connection with the documented code', () => {
  it.each([
    ['a binary frame on a JSON connection', 'json', (ws: WebSocket) => ws.send(Buffer.from([1, 2, 3])), WS_CLOSE.unsupportedData],
    ['a text frame on a msgpack connection', 'msgpack', (ws: WebSocket) => ws.send('{"id":1}'), WS_CLOSE.unsupportedData],
    ['a frame that is not JSON', 'json', (ws: WebSocket) => ws.send('{"id":1,'), WS_CLOSE.invalidPayload],
    ['a frame that is not msgpack', 'msgpack', (ws: WebSocket) => ws.send(Buffer.from([0xc1])), WS_CLOSE.invalidPayload],
    ['a frame without an ID', 'json', (ws: WebSocket) => ws.send('{"type":"call","method":"status"}'), WS_CLOSE.protocolError],
    ['a frame that is not an object', 'msgpack', (ws: WebSocket) => ws.send(encodeWire([1, 2])), WS_CLOSE.protocolError],
  ] as const)('%s', async (_, wire, send, code) => {
    const { url } = await member();
    const raw = await rawSocket(url, wire);
    send(raw.ws);
    expect((await raw.closed).code).toBe(code);
  });

  it('an ID in use by a call in progress', async () => {
    const { url } = await member();
    const raw = await rawSocket(url, 'json');
    raw.send({ id: 1, type: 'open', method: 'watch' });
    raw.send({ id: 1, type: 'call', method: 'status' });
    expect((await raw.closed).code).toBe(WS_CLOSE.protocolError);
  });
});

describe('bounds of one connection', () => {
  it('refuses calls beyond maxConcurrentRequests with ErrTooManyRequests, and a refused one is not applied', async () => {
    const { url } = await member({ maxConcurrentRequests: 2 });
    const raw = await rawSocket(url, 'json');
    for (let id = 0; id < 40; id++) raw.send({ id, type: 'call', method: 'put', request: { key: b64(`c/${id}`), value: b64('v') } });
    const answers = [];
    for (let i = 0; i < 40; i++) answers.push(await raw.next());
    const refused = answers.filter((a) => a.type === 'error').map((a) => a.id);
    expect(answers.filter((a) => a.type === 'error').every((a) => a.error.code === 'ErrTooManyRequests')).toBe(true);
    const applied = answers.filter((a) => a.type === 'response').map((a) => a.id);
    expect(applied.length + refused.length).toBe(40);
    raw.send({ id: 100, type: 'call', method: 'range', request: { key: b64('c/'), range_end: b64('c0'), keys_only: true } });
    const range = await raw.next();
    const keys = (range.response.kvs ?? []).map((kv: any) => Buffer.from(kv.key, 'base64').toString()).sort();
    expect(keys).toEqual(applied.map((id) => `c/${id}`).sort());
  });

  it('refuses a stream beyond maxStreams', async () => {
    const { url } = await member({ maxStreams: 1 });
    const raw = await rawSocket(url, 'json');
    raw.send({ id: 1, type: 'open', method: 'watch' });
    raw.send({ id: 2, type: 'open', method: 'watch' });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 2, error: { code: 'ErrTooManyRequests', message: expect.stringContaining('wsApiLimits.maxStreams') } });
  });

  it('closes a connection that lets more than maxBufferedBytes queue up unread (4001)', async () => {
    // The close frame waits behind the queue: a long closeTimeoutMs lets the client read up to it.
    const { url, sockets } = await member({ maxBufferedBytes: 512 * 1024, pauseReadingBytes: 128 * 1024, closeTimeoutMs: 60_000 });
    const writer = await connect(url, 'msgpack');
    await writer.call('put', { key: bytes('big'), value: new Uint8Array(256 * 1024).fill(7) });
    const raw = await rawSocket(url, 'msgpack');
    raw.ws.pause();
    for (let id = 0; id < 200; id++) raw.send({ id, type: 'call', method: 'range', request: { key: bytes('big') } });
    // The member gives up on the reader that does not read (the writer's connection stays served)...
    while (sockets.openConnections > 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await writer.call('status', {})).header.revision).toBe(2);
    // ...and once it reads again, what was queued comes first, then the close with its code.
    raw.ws.resume();
    expect((await raw.closed).code).toBe(WS_CLOSE.tooSlow);
  });

  it('cancels a watch stream whose consumer does not read, with its reason, before closing the connection', async () => {
    const { url, sockets } = await member({ maxBufferedBytes: 64 * 1024 * 1024, pauseReadingBytes: 128 * 1024 });
    const writer = await connect(url, 'msgpack');
    const raw = await rawSocket(url, 'msgpack');
    raw.send({ id: 1, type: 'open', method: 'watch', request: { create_request: { key: bytes('s/'), range_end: bytes('s0') } } });
    expect(await raw.next()).toMatchObject({ type: 'message', id: 1, response: { created: true } });
    raw.ws.pause();
    const value = new Uint8Array(1024 * 1024).fill(1);
    // watchLimits.maxStreamPendingBytes is 16 MiB: some 20 MiB of events unread cancel the watch.
    for (let i = 0; i < 40; i++) await writer.call('put', { key: bytes(`s/${i}`), value });
    expect(sockets.openConnections).toBe(2);
    raw.ws.resume();
    let last: any;
    do last = await raw.next();
    while (last.response?.canceled !== true);
    expect(last.response.cancel_reason).toContain('maxStreamPendingBytes');
  });
});
