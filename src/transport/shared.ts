// What the transport's parts share: the log function, the transport-wide counters, close-reason text.

import type { NodeId } from '../raft/types.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, text: string, fields?: Record<string, unknown>) => void;

/** Faults counted across all peers (some cannot be attributed to a known peer). */
export interface Counters {
  /** Upgrade requests this member's listener refused (wrong cluster, wrong member, unknown sender, bad headers). */
  refusedDials: number;
  /** Listeners this member dialled and refused, because they answered as another cluster or member. */
  refusedListeners: number;
  /** Dials of this member that a peer refused. */
  refusedByPeers: number;
  /** Inbound frames that were not valid (not binary, wrong version, not msgpack, not messages, too large); each closed its connection. */
  malformedFrames: number;
  /** Valid messages dropped because `to` was not this member or `from` not the connection's peer. */
  misaddressedMessages: number;
  /** Messages passed to send() for a member that is not a peer. */
  unroutableMessages: number;
}

export const newCounters = (): Counters => ({
  refusedDials: 0,
  refusedListeners: 0,
  refusedByPeers: 0,
  malformedFrames: 0,
  misaddressedMessages: 0,
  unroutableMessages: 0,
});

/** A WebSocket close reason is at most 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  let reason = text.slice(0, 123);
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

/** What pings carry: the payload to send, and what to do with one received from a peer. */
export interface PingPayloads {
  readonly payload: () => Buffer;
  readonly received: (peer: NodeId, payload: Buffer) => void;
}
