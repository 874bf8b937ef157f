// The Snowflake recipe's calls: a worker ID of a pool allocated to a lease or released, and a block of a segment
// counter reserved. Each is one proposal; the member stamps it with its wall time and its clock-skew bound, which
// the state machine (no clock of its own) compares and records (src/state/workers.ts).

import { snowflakeLimits } from '../limits.js';
import type { ResponseHeader } from '../protocol/kv.js';
import type { SegmentReserveRequest, SegmentReserveResponse, WorkerAllocateRequest, WorkerAllocateResponse, WorkerReleaseRequest, WorkerReleaseResponse } from '../protocol/snowflake.js';
import type { Member } from './member.js';
import { proposeWrite, type RequestContext } from './write.js';

type Answer<R> = Promise<{ header: ResponseHeader; response: R }>;

/** 10 worker bits, as Twitter's Snowflake. */
export const DEFAULT_WORKER_COUNT = 1024;

export function allocateWorker(member: Member, request: WorkerAllocateRequest, context?: RequestContext): Answer<WorkerAllocateResponse> {
  const command = { pool: request.pool, lease: request.lease, workerCount: request.workerCount ?? DEFAULT_WORKER_COUNT, nowMs: Date.now(), maxClockSkewMs: snowflakeLimits.maxClockSkewMs };
  return proposeWrite(member, { type: 'workerAllocate', request: command }, context);
}

export function releaseWorker(member: Member, request: WorkerReleaseRequest, context?: RequestContext): Answer<WorkerReleaseResponse> {
  return proposeWrite(member, { type: 'workerRelease', request: { ...request, nowMs: Date.now() } }, context);
}

export function reserveSegment(member: Member, request: SegmentReserveRequest, context?: RequestContext): Answer<SegmentReserveResponse> {
  return proposeWrite(member, { type: 'segmentReserve', request: { name: request.name, count: request.count } }, context);
}
