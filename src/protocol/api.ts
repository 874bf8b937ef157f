// The methods of the client API, their HTTP paths (etcd's v3 gRPC gateway paths) and their request and
// response types. One table, read by the server's router, the JSON codec and the client.

import type { MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse, MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse, StatusRequest, StatusResponse } from './cluster.js';
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
} as const;

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
}

export const HEALTH_PATH = '/health';
/** The streaming watch call (a stream of WatchRequests in, lines of `{"result":WatchResponse}` out). */
export const WATCH_PATH = '/v3/watch';
