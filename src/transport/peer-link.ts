// The outgoing side of one peer: its queue, the connection this member dials to it, redials with backoff, and
// the writes. Frames flow only from dialer to listener on this connection (see transport.ts for why).

import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { TransportLimits } from '../limits.js';
import type { NodeId } from '../raft/types.js';
import { Backoff } from './backoff.js';
import { FrameCodec } from './frame.js';
import { HEADERS, PEER_PATH, checkAccept, dialHeaders } from './handshake.js';
import { PeerQueue } from './queue.js';
import { closeReason, type Counters, type Log, type PingPayloads } from './shared.js';

/** Close codes this member sends as a dialer. */
export const DIALER_CLOSE = {
  /** The listener is not the member we meant to reach. */
  identityMismatch: 4001,
  /** The peer left the membership. */
  removed: 4002,
  /** The listener sent a frame; in this protocol only the dialer sends. */
  unexpectedFrame: 4004,
} as const;

export interface LinkContext {
  readonly clusterId: string;
  readonly memberId: NodeId;
  readonly limits: TransportLimits;
  readonly random: () => number;
  readonly log: Log;
  readonly counters: Counters;
  readonly onPeerStatus: (peer: NodeId, connected: boolean) => void;
  /** Asks for flush() at the end of this turn, so that what is queued in one turn leaves in one frame. */
  readonly requestFlush: (link: PeerLink) => void;
  /** Every socket is registered, so that close() can end it and wait for it. */
  readonly track: (ws: WebSocket) => void;
  readonly pings?: PingPayloads;
}

export interface PeerStats {
  readonly connected: boolean;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  readonly sentMessages: number;
  readonly droppedMessages: number;
  readonly receivedMessages: number;
  readonly reconnects: number;
}

type State = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

/** One dialled connection (or attempt), with the reason it failed once one is known. */
interface Connection {
  readonly ws: WebSocket;
  readonly url: string;
  failure: string | null;
}

// Masking protects HTTP intermediaries from frames crafted by scripts in browsers; members talk to each other
// directly, and an all-zero mask lets ws send our frame buffer as it is instead of copying and XORing it, and
// the receiver skip unmasking.
const zeroMask = (mask: Buffer): void => {
  mask.fill(0);
};

export class PeerLink {
  private readonly queue: PeerQueue;
  private readonly backoff: Backoff;
  private urls: readonly string[];
  private urlIndex = 0;
  private state: State = 'idle';
  private conn: Connection | null = null;
  private connected = false;
  private redialTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private lastPongMs = 0;
  /** The socket holds too much: writes resume from a write callback once it drains. */
  private blocked = false;
  private overflowing = false;
  /** The last failure reason logged above debug, so that a peer that stays down does not flood the log. */
  private lastFailure = '';
  private sentMessages = 0;
  private droppedMessages = 0;
  private reconnects = 0;
  receivedMessages = 0;

  constructor(
    readonly peer: NodeId,
    urls: readonly string[],
    private readonly ctx: LinkContext,
  ) {
    this.queue = new PeerQueue(ctx.limits.maxPeerQueueMessages, ctx.limits.maxPeerQueueBytes);
    this.backoff = new Backoff(ctx.limits.reconnectMinMs, ctx.limits.reconnectMaxMs, ctx.random);
    this.urls = urls;
    this.dial();
  }

  stats(): PeerStats {
    return {
      connected: this.connected,
      queuedMessages: this.queue.length,
      queuedBytes: this.queue.byteLength,
      sentMessages: this.sentMessages,
      droppedMessages: this.droppedMessages,
      receivedMessages: this.receivedMessages,
      reconnects: this.reconnects,
    };
  }

  /** Queues one encoded message, or drops and counts it when the queue is full. */
  enqueue(record: Uint8Array): void {
    if (!this.queue.push(record)) {
      this.overflow();
      return;
    }
    if (this.connected && !this.blocked) this.ctx.requestFlush(this);
  }

