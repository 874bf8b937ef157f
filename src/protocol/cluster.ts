// The cluster and maintenance API's types (etcd v3's Cluster and Maintenance services). Member and cluster IDs are
// 64-bit, held as 16 lowercase hex digits (the JSON gateway shows them as decimal strings, as etcd does).

export interface Member {
  readonly id: string;
  /** Empty until the member has started and published its name. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  /** Empty until the member has started and published its client URLs. */
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface MemberListRequest {
  /** Served from the local member without confirming it is current. */
  readonly linearizable?: boolean;
}
export interface MemberListResponse {
  readonly members: readonly Member[];
}

export interface MemberAddRequest {
  readonly peerUrls: readonly string[];
  readonly isLearner?: boolean;
}
export interface MemberAddResponse {
  readonly member: Member;
  readonly members: readonly Member[];
}

export interface MemberRemoveRequest {
  readonly id: string;
}
export interface MemberRemoveResponse {
  readonly members: readonly Member[];
}

export interface MemberPromoteRequest {
  readonly id: string;
}
export interface MemberPromoteResponse {
  readonly members: readonly Member[];
}

export type StatusRequest = Record<string, never>;
export interface StatusResponse {
  readonly version: string;
  /** Bytes the member's data directory takes on disk. */
  readonly dbSize: number;
  readonly dbSizeInUse: number;
  /** The leader's member ID, or '0000000000000000' when there is none. */
  readonly leader: string;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  readonly errors: readonly string[];
  readonly isLearner: boolean;
}

/** GET /health: etcd's shape ({"health":"true"} with a reason when false). */
export interface HealthResponse {
  readonly health: boolean;
  readonly reason: string;
}

export const NO_MEMBER_ID = '0000000000000000';
