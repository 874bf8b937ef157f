// Conclave's own WebSocket API (`/v3/conclave`): one connection multiplexes calls of every method of the table
// (dispatched through the same handlers as the HTTP gateway) and streams (ws-streams.ts), each under an ID the
// client chose, in msgpack or JSON frames (ws-frames.ts). A frame that cannot be taken changes nothing: it is
// answered with an error frame under its ID, or, without a usable ID, the connection closes with a code that says
// why. Back-pressure both ways: the member stops reading a connection that has wsApiLimits.maxConcurrentRequests
// calls in progress or more than pauseReadingBytes queued toward it, and closes one that lets maxBufferedBytes
// queue up unread (its watch streams are cancelled as too slow well before, at watchLimits.maxStreamPendingBytes).

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { wsApiLimits, type WsApiLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import { decodeRequest, encodeResponse, isMethod, type Json, type Wire } from '../protocol/json.js';
import { decodeClientFrame, encodeServerFrame, frameIdOf, messageFrameEnds, WS_CLOSE, WS_SUBPROTOCOLS, type ClientFrame, type ServerFrame } from '../protocol/ws-frames.js';
import { dispatch } from './api.js';
import type { Logger } from './log.js';
import type { Member } from './member.js';
import { isStreamMethod, STREAM_METHODS, type StreamSession } from './ws-streams.js';

const WIRE_OF_SUBPROTOCOL = new Map<string, Wire>(Object.entries(WS_SUBPROTOCOLS).map(([wire, protocol]) => [protocol, wire as Wire]));
/** A close frame's reason holds at most 123 bytes. */
const MAX_CLOSE_REASON_CHARS = 120;

export class ApiSockets {
  private readonly limits: WsApiLimits;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<ApiConnection>();

  constructor(
    private readonly member: Member,
    private readonly log: Logger,
    limits: Partial<WsApiLimits> = {},
  ) {
    this.limits = { ...wsApiLimits, ...limits };
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      // Frames over maxFrameBytes are still read, to be answered and skipped; only beyond this one does ws close (1009).
      maxPayload: this.limits.maxOversizedFrameBytes,
      handleProtocols: (offered) => [...offered].find((protocol) => WIRE_OF_SUBPROTOCOL.has(protocol)) ?? false,
    });
  }

  /** The encoding is the subprotocol the client offered, else `?encoding=`, else msgpack. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const asked = new URL(req.url ?? '/', 'http://member').searchParams.get('encoding');
    if (asked !== null && asked !== 'json' && asked !== 'msgpack') {
      const body = `unknown encoding ${JSON.stringify(asked.slice(0, 40))}: json or msgpack`;
      socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const wire = WIRE_OF_SUBPROTOCOL.get(ws.protocol) ?? (asked as Wire | null) ?? 'msgpack';
      const connection = new ApiConnection(ws, socket, wire, this.member, this.limits, this.log);
      this.connections.add(connection);
      ws.on('close', () => this.connections.delete(connection));
    });
  }

  /** Connections being served (one that is closing is no longer). */
  get openConnections(): number {
    let open = 0;
    for (const connection of this.connections) if (!connection.isEnded) open++;
    return open;
  }

  close(): void {
    for (const connection of this.connections) connection.end(WS_CLOSE.goingAway, 'the member is stopping');
    this.connections.clear();
    this.wss.close();
  }
}

