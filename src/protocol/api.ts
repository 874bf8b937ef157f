// The methods of the client API, their HTTP paths (etcd's v3 gRPC gateway paths) and their request and
// response types. One table, read by the server's router, the JSON codec and the client.

import type { MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse, MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse, StatusRequest, StatusResponse } from './cluster.js';
import type { LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse } from './lease.js';
import type { LockRequest, LockResponse, PutSequentialRequest, PutSequentialResponse, UnlockRequest, UnlockResponse } from './lock.js';
import type { CampaignRequest, CampaignResponse, LeaderRequest, LeaderResponse, ProclaimRequest, ProclaimResponse, ResignRequest, ResignResponse } from './election.js';
import type { RegistryDeregisterRequest, RegistryDeregisterResponse, RegistryListRequest, RegistryListResponse, RegistryRegisterRequest, RegistryRegisterResponse } from './registry.js';
import type { SegmentReserveRequest, SegmentReserveResponse, WorkerAllocateRequest, WorkerAllocateResponse, WorkerReleaseRequest, WorkerReleaseResponse } from './snowflake.js';
import type { CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse } from './kv.js';

export const METHOD_PATHS = {
  range: '/v3/kv/range',
  put: '/v3/kv/put',
  deleteRange: '/v3/kv/deleterange',
  txn: '/v3/kv/txn',
  compact: '/v3/kv/compaction',
  status: '/v3/maintenance/status',
  memberList: '/v3/cluster/member/list',
  memberAdd: '/v3/cluster/member/add',
  memberRemove: '/v3/cluster/member/remove',
  memberPromote: '/v3/cluster/member/promote',
  leaseGrant: '/v3/lease/grant',
  leaseRevoke: '/v3/lease/revoke',
  /** One renewal per call here; the gateway path streams (see LEASE_KEEPALIVE_PATH). */
  leaseKeepAlive: '/v3/lease/keepalive',
  leaseTimeToLive: '/v3/lease/timetolive',
  leaseLeases: '/v3/lease/leases',
  putSequential: '/v3/kv/putsequential',
  lock: '/v3/lock/lock',
  unlock: '/v3/lock/unlock',
  campaign: '/v3/election/campaign',
  proclaim: '/v3/election/proclaim',
  leader: '/v3/election/leader',
  /** One answer (the current leader) per call here; the gateway path streams (see ELECTION_OBSERVE_PATH). */
  observe: '/v3/election/observe',
  resign: '/v3/election/resign',
  registryRegister: '/v3/registry/register',
  registryDeregister: '/v3/registry/deregister',
  registryList: '/v3/registry/list',
  workerAllocate: '/v3/snowflake/worker/allocate',
  workerRelease: '/v3/snowflake/worker/release',
  segmentReserve: '/v3/snowflake/segment/reserve',
} as const;

/** etcd 3.4's gateway also binds these lease calls under /v3/kv/lease/ (etcdctl's older paths). */
export const METHOD_ALIASES: Readonly<Record<string, Method>> = {
  '/v3/kv/lease/revoke': 'leaseRevoke',
  '/v3/kv/lease/timetolive': 'leaseTimeToLive',
  '/v3/kv/lease/leases': 'leaseLeases',
};

export type Method = keyof typeof METHOD_PATHS;

/**
 * The calls that wait at the member until their outcome (a lock held, a candidate elected): a client bounds an
 * attempt by the call's own timeout, not its request timeout, and the member withdraws one whose caller goes away.
 */
export const WAITING_METHODS: ReadonlySet<Method> = new Set<Method>(['lock', 'campaign']);

export interface Requests {
  range: RangeRequest;
  put: PutRequest;
  deleteRange: DeleteRangeRequest;
  txn: TxnRequest;
  compact: CompactionRequest;
  status: StatusRequest;
  memberList: MemberListRequest;
  memberAdd: MemberAddRequest;
  memberRemove: MemberRemoveRequest;
  memberPromote: MemberPromoteRequest;
  leaseGrant: LeaseGrantRequest;
  leaseRevoke: LeaseRevokeRequest;
  leaseKeepAlive: LeaseKeepAliveRequest;
  leaseTimeToLive: LeaseTimeToLiveRequest;
  leaseLeases: LeaseLeasesRequest;
  putSequential: PutSequentialRequest;
  lock: LockRequest;
  unlock: UnlockRequest;
  campaign: CampaignRequest;
  proclaim: ProclaimRequest;
  leader: LeaderRequest;
  observe: LeaderRequest;
  resign: ResignRequest;
  registryRegister: RegistryRegisterRequest;
  registryDeregister: RegistryDeregisterRequest;
  registryList: RegistryListRequest;
  workerAllocate: WorkerAllocateRequest;
  workerRelease: WorkerReleaseRequest;
  segmentReserve: SegmentReserveRequest;
}

export interface Responses {
  range: RangeResponse;
  put: PutResponse;
  deleteRange: DeleteRangeResponse;
  txn: TxnResponse;
  compact: CompactionResponse;
  status: StatusResponse;
  memberList: MemberListResponse;
  memberAdd: MemberAddResponse;
  memberRemove: MemberRemoveResponse;
  memberPromote: MemberPromoteResponse;
  leaseGrant: LeaseGrantResponse;
  leaseRevoke: LeaseRevokeResponse;
  leaseKeepAlive: LeaseKeepAliveResponse;
  leaseTimeToLive: LeaseTimeToLiveResponse;
  leaseLeases: LeaseLeasesResponse;
  putSequential: PutSequentialResponse;
  lock: LockResponse;
  unlock: UnlockResponse;
  campaign: CampaignResponse;
  proclaim: ProclaimResponse;
  leader: LeaderResponse;
  observe: LeaderResponse;
  resign: ResignResponse;
  registryRegister: RegistryRegisterResponse;
  registryDeregister: RegistryDeregisterResponse;
  registryList: RegistryListResponse;
  workerAllocate: WorkerAllocateResponse;
  workerRelease: WorkerReleaseResponse;
  segmentReserve: SegmentReserveResponse;
}

export const HEALTH_PATH = '/health';
/** The streaming watch call (a stream of WatchRequests in, lines of `{"result":WatchResponse}` out). */
export const WATCH_PATH = '/v3/watch';
/** The streaming keepalive call (LeaseKeepAliveRequests in, lines of `{"result":LeaseKeepAliveResponse}` out). */
export const LEASE_KEEPALIVE_PATH = METHOD_PATHS.leaseKeepAlive;
/** The streaming observe call (a LeaderRequest in, lines of `{"result":LeaderResponse}` out, one per leader change). */
export const ELECTION_OBSERVE_PATH = METHOD_PATHS.observe;
