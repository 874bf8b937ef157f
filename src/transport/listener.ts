// The incoming side: one HTTP server per listen URL, the handshake check on upgrade, and one connection per peer
// from which frames are decoded, validated and handed on. This side never sends data frames.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { TransportLimits } from '../limits.js';
import type { Message, NodeId } from '../raft/types.js';
import { TransportError } from './errors.js';
import { FrameCodec } from './frame.js';
import { PEER_PATH, acceptHeaders, checkDial, refuseUpgrade } from './handshake.js';
import { closeReason, type Counters, type Log, type PingPayloads } from './shared.js';

/** Close codes this member sends as a listener. */
export const LISTENER_CLOSE = {
  /** The frame was not valid (RFC 6455's "invalid frame payload data"). */
  malformedFrame: 1007,
  /** The peer left the membership. */
  removed: 4002,
  /** The same peer dialled again; the older connection is stale. */
  replaced: 4003,
} as const;

export interface ListenerContext {
  readonly clusterId: string;
  readonly memberId: NodeId;
  readonly limits: TransportLimits;
  readonly log: Log;
  readonly counters: Counters;
  readonly isPeer: (id: NodeId) => boolean;
  /** Messages of one valid frame from `peer`, in order. */
  readonly deliver: (peer: NodeId, messages: readonly Message[]) => void;
  readonly track: (ws: WebSocket) => void;
  /** Plain HTTP requests on the peer port (not upgrades); returns false for those it does not serve. */
  readonly serveHttp?: (request: IncomingMessage, response: ServerResponse) => boolean;
  readonly pings?: PingPayloads;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export class PeerListener {
  private readonly servers: Server[] = [];
  private readonly wss: WebSocketServer;
  private readonly codec: FrameCodec;
  private readonly inbound = new Map<NodeId, WebSocket>();
  /** Sockets that have not upgraded yet, each with the timer that ends it if it does not in time. */
  private readonly pending = new Map<Socket, NodeJS.Timeout>();
  private closing = false;

  private constructor(private readonly ctx: ListenerContext) {
    this.codec = new FrameCodec(ctx.limits.maxPeerFrameBytes);
    const options: ConstructorParameters<typeof WebSocketServer>[0] & { readonly closeTimeout: number } = {
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: ctx.limits.maxPeerFrameBytes,
      closeTimeout: ctx.limits.handshakeTimeoutMs,
    };
    this.wss = new WebSocketServer(options);
    const identity = acceptHeaders(ctx.clusterId, ctx.memberId);
    this.wss.on('headers', (headers) => headers.push(...identity));
  }

  /** Binds every URL, or none: on a failure the ones already bound are closed and the error says which URL and why. */
  static async listen(urls: readonly string[], ctx: ListenerContext): Promise<PeerListener> {
    const listener = new PeerListener(ctx);
    try {
      for (const url of urls) await listener.bind(url);
    } catch (error) {
      await listener.close();
      throw error;
    }
    return listener;
  }

  get addresses(): readonly ListenAddress[] {
    return this.servers.map((server) => {
      const address = server.address() as AddressInfo;
      return { host: address.address, port: address.port };
    });
  }

  /** Ends the connection from a peer that left the membership. */
  disconnect(peer: NodeId): void {
    const ws = this.inbound.get(peer);
    if (ws === undefined) return;
    this.inbound.delete(peer);
    ws.close(LISTENER_CLOSE.removed, 'removed from the membership');
  }

  /** Stops listening and ends every socket; resolves once the servers are closed. */
  async close(): Promise<void> {
    this.closing = true;
    for (const [socket, timer] of this.pending) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.pending.clear();
    for (const ws of this.inbound.values()) ws.terminate();
    this.inbound.clear();
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  private async bind(url: string): Promise<void> {
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = parsed.port === '' ? 80 : Number(parsed.port);
    const server = createServer((request, response) => {
      if (this.ctx.serveHttp?.(request, response) === true) return;
      response.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      response.end(`this is a Conclave peer listener: upgrade to WebSocket on ${PEER_PATH}\n`);
    });
    server.maxConnections = this.ctx.limits.maxInboundPeerSockets;
    server.on('connection', (socket) => this.connected(socket));
    server.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new TransportError('ErrPeerListen', `cannot listen on ${url}: ${explainListenError(error, host, port)}`)));
      server.listen({ host, port }, () => resolve());
    });
    server.on('error', (error) => this.ctx.log('error', 'peer listener failed', { url, error: error.message }));
    this.servers.push(server);
  }

  private connected(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      this.pending.delete(socket);
      this.ctx.log('debug', 'peer socket did not complete its handshake in time', { remote: socket.remoteAddress, limitMs: this.ctx.limits.handshakeTimeoutMs });
      socket.destroy();
    }, this.ctx.limits.handshakeTimeoutMs);
    this.pending.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.pending.delete(socket);
    });
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const timer = this.pending.get(socket as Socket);
    if (timer !== undefined) clearTimeout(timer);
    this.pending.delete(socket as Socket);
    if (this.closing) {
      socket.destroy();
      return;
    }
    const remote = (socket as Socket).remoteAddress;
    if (new URL(request.url ?? '/', 'http://peer').pathname !== PEER_PATH) {
      refuseUpgrade(socket, 404, `no such path; peers dial ${PEER_PATH}`);
      return;
    }
    const check = checkDial(request.headers, { clusterId: this.ctx.clusterId, memberId: this.ctx.memberId, isPeer: this.ctx.isPeer });
    if (!check.ok) {
      this.ctx.counters.refusedDials++;
      this.ctx.log('warn', 'refused a peer connection', { remote, reason: check.reason });
      refuseUpgrade(socket, 403, check.reason);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.adopt(check.peer, ws));
  }

  private adopt(peer: NodeId, ws: WebSocket): void {
    this.ctx.track(ws);
    const previous = this.inbound.get(peer);
    // The dialer keeps one connection to us: a new one means the old one is dead on its side.
    if (previous !== undefined) previous.close(LISTENER_CLOSE.replaced, 'replaced by a newer connection from the same member');
    this.inbound.set(peer, ws);
    this.ctx.log('debug', 'accepted a peer connection', { peer });
    let rejected = false;
    ws.on('message', (data, isBinary) => {
      if (rejected) return;
      const reason = !isBinary ? 'text frame' : null;
      const decoded = reason === null ? this.codec.decodeFrame(asBytes(data)) : null;
      if (decoded !== null && decoded.ok) {
        this.ctx.deliver(peer, decoded.messages);
        return;
      }
      rejected = true;
      this.malformed(peer, ws, reason ?? (decoded !== null && !decoded.ok ? decoded.reason : 'unreadable frame'));
    });
    const pings = this.ctx.pings;
    if (pings !== undefined) {
      ws.on('ping', (payload) => {
        if (rejected) return;
        pings.received(peer, payload);
        ws.ping(pings.payload());
      });
    }
    ws.on('error', (error: Error & { code?: string }) => {
      // ws reports protocol violations (an oversized frame, a bad opcode) as errors with a WS_ERR code, then closes.
      if (error.code?.startsWith('WS_ERR_') === true && !rejected) {
        rejected = true;
        this.ctx.counters.malformedFrames++;
        this.ctx.log('warn', 'peer broke the WebSocket protocol; connection closed', { peer, reason: error.message, limitBytes: this.ctx.limits.maxPeerFrameBytes });
      } else {
        this.ctx.log('debug', 'peer connection error', { peer, error: error.message });
      }
    });
    ws.on('close', (code) => {
      if (this.inbound.get(peer) === ws) this.inbound.delete(peer);
      this.ctx.log('debug', 'peer connection closed', { peer, code });
    });
  }

  private malformed(peer: NodeId, ws: WebSocket, reason: string): void {
    this.ctx.counters.malformedFrames++;
    this.ctx.log('warn', 'malformed frame from peer; connection closed', { peer, reason });
    ws.close(LISTENER_CLOSE.malformedFrame, closeReason(`malformed frame: ${reason}`));
  }
}

function asBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

function explainListenError(error: NodeJS.ErrnoException, host: string, port: number): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is already in use (EADDRINUSE)`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine (EADDRNOTAVAIL)`;
    case 'EACCES':
      return `permission denied for port ${port} (EACCES)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host ${host} (${error.code})`;
    default:
      return error.message;
  }
}
