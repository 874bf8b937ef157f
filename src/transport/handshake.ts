// The handshake, on the WebSocket upgrade itself. The dialer's upgrade request names the cluster, the dialer and
// the member it means to reach; the listener refuses with HTTP 403 (the reason in a header and in the body) or
// accepts with its own cluster and member ID in the 101 response, which the dialer checks in turn. No frame
// moves before both sides agree.

import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NodeId } from '../raft/types.js';
import { PEER_PROTOCOL_VERSION } from './frame.js';

/** The path peers dial on the listener. */
export const PEER_PATH = '/raft';

export const HEADERS = {
  version: 'conclave-peer-version',
  clusterId: 'conclave-cluster-id',
  from: 'conclave-from',
  to: 'conclave-to',
  /** On the 101 response: the listener's own member ID. */
  memberId: 'conclave-member-id',
  /** On a 403: why the listener refused. */
  refusal: 'conclave-refusal',
} as const;

const ID_PATTERN = /^[0-9a-f]{16}$/;

/** Cluster and member IDs are 64-bit, written as 16 lowercase hex digits. */
export const isId = (value: string): boolean => ID_PATTERN.test(value);

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The headers a dialer sends. */
export function dialHeaders(clusterId: string, from: NodeId, to: NodeId): Record<string, string> {
  return { [HEADERS.version]: String(PEER_PROTOCOL_VERSION), [HEADERS.clusterId]: clusterId, [HEADERS.from]: from, [HEADERS.to]: to };
}

/** The headers a listener adds to the 101 response. */
export function acceptHeaders(clusterId: string, memberId: NodeId): string[] {
  return [`${HEADERS.version}: ${PEER_PROTOCOL_VERSION}`, `${HEADERS.clusterId}: ${clusterId}`, `${HEADERS.memberId}: ${memberId}`];
}

export type DialCheck = { readonly ok: true; readonly peer: NodeId } | { readonly ok: false; readonly reason: string };

/**
 * The listener's check of an upgrade request. Refusal reasons quote only values that passed the ID pattern, so a
 * reason is always safe to put in a header and a log line.
 */
export function checkDial(headers: IncomingHttpHeaders, local: { readonly clusterId: string; readonly memberId: NodeId; readonly isPeer: (id: NodeId) => boolean }): DialCheck {
  const version = single(headers, HEADERS.version);
  if (version !== String(PEER_PROTOCOL_VERSION)) {
    return { ok: false, reason: version === undefined ? `no ${HEADERS.version} header: not a Conclave peer` : `peer protocol version is not ${PEER_PROTOCOL_VERSION}` };
  }
  const clusterId = single(headers, HEADERS.clusterId);
  const from = single(headers, HEADERS.from);
  const to = single(headers, HEADERS.to);
  if (clusterId === undefined || !isId(clusterId)) return { ok: false, reason: `missing or malformed ${HEADERS.clusterId} header` };
  if (from === undefined || !isId(from)) return { ok: false, reason: `missing or malformed ${HEADERS.from} header` };
  if (to === undefined || !isId(to)) return { ok: false, reason: `missing or malformed ${HEADERS.to} header` };
  if (clusterId !== local.clusterId) return { ok: false, reason: `cluster ID mismatch: this member is in cluster ${local.clusterId}, the dialer in ${clusterId}` };
  if (to !== local.memberId) return { ok: false, reason: `member ID mismatch: this is member ${local.memberId}, the dialer expects ${to}` };
  if (from === local.memberId) return { ok: false, reason: `the dialer claims this member's own ID ${from}` };
  if (!local.isPeer(from as NodeId)) return { ok: false, reason: `member ${from} is not a peer of member ${local.memberId} (removed, or not yet known)` };
  return { ok: true, peer: from as NodeId };
}

/** The dialer's check of a 101 response: null when the listener is who the dialer meant to reach. */
export function checkAccept(headers: IncomingHttpHeaders, expected: { readonly clusterId: string; readonly peer: NodeId }): string | null {
  const clusterId = single(headers, HEADERS.clusterId);
  const memberId = single(headers, HEADERS.memberId);
  if (clusterId === undefined || memberId === undefined) return 'the listener did not identify itself: not a Conclave peer';
  if (clusterId !== expected.clusterId) return `cluster ID mismatch: expected cluster ${expected.clusterId}, the listener is in ${clusterId.slice(0, 16)}`;
  if (memberId !== expected.peer) return `member ID mismatch: expected member ${expected.peer}, the listener is ${memberId.slice(0, 16)}`;
  return null;
}

/** Answers an upgrade request without upgrading, and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: 403 | 404 | 503, reason: string): void {
  const statusText = { 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status];
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${HEADERS.refusal}: ${reason}\r\n\r\n${body}`,
  );
  // Once the answer is out the socket is of no use; a dialer that never closes its side must not keep it open.
  socket.once('finish', () => socket.destroy());
}
