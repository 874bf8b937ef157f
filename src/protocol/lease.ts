// The lease API's request and response types (etcd v3 semantics). A lease is a TTL in seconds that clients keep
// alive; keys attached to it are deleted, in one revision, when it expires or is revoked. IDs are positive
// integers up to 2^53 - 1 (etcd's are int64; ours stay exact in a JS number). TTLs are int64 seconds on the wire.

export interface LeaseGrantRequest {
  /** Requested time to live, in seconds; raised to the cluster's minimum when below it. */
  readonly ttl: number;
  /** Requested ID; 0 (or absent) lets the member choose one. */
  readonly id?: number;
}

export interface LeaseGrantResponse {
  readonly id: number;
  /** The time to live granted, in seconds (at least the cluster's minimum). */
  readonly ttl: number;
}

export interface LeaseRevokeRequest {
  readonly id: number;
}

export type LeaseRevokeResponse = Record<string, never>;

export interface LeaseKeepAliveRequest {
  readonly id: number;
}

export interface LeaseKeepAliveResponse {
  readonly id: number;
  /** The renewed time to live, in seconds; 0 when the lease does not exist (expired or revoked), as etcd answers. */
  readonly ttl: number;
}

export interface LeaseTimeToLiveRequest {
  readonly id: number;
  /** Also list the keys attached to the lease. */
  readonly keys?: boolean;
}

export interface LeaseTimeToLiveResponse {
  readonly id: number;
  /** Seconds left, -1 when the lease does not exist (as etcd answers). */
  readonly ttl: number;
  /** The TTL the lease was granted (or last renewed) with; 0 when it does not exist. */
  readonly grantedTtl: number;
  readonly keys: readonly Uint8Array[];
}

export type LeaseLeasesRequest = Record<string, never>;

export interface LeaseLeasesResponse {
  readonly leases: readonly { readonly id: number }[];
}
