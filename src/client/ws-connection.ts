// One connection to a member's WebSocket API (`/v3/conclave`, docs/api.md): any number of calls and streams at once,
// each under its own frame ID. A call is a promise of its answer; a stream an async iterator of its messages. The
// connection does not reconnect (failover is the client's business): when it closes, every call in progress
// fails and every stream ends with ErrConnectionClosed, naming the close code and reason.

import WebSocket from 'ws';
import { clientLimits } from '../limits.js';
import type { Method, Requests, Responses } from '../protocol/api.js';
import { ConclaveError } from '../protocol/errors.js';
import { decodeResponse, encodeRequest, type Json, type Wire } from '../protocol/json.js';
import { requestContext } from '../protocol/json-value.js';
import { decodeWatchResponseMessage, encodeWatchRequest, type WatchResponse } from '../protocol/json-watch.js';
import type { ResponseHeader } from '../protocol/kv.js';
import type { WatchCreateRequest } from '../protocol/watch.js';
import { decodeServerFrame, encodeClientFrame, MAX_FRAME_ID, WS_API_PATH, WS_SUBPROTOCOLS, type ClientFrame } from '../protocol/ws-frames.js';

export interface WsConnectionOptions {
  /** msgpack (the default) or json (for reading frames while debugging). */
  readonly wire?: Wire;
  readonly dialTimeoutMs?: number;
  readonly maxPendingCalls?: number;
  readonly maxQueuedStreamMessages?: number;
  /** Largest frame accepted from the member. */
  readonly maxResponseBytes?: number;
}

export interface WsCallOptions {
  /** Fails the call with ErrCanceled (a write already sent may still be applied: the member cannot take it back). */
  readonly signal?: AbortSignal;
}

interface PendingCall {
  /** Undefined once the caller gave up: the ID stays taken until the member answers. */
  settle: ((outcome: { ok: true; value: unknown } | { ok: false; error: ConclaveError }) => void) | undefined;
}

/** An open stream: its messages, in order, as an async iterator; close() (or leaving the loop) ends it. */
export class WsStream<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private ending: { readonly error?: ConclaveError } | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly connection: WsConnection,
    readonly id: number,
    private readonly decode: (message: unknown) => T,
    private readonly maxQueued: number,
  ) {}

  /** One more message on the stream, in the codec's message shape for the connection's encoding. */
  send(request: Json): void {
    if (this.ending !== null) throw this.ending.error ?? new ConclaveError('ErrInvalidFrame', `stream ${this.id} is closed`);
    this.connection.sendFrame({ type: 'send', id: this.id, request });
  }

  close(): void {
    if (this.ending !== null) return;
    this.finish();
    this.connection.closeStream(this.id);
  }

  /** @internal A message from the member. */
  push(message: unknown): void {
    if (this.ending !== null) return;
    if (this.queue.length >= this.maxQueued) {
      this.fail(new ConclaveError('ErrWatchCanceled', `more than clientLimits.maxQueuedStreamMessages (${this.maxQueued}) messages of stream ${this.id} not taken`));
      this.connection.closeStream(this.id);
      return;
    }
    try {
      this.queue.push(this.decode(message));
    } catch (error) {
      this.fail(error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error)));
      this.connection.closeStream(this.id);
      return;
    }
    this.wake?.();
  }

  /** @internal The stream ended: after what is queued, the iterator returns, or throws `error`. */
  finish(error?: ConclaveError): void {
    if (this.ending !== null) return;
    this.ending = error === undefined ? {} : { error };
    this.wake?.();
  }

  private fail(error: ConclaveError): void {
    this.queue.length = 0;
    this.finish(error);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.ending !== null) {
          if (this.ending.error !== undefined) throw this.ending.error;
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    } finally {
      this.close();
    }
  }
}

export class WsConnection {
  readonly wire: Wire;
  private readonly calls = new Map<number, PendingCall>();
  private readonly streams = new Map<number, WsStream<unknown>>();
  /** Streams this side closed, until the member confirms: their IDs are not reused before. */
  private readonly closing = new Set<number>();
  private nextId = 0;
  private closedBy: ConclaveError | null = null;
  private readonly maxPendingCalls: number;
  private readonly maxQueuedStreamMessages: number;

  private constructor(
    private readonly ws: WebSocket,
    options: WsConnectionOptions,
  ) {
    this.wire = options.wire ?? 'msgpack';
    this.maxPendingCalls = options.maxPendingCalls ?? clientLimits.maxPendingWsCalls;
    this.maxQueuedStreamMessages = options.maxQueuedStreamMessages ?? clientLimits.maxQueuedStreamMessages;
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.onFrame(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.closed(new ConclaveError('ErrConnectionClosed', `code ${code}${reason.length > 0 ? `: ${reason.toString()}` : ''}`)));
    ws.on('error', (error: Error) => this.closed(new ConclaveError('ErrConnectionClosed', error.message)));
  }

