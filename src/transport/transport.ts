// The peer transport: carries Raft messages between the members of one cluster over WebSocket.
//
// Connections. Each member dials every peer it sends to, and writes frames only on the connections it dialled;
// the connections it accepts it only reads. So between two members there are two connections, one per
// direction. Why not one connection both ways with a tie-break: with one per direction there is no race
// between two members dialling each other at once to settle, a member's messages to a peer never wait for the
// peer to dial it, a member that cannot reach a peer (a one-way partition, a wrong advertised URL) finds out
// itself and redials, and each side's queue, backpressure and backoff belong to exactly one socket. It costs one
// more socket per pair, which for three or five members is nothing. (etcd's rafthttp also has one stream per
// direction, though there the dialer is the side that reads.)
//
// Handshake (handshake.ts). The upgrade request carries the cluster ID, the dialer's member ID and the member ID
// it means to reach; the listener refuses with HTTP 403 and a reason a different cluster, a different member, or
// a sender that is not one of its peers. The 101 response names the listener's cluster and member, which the
// dialer checks and, on a mismatch, closes (4001). Either refusal is logged with its reason and counted.
//
// Frames (frame.ts). A version byte, then one or more msgpack-encoded messages. Every message is validated
// (validate.ts) before onMessage sees it; a frame with any fault closes its connection (1007) and delivers
// nothing; a frame over maxPeerFrameBytes is refused by ws (1009). A valid message whose `to` is not this member
// or whose `from` is not the connection's peer is dropped and counted.
//
// Queues and writes (peer-link.ts, queue.ts). send() encodes each message and appends it to its peer's queue,
// bounded by maxPeerQueueMessages and maxPeerQueueBytes; when full, the newest message is dropped and counted
// (Raft resends). At the end of the turn (setImmediate) each peer's queue is written as frames of up to
// maxPeerFrameBytes, so that what one turn sends costs one frame per peer; writing stops while the socket
// buffers more than maxPeerSocketBufferedBytes and resumes as it drains. A peer that is down or slow therefore
// fills only its own queue. Messages written to a connection that then breaks are lost (Raft resends). Redials
// back off exponentially with jitter (backoff.ts) between reconnectMinMs and reconnectMaxMs; open connections
// are pinged, and one silent for peerPongTimeoutMs is redialled. The listener answers each ping with a ping of
// its own; both carry what the embedder's `pings` gives (the server's clock samples), so each member hears from
// each peer it is connected to, either way, every peerPingIntervalMs.
//
// onMessage runs synchronously inside the socket's data handler; an exception it throws is not caught here (the
// embedder decides what is fatal).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { transportLimits, type TransportLimits } from '../limits.js';
import type { Message, NodeId } from '../raft/types.js';
import { parseUrl } from '../util/urls.js';
import type WebSocket from 'ws';
import { TransportError } from './errors.js';
import type { PeerFaults } from './faults.js';
import { FrameCodec } from './frame.js';
import { isId } from './handshake.js';
import { PeerListener, type ListenAddress } from './listener.js';
import { PeerLink, type PeerStats } from './peer-link.js';
import { newCounters, type Counters, type Log, type PingPayloads } from './shared.js';

export interface PeerTransportOptions {
  /** 16 lowercase hex digits. */
  readonly clusterId: string;
  /** This member (16 lowercase hex digits). */
  readonly memberId: NodeId;
  /** Where to listen for peers, e.g. ['http://127.0.0.1:2380'] (port 0 picks a free port; see listenAddresses). */
  readonly listenUrls: readonly string[];
  /** A message for this member, decoded and validated. */
  readonly onMessage: (message: Message) => void;
  /** This member's connection to `peer` (the one it sends on) came up or went down. */
  readonly onPeerStatus?: (peer: NodeId, connected: boolean) => void;
  readonly log?: Log;
  readonly limits?: Partial<TransportLimits>;
  /** Jitter of redial delays, in [0, 1) (default Math.random). */
  readonly random?: () => number;
  /**
   * Plain HTTP requests on the peer port (a member joining the cluster asks its peers who it is); returns false for
   * a request it does not serve, which then gets the listener's 426.
   */
  readonly serveHttp?: (request: IncomingMessage, response: ServerResponse) => boolean;
  /** Cuts to simulate a partition (faults.ts); only a member started for fault injection has them. */
  readonly faults?: PeerFaults;
  /** What pings carry, both ways (the server puts its clock samples in them); without it pings are empty. */
  readonly pings?: PingPayloads;
}

