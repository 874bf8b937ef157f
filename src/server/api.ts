// The client API of a member, one handler per method of src/protocol/api.ts: what the HTTP gateway (and, later, the
// WebSocket API and the embedded handle) call. Each validates, proposes or reads, and returns header and response.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Method, Requests, Responses } from '../protocol/api.js';
import { NO_MEMBER_ID, type StatusResponse } from '../protocol/cluster.js';
import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import { validateRangeRequest } from '../state/index.js';
import { grantLease, keepAliveLease, leaseTimeToLive, listLeases, revokeLease } from './lease-api.js';
import { callLeader, mustRelay } from './leader-relay.js';
import { lock, putSequential, unlock } from './lock-api.js';
import { campaign, leader, observe, proclaim, resign } from './election-api.js';
import type { Member } from './member.js';
import { addMember, listMembers, promoteMember, removeMember } from './membership.js';
import { deregisterInstance, listInstances, registerInstance } from './registry-api.js';
import { allocateWorker, releaseWorker, reserveSegment } from './snowflake-api.js';
import { packageVersion } from './version.js';
import { proposeWrite, type RequestContext } from './write.js';

export type { RequestContext } from './write.js';

export type Handler<M extends Method> = (member: Member, request: Requests[M], context?: RequestContext) => Promise<{ header: ResponseHeader; response: Responses[M] }>;

export const handlers: { readonly [M in Method]: Handler<M> } = {
  range: (member, request) => {
    const invalid = validateRangeRequest(request);
    if (invalid !== null) throw invalid;
    return member.range(request);
  },
  put: (member, request, context) => proposeWrite(member, { type: 'put', request }, context),
  deleteRange: (member, request, context) => proposeWrite(member, { type: 'deleteRange', request }, context),
  txn: (member, request, context) => proposeWrite(member, { type: 'txn', request }, context),
  compact: (member, request, context) => proposeWrite(member, { type: 'compact', request }, context),
  status: async (member) => ({ header: member.header(), response: await statusOf(member) }),
  memberList: async (member, request) => {
    if (request.linearizable === true) await member.linearizableBarrier();
    return { header: member.header(), response: listMembers(member) };
  },
  memberAdd: async (member, request) => ({ header: member.header(), response: await addMember(member, request) }),
  memberRemove: async (member, request) => ({ header: member.header(), response: await removeMember(member, request.id) }),
  memberPromote: async (member, request) => ({ header: member.header(), response: await promoteMember(member, request.id) }),
  leaseGrant: grantLease,
  leaseRevoke: revokeLease,
  leaseKeepAlive: keepAliveLease,
  leaseTimeToLive: leaseTimeToLive,
  leaseLeases: (member) => listLeases(member),
  putSequential,
  lock,
  unlock,
  campaign,
  proclaim,
  leader,
  observe,
  resign,
  registryRegister: registerInstance,
  registryDeregister: deregisterInstance,
  registryList: listInstances,
  workerAllocate: allocateWorker,
  workerRelease: releaseWorker,
  segmentReserve: reserveSegment,
};

type AnyHandler = (member: Member, request: unknown, context: RequestContext) => Promise<{ header: ResponseHeader; response: unknown }>;

/**
 * Runs one call of `method` for any API: on this member, or (a membership change on a member that does not lead)
 * on the leader. A handler that throws at once fails the promise like one that rejects.
 */
/** Runs a call of any API (HTTP or WebSocket) on this member, or on the leader for what only the leader does. */
export async function dispatch(member: Member, method: Method, request: unknown, context: RequestContext = {}): Promise<{ header: ResponseHeader; response: unknown }> {
  if (mustRelay(member, method)) return callLeader(member, method, request as never);
  return (handlers[method] as unknown as AnyHandler)(member, request, context);
}

export async function statusOf(member: Member): Promise<StatusResponse> {
  const node = member.raftNode;
  const dbSize = await directoryBytes(join(member.config.dataDir, 'member'));
  return {
    version: packageVersion(),
    dbSize,
    dbSizeInUse: dbSize,
    leader: node.leaderId === '' ? NO_MEMBER_ID : node.leaderId,
    raftIndex: node.commitIndex,
    raftTerm: node.term,
    raftAppliedIndex: member.appliedIndex,
    errors: [],
    isLearner: member.appliedConfig.learners.includes(member.id),
  };
}

/** etcd's /health: healthy when there is a leader and a linearizable read goes through in time. */
export async function healthOf(member: Member, timeoutMs: number): Promise<{ health: boolean; reason: string }> {
  if (member.isStopping) return { health: false, reason: 'STOPPING' };
  if (member.raftNode.leaderId === '') return { health: false, reason: 'RAFT NO LEADER' };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      member.linearizableBarrier(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new ConclaveError('ErrTimeout')), timeoutMs))),
    ]);
    return { health: true, reason: '' };
  } catch (error) {
    return { health: false, reason: error instanceof ConclaveError ? `QGET ERROR: ${error.message}` : 'QGET ERROR' };
  } finally {
    clearTimeout(timer);
  }
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (!entry.isFile()) continue;
    total += await stat(join(entry.parentPath, entry.name)).then((s) => s.size, () => 0);
  }
  return total;
}

/** GET /debug/vars (as etcd's expvar page): the member's counters, for operators and benchmarks. */
export function debugVarsOf(member: Member): Record<string, unknown> {
  const node = member.raftNode;
  return {
    member: member.id,
    raft: { term: node.term, leader: node.leaderId, isLeader: node.isLeader, commit: node.commitIndex, lastIndex: node.lastIndex, applied: member.appliedIndex },
    storage: member.storageStats(),
    kv: { revision: member.kv.revision, compactRevision: member.kv.compactRevision },
    watches: member.watches.watcherCount,
    leases: { live: member.kv.leases.size, leading: member.lessor.isLeading },
    // The clocks, so that a test that moves this process's clocks can see them move, and the lease clock not.
    clock: { wallMs: Date.now(), monotonicMs: performance.now(), lease: member.leaseClock.state },
    memory: process.memoryUsage(),
  };
}
