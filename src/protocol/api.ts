// The methods of the client API, their HTTP paths (etcd's v3 gRPC gateway paths) and their request and
// response types. One table, read by the server's router, the JSON codec and the client.

import type { MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse, MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse, StatusRequest, StatusResponse } from './cluster.js';
import type { LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse } from './lease.js';
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