export type { PeerStats } from './peer-link.js';
export type { PingPayloads } from './shared.js';
export type { ListenAddress } from './listener.js';
export type TransportCounters = Readonly<Counters>;

const URL_OPTIONS = { schemes: ['http'], bareOnly: true } as const;

export class PeerTransport {
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly sockets = new Set<WebSocket>();
  private readonly counters: Counters = newCounters();
  private readonly codec: FrameCodec;
  private readonly dirty = new Set<PeerLink>();
  private flushImmediate: NodeJS.Immediate | null = null;
  private listener: PeerListener | null = null;
  private closed: Promise<void> | null = null;
  private readonly log: Log;

  private constructor(
    private readonly options: PeerTransportOptions,
    private readonly limits: TransportLimits,
  ) {
    this.codec = new FrameCodec(limits.maxPeerFrameBytes);
    this.log = options.log ?? (() => {});
  }

  /** Listens on every listen URL; rejects with ErrPeerListen (naming the URL and the cause) if one cannot be bound. */
  static async start(options: PeerTransportOptions): Promise<PeerTransport> {
    if (!isId(options.clusterId)) throw invalid(`cluster ID "${options.clusterId}" is not 16 lowercase hex digits`);
    if (!isId(options.memberId)) throw invalid(`member ID "${options.memberId}" is not 16 lowercase hex digits`);
    if (options.listenUrls.length === 0) throw invalid('no listen URL');
    const urls = options.listenUrls.map((url) => checkedUrl(url, 'listen URL'));
    const transport = new PeerTransport(options, resolveLimits(options.limits));
    transport.listener = await PeerListener.listen(urls, {
      clusterId: options.clusterId,
      memberId: options.memberId,
      limits: transport.limits,
      log: transport.log,
      counters: transport.counters,
      isPeer: (id) => transport.links.has(id),
      deliver: (peer, messages) => transport.deliver(peer, messages),
      track: (ws) => transport.track(ws),
      ...(options.pings === undefined ? {} : { pings: options.pings }),
      ...(options.serveHttp === undefined ? {} : { serveHttp: options.serveHttp }),
    });
    transport.log('info', 'peer transport listening', { addresses: transport.listenAddresses });
    return transport;
  }

  /** The bound addresses, in the order of listenUrls. */
  get listenAddresses(): readonly ListenAddress[] {
    return this.listener?.addresses ?? [];
  }

  /**
   * The peer URLs of the other members (this member's own ID, if present, is ignored). Peers not in the map are
   * disconnected both ways and their queues dropped; new peers are dialled at once. Throws ErrInvalidTransportOption,
   * changing nothing, if an ID or URL is malformed.
   */
  setPeers(peers: ReadonlyMap<NodeId, readonly string[]>): void {
    if (this.closed !== null) return;
    const next = new Map<NodeId, readonly string[]>();
    for (const [peer, urls] of peers) {
      if (peer === this.options.memberId) continue;
      if (!isId(peer)) throw invalid(`peer ID "${peer}" is not 16 lowercase hex digits`);
      next.set(peer, urls.map((url) => checkedUrl(url, `URL of peer ${peer}`)));
    }
    for (const [peer, link] of this.links) {
      if (next.has(peer)) continue;
      this.links.delete(peer);
      this.dirty.delete(link);
      link.remove();
      this.listener?.disconnect(peer);
      this.log('info', 'peer removed', { peer });
    }
    for (const [peer, urls] of next) {
      const link = this.links.get(peer);
      if (link !== undefined) {
        link.setUrls(urls);
        continue;
      }
      this.log('info', 'peer added', { peer, urls });
      this.links.set(
        peer,
        new PeerLink(peer, urls, {
          clusterId: this.options.clusterId,
          memberId: this.options.memberId,
          limits: this.limits,
          random: this.options.random ?? Math.random,
          log: this.log,
          counters: this.counters,
          onPeerStatus: (id, connected) => this.options.onPeerStatus?.(id, connected),
          requestFlush: (target) => this.requestFlush(target),
          track: (ws) => this.track(ws),
          ...(this.options.pings === undefined ? {} : { pings: this.options.pings }),
        }),
      );
    }
  }