class ApiConnection {
  /** IDs of the calls in progress. */
  private readonly calls = new Set<number>();
  private readonly streams = new Map<number, StreamSession>();
  /** Aborted when the connection goes: its calls that wait (a lock, a campaign) withdraw. */
  private readonly gone = new AbortController();
  private ended = false;
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    /** The upgraded socket under `ws`: corked while one turn's frames are queued, so that they leave in one write. */
    private readonly socket: Duplex,
    private readonly wire: Wire,
    private readonly member: Member,
    private readonly limits: WsApiLimits,
    private readonly log: Logger,
  ) {
    ws.on('message', (data: RawData, isBinary: boolean) => this.onFrame(bytesOf(data), isBinary));
    ws.on('close', () => this.closeAll());
    ws.on('error', () => this.closeAll());
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Closes the connection with `code`, and cuts it if the client does not take the close frame in time. */
  end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.closeAll();
    // Read again: the client's answer to the close frame ends the handshake (the frames before it are dropped).
    if (this.ws.isPaused) this.ws.resume();
    this.ws.close(code, reason.length > MAX_CLOSE_REASON_CHARS ? `${reason.slice(0, MAX_CLOSE_REASON_CHARS - 3)}...` : reason);
    setTimeout(() => this.ws.terminate(), this.limits.closeTimeoutMs).unref();
  }

  private closeAll(): void {
    this.gone.abort();
    for (const session of this.streams.values()) session.close();
    this.streams.clear();
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.ended) return;
    if (data.length > this.limits.maxFrameBytes) {
      const id = frameIdOf(this.wire, data, isBinary);
      const tooLarge = new ConclaveError('ErrRequestTooLarge', `a frame of ${data.length} bytes, above wsApiLimits.maxFrameBytes (${this.limits.maxFrameBytes})`);
      if (id === undefined || this.calls.has(id)) this.end(WS_CLOSE.messageTooBig, tooLarge.message);
      else this.sendFrame({ type: 'error', id, error: tooLarge });
      return;
    }
    const decoded = decodeClientFrame(this.wire, data, isBinary);
    if (!decoded.ok) {
      // Under the ID of an open stream an error is about one message, and the stream goes on; under that of a call in
      // progress it would read as the call's answer, so there is no way to answer it.
      if (decoded.id === undefined) this.end(decoded.closeCode, decoded.error.message);
      else if (this.calls.has(decoded.id)) this.end(WS_CLOSE.protocolError, `frame ${decoded.id}: ${decoded.error.message}`);
      else this.sendFrame({ type: 'error', id: decoded.id, error: decoded.error });
      return;
    }
    this.take(decoded.frame);
  }

  private inUse(id: number): boolean {
    return this.calls.has(id) || this.streams.has(id);
  }

  private take(frame: ClientFrame): void {
    const { id } = frame;
    if (frame.type === 'send' || frame.type === 'close') {
      const session = this.streams.get(id);
      if (session === undefined) {
        // A close may cross the member's own end of the stream; a message to no stream is the client's mistake.
        if (frame.type === 'send') this.sendFrame({ type: 'error', id, error: new ConclaveError('ErrInvalidFrame', `no stream ${id} is open`) });
        return;
      }
      if (frame.type === 'send') this.receive(id, session, frame.request);
      else this.endStream(id);
      return;
    }
    if (this.inUse(id)) {
      this.end(WS_CLOSE.protocolError, `id ${id} is in use by a call or stream in progress`);
      return;
    }
    if (frame.type === 'call') this.call(id, frame.method, frame.request);
    else this.open(id, frame.method, frame.request);
  }

  private call(id: number, method: string, body: unknown): void {
    if (!isMethod(method)) {
      const problem = isStreamMethod(method) ? `${method} is a stream: open it` : `no method ${JSON.stringify(method.slice(0, 40))}`;
      this.sendFrame({ type: 'error', id, error: new ConclaveError('ErrNotFound', problem) });
      return;
    }
    if (this.calls.size >= this.limits.maxConcurrentRequests) {
      this.sendFrame({ type: 'error', id, error: new ConclaveError('ErrTooManyRequests', `wsApiLimits.maxConcurrentRequests (${this.limits.maxConcurrentRequests}) calls in progress on this connection`) });
      return;
    }
    let request: unknown;
    try {
      request = decodeRequest(method, body);
    } catch (error) {
      this.sendFrame({ type: 'error', id, error: asConclaveError(error) });
      return;
    }
    this.calls.add(id);
    this.updateReading();
    void dispatch(this.member, method, request, { signal: this.gone.signal }).then(
      ({ header, response }) => this.answer(id, () => encodeResponse(method, header, response as never, this.wire)),
      (error: unknown) => this.answer(id, undefined, asConclaveError(error)),
    );
  }

  private answer(id: number, encode: (() => Json) | undefined, failure?: ConclaveError): void {
    this.calls.delete(id);
    let error = failure;
    if (encode !== undefined) {
      try {
        this.sendFrame({ type: 'response', id, response: encode() });
      } catch (encodingFailure) {
        error = asConclaveError(encodingFailure);
      }
    }
    if (error !== undefined) {
      if (error.code === 'ErrInternal') this.log.error('ws call failed', { id, error });
      this.sendFrame({ type: 'error', id, error });
    }
    this.updateReading();
  }

  private open(id: number, method: string, first: unknown): void {
    const start = STREAM_METHODS[method];
    if (start === undefined || !isStreamMethod(method)) {
      const problem = isMethod(method) ? `${method} is a call, not a stream` : `no stream method ${JSON.stringify(method.slice(0, 40))}`;
      this.sendFrame({ type: 'error', id, error: new ConclaveError('ErrNotFound', problem) });
      return;
    }
    if (this.streams.size >= this.limits.maxStreams) {
      this.sendFrame({ type: 'error', id, error: new ConclaveError('ErrTooManyRequests', `wsApiLimits.maxStreams (${this.limits.maxStreams}) streams open on this connection`) });
      return;
    }
    const ends = messageFrameEnds(this.wire, id);
    const session = start({
      member: this.member,
      wire: this.wire,
      send: (response) => this.sendFrame({ type: 'message', id, response }),
      sendPieces: (pieces) => this.send(Buffer.concat(ends.closing === undefined ? [ends.opening, ...pieces] : [ends.opening, ...pieces, ends.closing])),
      queuedBytes: () => this.ws.bufferedAmount,
      end: (error) => {
        if (this.streams.get(id) !== session) return;
        this.streams.delete(id);
        this.sendFrame(error === undefined ? { type: 'closed', id } : { type: 'closed', id, error });
      },
    });
    this.streams.set(id, session);
    if (first !== undefined) this.receive(id, session, first);
  }

  private receive(id: number, session: StreamSession, request: unknown): void {
    try {
      session.receive(request);
    } catch (error) {
      this.sendFrame({ type: 'error', id, error: asConclaveError(error) });
    }
  }

  private endStream(id: number): void {
    const session = this.streams.get(id);
    if (session === undefined) return;
    this.streams.delete(id);
    session.close();
    this.sendFrame({ type: 'closed', id });
  }

  private sendFrame(frame: ServerFrame): number {
    return this.send(encodeServerFrame(this.wire, frame));
  }

  /** Queues one frame; returns the bytes now queued toward the client. */
  private send(data: Uint8Array | string): number {
    if (this.ended || this.ws.readyState !== this.ws.OPEN) return 0;
    if (!this.corked) {
      // Answers of one apply turn resolve together: one socket write for all of them instead of one each.
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.ws.send(data, { binary: this.wire === 'msgpack' }, () => this.updateReading());
    const queued = this.ws.bufferedAmount;
    if (queued > this.limits.maxBufferedBytes) {
      this.end(WS_CLOSE.tooSlow, `more than wsApiLimits.maxBufferedBytes (${this.limits.maxBufferedBytes}) queued unread`);
    } else {
      this.updateReading();
    }
    return queued;
  }

  /** Reading stops while the connection has as many calls as it may, or a backlog toward the client. */
  private updateReading(): void {
    if (this.ended) return;
    const hold = this.calls.size >= this.limits.maxConcurrentRequests || this.ws.bufferedAmount > this.limits.pauseReadingBytes;
    if (hold && !this.ws.isPaused) this.ws.pause();
    else if (!hold && this.ws.isPaused) this.ws.resume();
  }
}

function asConclaveError(error: unknown): ConclaveError {
  return error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', error instanceof Error ? error.message : String(error));
}

function bytesOf(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