  /** Connects to `endpoint` (a member's client URL, `http://host:port`). */
  static connect(endpoint: string, options: WsConnectionOptions = {}): Promise<WsConnection> {
    const wire = options.wire ?? 'msgpack';
    const url = new URL(WS_API_PATH, endpoint);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, [WS_SUBPROTOCOLS[wire]], {
      perMessageDeflate: false,
      maxPayload: options.maxResponseBytes ?? clientLimits.maxResponseBytes,
      handshakeTimeout: options.dialTimeoutMs ?? clientLimits.dialTimeoutMs,
    });
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => reject(new ConclaveError('ErrUnreachable', `${url.href}: ${error.message}`));
      ws.once('error', fail);
      ws.once('open', () => {
        ws.off('error', fail);
        if (ws.protocol !== WS_SUBPROTOCOLS[wire]) {
          ws.terminate();
          reject(new ConclaveError('ErrUnreachable', `${url.href} did not agree to ${WS_SUBPROTOCOLS[wire]}`));
          return;
        }
        resolve(new WsConnection(ws, { ...options, wire }));
      });
    });
  }

  /** Calls in progress, including those given up on but not yet answered. */
  get pendingCalls(): number {
    return this.calls.size;
  }

  /** Calls `method`; its request is checked and encoded here, so a bad one fails before anything is sent. */
  call<M extends Method>(method: M, request: Requests[M], options: WsCallOptions = {}): Promise<{ header: ResponseHeader; response: Responses[M] }> {
    if (this.closedBy !== null) return Promise.reject(this.closedBy);
    if (this.calls.size >= this.maxPendingCalls) {
      return Promise.reject(new ConclaveError('ErrTooManyRequests', `clientLimits.maxPendingWsCalls (${this.maxPendingCalls}) calls in progress on this connection`));
    }
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(new ConclaveError('ErrCanceled', `${method}: aborted before it was sent`));
    let body: Json;
    try {
      body = encodeRequest(method, request, this.wire);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.takeId();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        pending.settle = undefined;
        reject(new ConclaveError('ErrCanceled', `${method}: aborted (if it was a write, it may still be applied)`));
      };
      const pending: PendingCall = {
        settle: (outcome) => {
          signal?.removeEventListener('abort', onAbort);
          if (!outcome.ok) {
            reject(outcome.error);
            return;
          }
          try {
            resolve(decodeResponse(method, outcome.value));
          } catch (error) {
            reject(error);
          }
        },
      };
      this.calls.set(id, pending);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sendFrame({ type: 'call', id, method, request: body });
    });
  }

  /** Opens a stream of `method`; `decode` reads each message (the codec's message, as decoded from the frame). */
  openStream<T>(method: string, decode: (message: unknown) => T, first?: Json): WsStream<T> {
    if (this.closedBy !== null) throw this.closedBy;
    const id = this.takeId();
    const stream = new WsStream(this, id, decode, this.maxQueuedStreamMessages);
    this.streams.set(id, stream as WsStream<unknown>);
    this.sendFrame(first === undefined ? { type: 'open', id, method } : { type: 'open', id, method, request: first });
    return stream;
  }

  /**
   * One watch on its own stream: every WatchResponse of it (created first, then events, progress), until the
   * member cancels it (the last response says why) or `signal` aborts. Resuming elsewhere is the caller's business.
   */
  async *watch(create: WatchCreateRequest, options: { readonly signal?: AbortSignal } = {}): AsyncGenerator<WatchResponse> {
    const first = encodeWatchRequest({ createRequest: create }, requestContext(this.wire));
    const stream = this.openStream('watch', (message) => decodeWatchResponseMessage(message, 'response'), first);
    const onAbort = (): void => stream.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const response of stream) {
        yield response;
        if (response.canceled === true) return;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      stream.close();
    }
  }

  /** Closes the connection: calls in progress fail and streams end with ErrConnectionClosed. */
  close(): void {
    this.closed(new ConclaveError('ErrConnectionClosed', 'closed by the client'));
    this.ws.close(1000);
  }

  /** @internal */
  sendFrame(frame: ClientFrame): void {
    if (this.closedBy !== null) return;
    this.ws.send(encodeClientFrame(this.wire, frame), { binary: this.wire === 'msgpack' });
  }

  /** @internal */
  closeStream(id: number): void {
    if (!this.streams.delete(id)) return;
    this.closing.add(id);
    this.sendFrame({ type: 'close', id });
  }

  private takeId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === MAX_FRAME_ID ? 0 : id + 1;
      if (!this.calls.has(id) && !this.streams.has(id) && !this.closing.has(id)) return id;
    }
  }

  private onFrame(data: WebSocket.RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const decoded = decodeServerFrame(this.wire, bytes, isBinary);
    if (!decoded.ok) {
      if (decoded.id === undefined) {
        this.closed(new ConclaveError('ErrConnectionClosed', `the member sent a frame that cannot be read: ${decoded.error.message}`));
        this.ws.close(decoded.closeCode);
        return;
      }
      this.settle(decoded.id, decoded.error);
      return;
    }
    const frame = decoded.frame;
    switch (frame.type) {
      case 'response':
        this.settleCall(frame.id, { ok: true, value: frame.response });
        return;
      case 'message':
        this.streams.get(frame.id)?.push(frame.response);
        return;
      case 'error':
        this.settle(frame.id, frame.error);
        return;
      case 'closed': {
        this.closing.delete(frame.id);
        const stream = this.streams.get(frame.id);
        this.streams.delete(frame.id);
        stream?.finish(frame.error);
        return;
      }
    }
  }

  /** An error for a call ends it; for a stream, a message of ours it could not take: the stream ends with it. */
  private settle(id: number, error: ConclaveError): void {
    if (this.calls.has(id)) {
      this.settleCall(id, { ok: false, error });
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    stream.finish(error);
    this.closeStream(id);
  }

  private settleCall(id: number, outcome: { ok: true; value: unknown } | { ok: false; error: ConclaveError }): void {
    const pending = this.calls.get(id);
    if (pending === undefined) return;
    this.calls.delete(id);
    pending.settle?.(outcome);
  }

  private closed(error: ConclaveError): void {
    if (this.closedBy !== null) return;
    this.closedBy = error;
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const pending of calls) pending.settle?.({ ok: false, error });
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) stream.finish(error);
  }
}