  /** Queues each message for its peer. Never blocks and never throws: what cannot be queued is dropped and counted. */
  send(messages: readonly Message[]): void {
    if (this.closed !== null) return;
    for (const message of messages) {
      if (this.options.faults?.drops(message.to) === true) continue;
      const link = this.links.get(message.to);
      if (link === undefined) {
        this.counters.unroutableMessages++;
        this.log('debug', 'message for a member that is not a peer dropped', { to: message.to, type: message.type });
        continue;
      }
      let record: Uint8Array;
      try {
        record = this.codec.encodeMessage(message);
      } catch (error) {
        link.refuse();
        this.log('error', 'message cannot be encoded; dropped', { peer: message.to, type: message.type, error: error instanceof Error ? error.message : String(error) });
        continue;
      }
      if (record.length > this.limits.maxPeerFrameBytes) {
        link.refuse();
        this.log('error', 'message larger than maxPeerFrameBytes; dropped', { peer: message.to, type: message.type, bytes: record.length, limitBytes: this.limits.maxPeerFrameBytes });
        continue;
      }
      link.enqueue(record);
    }
  }

  stats(): ReadonlyMap<NodeId, PeerStats> {
    return new Map([...this.links].map(([peer, link]) => [peer, link.stats()]));
  }

  /** Faults counted across all peers: refused handshakes, malformed frames, misaddressed and unroutable messages. */
  faults(): TransportCounters {
    return { ...this.counters };
  }

  /** Closes the listeners and every connection and clears every timer; resolves once all sockets are closed. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    if (this.flushImmediate !== null) clearImmediate(this.flushImmediate);
    this.flushImmediate = null;
    this.dirty.clear();
    for (const link of this.links.values()) link.shutdown();
    this.links.clear();
    const listenerClosed = this.listener?.close();
    const socketsClosed = [...this.sockets].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.terminate();
        }),
    );
    await Promise.all([listenerClosed, ...socketsClosed]);
    this.log('info', 'peer transport closed');
  }

  private deliver(peer: NodeId, messages: readonly Message[]): void {
    if (this.options.faults?.drops(peer, messages.length) === true) return;
    const link = this.links.get(peer);
    for (const message of messages) {
      if (message.to !== this.options.memberId || message.from !== peer) {
        const count = ++this.counters.misaddressedMessages;
        // A misconfigured peer may do this at its full message rate: log the 1st, 2nd, 4th, 8th... only.
        if ((count & (count - 1)) === 0) this.log('warn', 'misaddressed message dropped', { peer, from: message.from, to: message.to, type: message.type, count });
        continue;
      }
      if (link !== undefined) link.receivedMessages++;
      this.options.onMessage(message);
    }
  }

  /**
   * Writes what is queued now instead of at the end of the turn: the embedder calls it once it has sent everything
   * of one batch (a Ready's messages), so that followers start on an append while the leader goes on with its own
   * disk write.
   */
  flush(): void {
    if (this.flushImmediate !== null) {
      clearImmediate(this.flushImmediate);
      this.flushImmediate = null;
    }
    const links = [...this.dirty];
    this.dirty.clear();
    for (const each of links) each.flush();
  }

  private requestFlush(link: PeerLink): void {
    this.dirty.add(link);
    this.flushImmediate ??= setImmediate(() => {
      this.flushImmediate = null;
      this.flush();
    });
  }

  private track(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.once('close', () => this.sockets.delete(ws));
  }
}

function invalid(message: string): TransportError {
  return new TransportError('ErrInvalidTransportOption', message);
}

function checkedUrl(url: string, what: string): string {
  const parsed = parseUrl(url, URL_OPTIONS);
  if (!parsed.ok) throw invalid(`${what}: ${parsed.error}`);
  return parsed.url;
}

function resolveLimits(overrides: Partial<TransportLimits> | undefined): TransportLimits {
  const limits: TransportLimits = { ...transportLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw invalid(`transport limit ${name} must be a positive integer, not ${value}`);
  }
  if (limits.reconnectMinMs > limits.reconnectMaxMs) throw invalid(`reconnectMinMs (${limits.reconnectMinMs}) exceeds reconnectMaxMs (${limits.reconnectMaxMs})`);
  return limits;
}
