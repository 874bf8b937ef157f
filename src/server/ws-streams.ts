// The streaming methods of the WebSocket API, one entry per method: what a stream opened under that name does
// with the messages the client sends on it and what it pushes back. A new streaming method (a lease keep-alive)
// is a new entry here; the connection (ws-api.ts) needs no change.

import { leaseLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import { decodeRequest, encodeResponse } from '../protocol/json.js';
import { decodeWatchRequest } from '../protocol/json-watch.js';
import type { Json, Wire } from '../protocol/json.js';
import { JSON_WATCH_RESPONSES, MSGPACK_WATCH_RESPONSES } from '../protocol/watch-encodings.js';
import { keepAliveLease } from './lease-api.js';
import { observeLeaders } from './election-api.js';
import { registryWatch } from './registry-stream.js';
import type { Member } from './member.js';
import { WatchStream } from './watch-stream.js';

/** What a stream may do on its connection. Both send methods return the bytes now queued toward the client. */
export interface StreamContext {
  readonly member: Member;
  readonly wire: Wire;
  /** Sends one message: a response message of the codec, written for this connection's encoding. */
  send(response: Json): number;
  /** Sends one message whose response is already encoded for this connection, as pieces in order. */
  sendPieces(pieces: readonly Uint8Array[]): number;
  /** Bytes queued toward the client. */
  queuedBytes(): number;
  /** Ends the stream from the member's side (a `closed` frame, with the error when there is one). */
  end(error?: ConclaveError): void;
}

export interface StreamSession {
  /** One message from the client, as decoded from the frame; throws a ConclaveError for one it cannot take (it changes nothing, and the stream goes on). */
  receive(request: unknown): void;
  /** The client closed the stream, or the connection went away. */
  close(): void;
}

export type StreamMethod = (context: StreamContext) => StreamSession;

/** A watch stream: WatchRequests in, WatchResponses out, as `/v3/watch`, with events encoded once per encoding. */
function watch(context: StreamContext): StreamSession {
  const { member } = context;
  const stream = new WatchStream({
    hub: member.watches,
    header: (revision) => member.header(revision),
    encoding: context.wire === 'json' ? JSON_WATCH_RESPONSES : MSGPACK_WATCH_RESPONSES,
    write: (pieces) => {
      context.sendPieces(pieces);
    },
    queuedBytes: () => context.queuedBytes(),
  });
  return {
    receive: (request) => stream.handle(decodeWatchRequest(request)),
    close: () => stream.close(),
  };
}

/**
 * A lease keep-alive stream: LeaseKeepAliveRequests in, a LeaseKeepAliveResponse out for each, as
 * `/v3/lease/keepalive`. A renewal that fails (the leader changed, too many waiting) ends the stream with its
 * error, as etcd's keep-alive stream ends: the client opens another, at the new leader.
 */
function leaseKeepAlive(context: StreamContext): StreamSession {
  let pending = 0;
  let open = true;
  return {
    receive: (request) => {
      const decoded = decodeRequest('leaseKeepAlive', request);
      if (pending >= leaseLimits.maxPendingKeepAlivesPerStream) {
        throw new ConclaveError('ErrTooManyRequests', `${pending} renewals of this stream wait for an answer (leaseLimits.maxPendingKeepAlivesPerStream)`);
      }
      pending++;
      keepAliveLease(context.member, decoded).then(
        ({ header, response }) => {
          pending--;
          if (open) context.send(encodeResponse('leaseKeepAlive', header, response, context.wire));
        },
        (error: unknown) => {
          pending--;
          if (!open) return;
          open = false;
          context.end(error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error)));
        },
      );
    },
    close: () => {
      open = false;
    },
  };
}

/**
 * An observe stream: one LeaderRequest (the first message), a LeaderResponse out per leader, as
 * `/v3/election/observe`. A failure ends the stream with its error; further messages are refused.
 */
function observe(context: StreamContext): StreamSession {
  const controller = new AbortController();
  let started = false;
  return {
    receive: (request) => {
      if (started) throw new ConclaveError('ErrInvalidField', 'an observe stream takes one LeaderRequest');
      const decoded = decodeRequest('observe', request);
      started = true;
      void (async () => {
        try {
          for await (const { header, response } of observeLeaders(context.member, decoded, controller.signal)) context.send(encodeResponse('observe', header, response, context.wire));
        } catch (error) {
          if (!controller.signal.aborted) context.end(error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error)));
        }
      })();
    },
    close: () => controller.abort(),
  };
}

export const STREAM_METHODS: Readonly<Record<string, StreamMethod>> = { watch, leaseKeepAlive, observe, registryWatch };

export function isStreamMethod(name: string): boolean {
  return Object.hasOwn(STREAM_METHODS, name);
}
