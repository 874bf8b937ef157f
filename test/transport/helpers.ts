// Shared by the transport tests: member IDs, message builders, transports on 127.0.0.1:0 that record what they
// receive and log, raw ws peers, and waiting on real sockets.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { TransportLimits } from '../../src/limits.js';
import { index, nodeId, term, type AppendRequest, type HeartbeatRequest, type Message, type NodeId } from '../../src/raft/types.js';
import { PeerTransport, type PeerTransportOptions } from '../../src/transport/index.js';
import { HEADERS, PEER_PATH } from '../../src/transport/handshake.js';
import { PEER_PROTOCOL_VERSION } from '../../src/transport/frame.js';

export const CLUSTER = '00000000000c1a57';
export const OTHER_CLUSTER = '00000000000dead0';
export const A = nodeId('000000000000000a');
export const B = nodeId('000000000000000b');
export const C = nodeId('000000000000000c');
export const D = nodeId('000000000000000d');

export function heartbeat(from: NodeId, to: NodeId, commit: number, context = ''): HeartbeatRequest {
  return { type: 'heartbeat', from, to, term: term(3), commit: index(commit), context };
}

export function append(from: NodeId, to: NodeId, prevLogIndex: number, dataBytes: number, entryCount = 1): AppendRequest {
  const entries = Array.from({ length: entryCount }, (_, i) => {
    const data = new Uint8Array(dataBytes);
    for (let j = 0; j < data.length; j += 997) data[j] = (prevLogIndex + i + j) & 0xff;
    return { term: term(3), index: index(prevLogIndex + 1 + i), type: 'normal' as const, data };
  });
  return { type: 'append', from, to, term: term(3), prevLogIndex: index(prevLogIndex), prevLogTerm: term(3), entries, commit: index(prevLogIndex) };
}

export interface LogLine {
  readonly level: string;
  readonly text: string;
  readonly fields: Record<string, unknown> | undefined;
  /** performance.now() when it was logged. */
  readonly at: number;
}

/** A transport with its recordings. */
export interface Member {
  readonly id: NodeId;
  readonly transport: PeerTransport;
  readonly received: Message[];
  readonly logs: LogLine[];
  readonly statuses: { peer: NodeId; connected: boolean }[];
  readonly url: string;
}

const open = new Set<{ close(): Promise<void> }>();

/** Closes everything the helpers started (call in afterEach). */
export async function closeAll(): Promise<void> {
  const all = [...open];
  open.clear();
  await Promise.all(all.map((each) => each.close()));
}

export async function startMember(id: NodeId, options: Partial<PeerTransportOptions> & { port?: number; limits?: Partial<TransportLimits> } = {}): Promise<Member> {
  const received: Message[] = [];
  const logs: LogLine[] = [];
  const statuses: { peer: NodeId; connected: boolean }[] = [];
  const transport = await PeerTransport.start({
    clusterId: CLUSTER,
    memberId: id,
    listenUrls: [`http://127.0.0.1:${options.port ?? 0}`],
    onMessage: (message) => received.push(message),
    onPeerStatus: (peer, connected) => statuses.push({ peer, connected }),
    log: (level, text, fields) => logs.push({ level, text, fields, at: performance.now() }),
    ...options,
  });
  open.add(transport);
  const address = transport.listenAddresses[0]!;
  return { id, transport, received, logs, statuses, url: `http://127.0.0.1:${address.port}` };
}

/** Makes every member a peer of every other. */
export function connectAll(members: readonly Member[]): void {
  for (const member of members) {
    member.transport.setPeers(new Map(members.filter((other) => other !== member).map((other) => [other.id, [other.url]])));
  }
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets pending I/O and immediates run (a transport writes at the end of a turn). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const connected = (member: Member, peer: NodeId): boolean => member.transport.stats().get(peer)?.connected === true;

/** A raw ws client that completes a valid handshake with `target` as `from`, for sending hand-made frames. */
export async function rawDialer(target: Member, from: NodeId, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(`${target.url.replace('http', 'ws')}${PEER_PATH}`, {
    headers: { [HEADERS.version]: String(PEER_PROTOCOL_VERSION), [HEADERS.clusterId]: CLUSTER, [HEADERS.from]: from, [HEADERS.to]: target.id, ...headers },
    perMessageDeflate: false,
  });
  open.add({ close: () => closeSocket(ws) });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** Resolves with the close code and reason once `ws` closes. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  const done = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.terminate();
  return done;
}

/** A raw WebSocket listener on 127.0.0.1:0 that answers as `identity` would, and records every frame it gets. */
export async function rawListener(identity: { clusterId: string; memberId: string }, options: { autoPong?: boolean } = {}): Promise<{
  readonly url: string;
  readonly frames: Buffer[];
  readonly sockets: WebSocket[];
  /** Close codes of the connections that ended. */
  readonly closes: number[];
  readonly server: Server;
}> {
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, autoPong: options.autoPong ?? true, maxPayload: 64 * 1024 * 1024 });
  wss.on('headers', (headers) => headers.push(`${HEADERS.clusterId}: ${identity.clusterId}`, `${HEADERS.memberId}: ${identity.memberId}`));
  const frames: Buffer[] = [];
  const sockets: WebSocket[] = [];
  const closes: number[] = [];
  server.on('upgrade', (request, socket, head) =>
    wss.handleUpgrade(request, socket, head, (ws) => {
      sockets.push(ws);
      ws.on('message', (data) => frames.push(data as Buffer));
      ws.on('close', (code) => closes.push(code));
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  open.add({
    close: async () => {
      await Promise.all(sockets.map(closeSocket));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, frames, sockets, closes, server };
}

/** A port that was free a moment ago (nothing listens on it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
