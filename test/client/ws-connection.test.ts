// The client's WebSocket connection: against a member started as an application embeds it (the gateway routes the
// upgrade), and against a scripted server that never answers, for what the client itself bounds and reports:
// aborted calls, the pending-call bound, and a closed connection failing everything still in progress.

import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { WsConnection } from '../../src/client/ws-connection.js';
import { WS_SUBPROTOCOLS } from '../../src/protocol/ws-frames.js';
import { startLocalNode } from '../support/local-node.js';

const bytes = (value: string) => new TextEncoder().encode(value);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that takes the upgrade and every frame, and answers none. */
async function silentServer(): Promise<{ url: string; sockets: WebSocket[]; frames: number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (offered) => [...offered][0] ?? false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const state = { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, sockets: [] as WebSocket[], frames: 0 };
  wss.on('connection', (ws) => {
    state.sockets.push(ws);
    ws.on('message', () => state.frames++);
  });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  cleanups.push(() => state.sockets.forEach((ws) => ws.terminate()));
  return state;
}

describe('WsConnection', () => {
  it('calls and watches through the member’s gateway, in both encodings', async () => {
    const { node, url } = await startLocalNode(cleanups, 'conclave-ws-client-');
    for (const wire of ['json', 'msgpack'] as const) {
      const connection = await WsConnection.connect(url, { wire });
      cleanups.push(() => connection.close());
      const put = await connection.call('put', { key: bytes(`g/${wire}`), value: bytes('1') });
      const members = await connection.call('memberList', {});
      expect(members.response.members.map((m) => m.id)).toEqual([node.id]);
      const watch = connection.watch({ key: bytes(`g/${wire}`), startRevision: put.header.revision });
      const iterator = watch[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toMatchObject({ created: true });
      const replayed = (await iterator.next()).value;
      expect(replayed.events.map((e: any) => e.kv.modRevision)).toEqual([put.header.revision]);
      await iterator.return(undefined);
    }
    // The member stopping ends its connections: what is in progress fails with the close code.
    const connection = await WsConnection.connect(url);
    const stream = connection.watch({ key: bytes('never') })[Symbol.asyncIterator]();
    expect((await stream.next()).value).toMatchObject({ created: true });
    const ended = stream.next();
    await node.close();
    await expect(ended).rejects.toMatchObject({ code: 'ErrConnectionClosed', detail: expect.stringContaining('1001') });
    await expect(connection.call('status', {})).rejects.toMatchObject({ code: 'ErrConnectionClosed' });
  });

  it('fails an aborted call at once, and keeps its ID taken until the member answers', async () => {
    const server = await silentServer();
    const connection = await WsConnection.connect(server.url, { wire: 'json' });
    const abort = new AbortController();
    const call = connection.call('range', { key: bytes('a') }, { signal: abort.signal });
    abort.abort();
    await expect(call).rejects.toMatchObject({ code: 'ErrCanceled' });
    expect(connection.pendingCalls).toBe(1);
    const already = new AbortController();
    already.abort();
    await expect(connection.call('status', {}, { signal: already.signal })).rejects.toMatchObject({ code: 'ErrCanceled' });
    connection.close();
  });

  it('bounds pending calls, refuses a request it cannot encode before sending, and fails all in progress when the connection closes', async () => {
    const server = await silentServer();
    const connection = await WsConnection.connect(server.url, { maxPendingCalls: 2 });
    await expect(connection.call('put', { key: new Uint8Array(20_000), value: bytes('1') })).rejects.toMatchObject({ code: 'ErrKeyTooLarge' });
    const first = connection.call('put', { key: bytes('a'), value: bytes('1') });
    const second = connection.call('status', {});
    await expect(connection.call('status', {})).rejects.toMatchObject({ code: 'ErrTooManyRequests', detail: expect.stringContaining('maxPendingWsCalls') });
    const stream = connection.watch({ key: bytes('k') })[Symbol.asyncIterator]();
    const streamEnd = stream.next();
    while (server.frames < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const ws of server.sockets) ws.close(4321, 'scripted');
    for (const pending of [first, second, streamEnd]) await expect(pending).rejects.toMatchObject({ code: 'ErrConnectionClosed', detail: 'code 4321: scripted' });
  });

  it('refuses a server that does not agree to the encoding', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => WS_SUBPROTOCOLS.json });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    await expect(WsConnection.connect(url, { wire: 'msgpack' })).rejects.toMatchObject({ code: 'ErrUnreachable' });
  });
});