  /** Counts a message the full queue refused; the first of a run (until the queue drains) is logged. */
  private overflow(): void {
    this.droppedMessages++;
    if (this.overflowing) return;
    this.overflowing = true;
    this.ctx.log('warn', 'peer queue full; dropping new messages until it drains', {
      peer: this.peer,
      connected: this.connected,
      queuedMessages: this.queue.length,
      queuedBytes: this.queue.byteLength,
    });
  }

  /** Counts a message refused for what it is rather than for the queue's state; the caller logs it. */
  refuse(): void {
    this.droppedMessages++;
  }

  setUrls(urls: readonly string[]): void {
    if (urls.length === this.urls.length && urls.every((url, i) => url === this.urls[i])) return;
    const current = this.urls[this.urlIndex % Math.max(1, this.urls.length)];
    this.urls = urls;
    this.urlIndex = 0;
    if (this.state === 'idle') {
      this.dial();
    } else if (this.state === 'waiting') {
      this.clearRedial();
      this.backoff.reset();
      this.dial();
    } else if (current === undefined || !urls.includes(current)) {
      // Connected or connecting to an address the peer no longer has: start over on the new ones.
      this.ctx.log('info', 'peer URLs changed; redialling', { peer: this.peer, urls });
      this.backoff.reset();
      this.conn?.ws.terminate();
    } else {
      this.urlIndex = urls.indexOf(current);
    }
  }

  /** Writes what the queue holds, one frame at a time, until the socket holds maxPeerSocketBufferedBytes. */
  flush(): void {
    const ws = this.conn?.ws;
    if (!this.connected || ws === undefined) return;
    const { maxPeerSocketBufferedBytes, maxPeerFrameBytes } = this.ctx.limits;
    while (this.queue.length > 0 && ws.bufferedAmount < maxPeerSocketBufferedBytes) {
      const { records, frameBytes } = this.queue.take(maxPeerFrameBytes);
      ws.send(FrameCodec.join(records, frameBytes), { binary: true, compress: false, fin: true }, this.written);
      this.sentMessages += records.length;
    }
    this.blocked = this.queue.length > 0;
    if (this.queue.length === 0) this.overflowing = false;
  }

  /** The peer left the membership: drop its queue and disconnect. */
  remove(): void {
    const wasConnected = this.connected;
    this.stop();
    this.queue.clear();
    const ws = this.conn?.ws;
    if (ws !== undefined) {
      if (ws.readyState === WebSocket.OPEN) ws.close(DIALER_CLOSE.removed, 'removed from the membership');
      else ws.terminate();
    }
    if (wasConnected) this.ctx.onPeerStatus(this.peer, false);
  }

  /** The transport is closing: end everything now, without callbacks. */
  shutdown(): void {
    this.stop();
    this.queue.clear();
    this.conn?.ws.terminate();
  }

  private stop(): void {
    this.state = 'closed';
    this.connected = false;
    this.clearRedial();
    this.stopPing();
  }

  // Node calls a write callback with null on success.
  private readonly written = (error?: Error | null): void => {
    const ws = this.conn?.ws;
    if ((error !== undefined && error !== null) || !this.blocked || ws === undefined) return;
    if (ws.bufferedAmount < this.ctx.limits.maxPeerSocketBufferedBytes) {
      this.blocked = false;
      this.ctx.requestFlush(this);
    }
  };

