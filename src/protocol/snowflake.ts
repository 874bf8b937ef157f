// The Snowflake recipe's wire types: worker IDs of a pool, each bound to a lease, and Leaf-style segments of a
// named counter. Times are milliseconds of wall time (Unix epoch).

export interface WorkerAllocateRequest {
  readonly pool: string;
  /** The lease the worker ID is bound to: it is freed when the lease dies. */
  readonly lease: number;
  /** Worker IDs the pool has: the ID is the lowest free one in 0..workerCount-1 (1024 for 10 bits). */
  readonly workerCount?: number;
}

export interface WorkerAllocateResponse {
  readonly workerId: number;
  /**
   * Wall time (ms) before which an ID minted with this worker ID could collide with one of its previous holder's;
   * 0 when no one held it. A generator waits until its clock passes it.
   */
  readonly notBeforeMs: number;
}

export interface WorkerReleaseRequest {
  readonly pool: string;
  readonly workerId: number;
  /** The lease that holds it: a release by anyone else is refused. */
  readonly lease: number;
}

export type WorkerReleaseResponse = Record<string, never>;

export interface SegmentReserveRequest {
  readonly name: string;
  readonly count: number;
}

export interface SegmentReserveResponse {
  /** The block is [start, start + count). */
  readonly start: number;
  readonly count: number;
}
