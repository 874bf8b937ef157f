// The lease calls of the client API. Grants and revokes are proposals (any member takes them); renewals and
// time-to-live are answered by the leader, which alone keeps lease time (a follower sends them on); the list is
// read from the applied state after a ReadIndex barrier.

import { randomInt } from 'node:crypto';
import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import type {
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
} from '../protocol/lease.js';
import { validateKvCommand, type KvCommand } from '../state/index.js';
import { checkLeaseId } from '../state/kv-validate.js';
import { callLeader } from './leader-relay.js';
import type { Member } from './member.js';

type Answer<R> = Promise<{ header: ResponseHeader; response: R }>;

/** A lease ID the member picks: random in 1..2^53-1, so that members picking at once do not collide. */
function newLeaseId(): number {
  return randomInt(1, 2 ** 21) * 2 ** 32 + randomInt(0, 2 ** 32 - 1);
}

/** etcd's minimum TTL: one and a half election timeouts, in whole seconds (a shorter lease could expire in an election). */
export function minLeaseTtlSeconds(electionTimeoutMs: number): number {
  return Math.ceil((1.5 * electionTimeoutMs) / 1000);
}

async function proposeLease(member: Member, command: KvCommand): Promise<{ revision: number; response: unknown }> {
  const invalid = validateKvCommand(command);
  if (invalid !== null) throw invalid;
  const result = await member.proposeKv(command);
  if (!result.ok) throw result.error;
  return result;
}

export async function grantLease(member: Member, request: LeaseGrantRequest): Answer<LeaseGrantResponse> {
  const ttl = Math.max(request.ttl, minLeaseTtlSeconds(member.config.electionTimeoutMs));
  const requested = request.id ?? 0;
  if (requested !== 0) {
    const invalid = checkLeaseId(requested);
    if (invalid !== null) throw invalid;
  }
  // A chosen ID that is taken (once in 2^53) is chosen again; a requested one that is taken is the client's error.
  for (let attempt = 0; ; attempt++) {
    const id = requested !== 0 ? requested : newLeaseId();
    try {
      // Stamped with this member's lease clock: when the TTL began, for members that apply the grant late.
      const stamp = member.leaseClock.stamp();
      const result = await proposeLease(member, { type: 'leaseGrant', request: stamp === undefined ? { id, ttl } : { id, ttl, stamp } });
      return { header: member.header(result.revision), response: result.response as LeaseGrantResponse };
    } catch (error) {
      if (requested !== 0 || attempt >= 2 || !(error instanceof ConclaveError) || error.code !== 'ErrLeaseExist') throw error;
    }
  }
}

export async function revokeLease(member: Member, request: LeaseRevokeRequest): Answer<LeaseRevokeResponse> {
  // The member's wall time: from it the worker IDs the lease held become reusable (src/state/workers.ts).
  const result = await proposeLease(member, { type: 'leaseRevoke', request: { id: request.id, atMs: Date.now() } });
  return { header: member.header(result.revision), response: {} };
}

/** Where the leader is, to send it what only it answers; null when this member leads. */
async function leaderUrl(member: Member): Promise<string | null> {
  await member.leaderElected();
  if (member.raftNode.isLeader) return null;
  const url = member.attributesOf(member.raftNode.leaderId).clientUrls[0];
  if (url === undefined) throw new ConclaveError('ErrNoLeader', 'the leader has not published its client URLs yet');
  return url;
}

export async function keepAliveLease(member: Member, request: LeaseKeepAliveRequest): Answer<LeaseKeepAliveResponse> {
  const invalid = checkLeaseId(request.id);
  if (invalid !== null) throw invalid;
  const url = await leaderUrl(member);
  if (url !== null) return member.keepAliveRelay.renew(url, request.id);
  const ttl = await member.lessor.renew(request.id);
  return { header: member.header(), response: { id: request.id, ttl } };
}

export async function leaseTimeToLive(member: Member, request: LeaseTimeToLiveRequest): Answer<LeaseTimeToLiveResponse> {
  const url = await leaderUrl(member);
  if (url !== null) return callLeader(member, 'leaseTimeToLive', request);
  // What was granted before this call reached the leader is applied here before it answers.
  await member.linearizableBarrier();
  const lease = member.kv.leases.get(request.id);
  const ttl = lease === undefined ? -1 : member.lessor.remainingSeconds(request.id);
  if (lease === undefined || ttl < 0) return { header: member.header(), response: { id: request.id, ttl: -1, grantedTtl: 0, keys: [] } };
  const keys = request.keys === true ? await member.kv.attachedKeys(member.backendReader, request.id) : [];
  return { header: member.header(), response: { id: request.id, ttl, grantedTtl: lease.ttlSeconds, keys } };
}

export async function listLeases(member: Member): Answer<LeaseLeasesResponse> {
  await member.linearizableBarrier();
  const leases = [...member.kv.leases.all()].map((lease) => ({ id: lease.id })).sort((a, b) => a.id - b.id);
  return { header: member.header(), response: { leases } };
}