  private dial(): void {
    if (this.state === 'closed') return;
    if (this.urls.length === 0) {
      this.state = 'idle';
      return;
    }
    const url = this.urls[this.urlIndex % this.urls.length]!;
    const { clusterId, memberId, limits } = this.ctx;
    this.state = 'connecting';
    const options: WebSocket.ClientOptions & { readonly closeTimeout: number } = {
      headers: dialHeaders(clusterId, memberId, this.peer),
      handshakeTimeout: limits.handshakeTimeoutMs,
      closeTimeout: limits.handshakeTimeoutMs,
      perMessageDeflate: false,
      followRedirects: false,
      // The listener sends no data frames; anything large from it is a fault.
      maxPayload: 4096,
      generateMask: zeroMask,
    };
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${PEER_PATH}`, options);
    const conn: Connection = { ws, url, failure: null };
    this.conn = conn;
    this.ctx.track(ws);
    let accepted: IncomingHttpHeaders = {};
    ws.on('upgrade', (response) => {
      accepted = response.headers;
    });
    ws.on('unexpected-response', (_request, response) => {
      const refusal = response.headers[HEADERS.refusal];
      conn.failure = `refused by the peer (HTTP ${response.statusCode}): ${typeof refusal === 'string' ? refusal : 'no reason given'}`;
      this.ctx.counters.refusedByPeers++;
      response.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      const mismatch = checkAccept(accepted, { clusterId, peer: this.peer });
      if (mismatch !== null) {
        conn.failure = `refused the listener: ${mismatch}`;
        this.ctx.counters.refusedListeners++;
        ws.close(DIALER_CLOSE.identityMismatch, closeReason(mismatch));
        return;
      }
      this.opened(conn);
    });
    ws.on('message', () => {
      if (conn.failure !== null) return;
      conn.failure = 'the listener sent a data frame';
      ws.close(DIALER_CLOSE.unexpectedFrame, conn.failure);
    });
    ws.on('pong', () => {
      this.lastPongMs = performance.now();
    });
    ws.on('ping', (payload) => {
      if (conn.failure === null) this.ctx.pings?.received(this.peer, payload);
    });
    ws.on('error', (error) => {
      conn.failure ??= error.message;
    });
    ws.on('close', (code, reason) => {
      conn.failure ??= `closed by the peer (code ${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`;
      this.closed(conn, conn.failure);
    });
  }

  private opened(conn: Connection): void {
    if (this.conn !== conn || this.state !== 'connecting') return;
    this.state = 'open';
    this.connected = true;
    this.backoff.reset();
    this.lastFailure = '';
    this.lastPongMs = performance.now();
    this.startPing(conn);
    this.ctx.log('info', 'connected to peer', { peer: this.peer, url: conn.url });
    this.ctx.onPeerStatus(this.peer, true);
    if (this.queue.length > 0) this.ctx.requestFlush(this);
  }

  private closed(conn: Connection, reason: string): void {
    if (this.conn !== conn) return;
    this.conn = null;
    this.stopPing();
    this.blocked = false;
    const wasConnected = this.connected;
    this.connected = false;
    if (this.state === 'closed') return;
    if (wasConnected) {
      this.ctx.log('warn', 'lost connection to peer', { peer: this.peer, url: conn.url, reason });
      this.ctx.onPeerStatus(this.peer, false);
    } else {
      // A peer that stays down fails the same way every time: log the reason when it changes.
      this.ctx.log(reason === this.lastFailure ? 'debug' : 'warn', 'cannot connect to peer', { peer: this.peer, url: conn.url, reason });
      this.lastFailure = reason;
      // Try the peer's next URL, unless setPeers already moved on from this one.
      if (this.urls[this.urlIndex % this.urls.length] === conn.url) this.urlIndex++;
    }
    this.scheduleRedial();
  }

  private scheduleRedial(): void {
    const delayMs = this.backoff.next();
    this.state = 'waiting';
    this.ctx.log('debug', 'redialling peer', { peer: this.peer, delayMs });
    this.redialTimer = setTimeout(() => {
      this.redialTimer = null;
      this.reconnects++;
      this.dial();
    }, delayMs);
  }

  private clearRedial(): void {
    if (this.redialTimer !== null) clearTimeout(this.redialTimer);
    this.redialTimer = null;
  }

  private startPing(conn: Connection): void {
    const { peerPingIntervalMs, peerPongTimeoutMs } = this.ctx.limits;
    this.pingTimer = setInterval(() => {
      const silentMs = performance.now() - this.lastPongMs;
      if (silentMs > peerPongTimeoutMs) {
        conn.failure ??= `no pong for ${Math.round(silentMs)} ms (peerPongTimeoutMs is ${peerPongTimeoutMs})`;
        conn.ws.terminate();
        return;
      }
      conn.ws.ping(this.ctx.pings?.payload());
    }, peerPingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}
