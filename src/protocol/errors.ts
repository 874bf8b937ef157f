// Every error a client can receive is a value with a code. The table below maps each code, once, to what the
// wire shows: the gRPC status code and message etcd uses for the same failure (clients match on them), and the
// HTTP status the gRPC gateway derives from that code.

export const GRPC = {
  ok: 0,
  cancelled: 1,
  unknown: 2,
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  alreadyExists: 6,
  permissionDenied: 7,
  resourceExhausted: 8,
  failedPrecondition: 9,
  aborted: 10,
  outOfRange: 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  dataLoss: 15,
  unauthenticated: 16,
} as const;

/** The gRPC gateway's HTTP status for a gRPC code (grpc-gateway's HTTPStatusFromCode). */
export function httpStatusOf(grpcCode: number): number {
  switch (grpcCode) {
    case GRPC.ok: return 200;
    case GRPC.cancelled: return 408;
    case GRPC.invalidArgument: return 400;
    case GRPC.deadlineExceeded: return 504;
    case GRPC.notFound: return 404;
    case GRPC.alreadyExists: return 409;
    case GRPC.permissionDenied: return 403;
    case GRPC.unauthenticated: return 401;
    case GRPC.resourceExhausted: return 429;
    // Deliberately not 412 (as grpc-gateway does).
    case GRPC.failedPrecondition: return 400;
    case GRPC.aborted: return 409;
    case GRPC.outOfRange: return 400;
    case GRPC.unimplemented: return 501;
    case GRPC.unavailable: return 503;
    default: return 500;
  }
}

interface ErrorSpec {
  readonly grpc: number;
  /** etcd's message for the same failure, or ours where etcd has none. */
  readonly message: string;
}

export const ERRORS = {
  // Bad requests, refused before anything is proposed.
  ErrInvalidJson: { grpc: GRPC.invalidArgument, message: 'request body is not valid JSON' },
  ErrInvalidField: { grpc: GRPC.invalidArgument, message: 'invalid request field' },
  ErrUnknownField: { grpc: GRPC.invalidArgument, message: 'unknown request field' },
  ErrRequestTooLarge: { grpc: GRPC.invalidArgument, message: 'etcdserver: request is too large' },
  ErrKeyTooLarge: { grpc: GRPC.invalidArgument, message: 'etcdserver: key is too large' },
  ErrEmptyKey: { grpc: GRPC.invalidArgument, message: 'etcdserver: key is not provided' },
  ErrKeyNotFound: { grpc: GRPC.invalidArgument, message: 'etcdserver: key not found' },
  ErrValueProvided: { grpc: GRPC.invalidArgument, message: 'etcdserver: value is provided' },
  ErrLeaseProvided: { grpc: GRPC.invalidArgument, message: 'etcdserver: lease is provided' },
  ErrTooManyOps: { grpc: GRPC.invalidArgument, message: 'etcdserver: too many operations in txn request' },
  ErrDuplicateKey: { grpc: GRPC.invalidArgument, message: 'etcdserver: duplicate key given in txn request' },
  ErrTxnTooDeep: { grpc: GRPC.invalidArgument, message: 'etcdserver: txn nested too deeply' },
  // A plain write (put, delete, a txn's, a sequential put) under a prefix the cluster's recipes own (reserved-keys.ts).
  ErrReservedKey: { grpc: GRPC.invalidArgument, message: 'key is under a reserved prefix' },
  ErrNotFound: { grpc: GRPC.notFound, message: 'Not Found' },
  ErrInvalidFrame: { grpc: GRPC.invalidArgument, message: 'invalid frame' },
  ErrMethodNotAllowed: { grpc: GRPC.unimplemented, message: 'Method Not Allowed' },
  // The key-value store.
  ErrCompacted: { grpc: GRPC.outOfRange, message: 'etcdserver: mvcc: required revision has been compacted' },
  ErrFutureRev: { grpc: GRPC.outOfRange, message: 'etcdserver: mvcc: required revision is a future revision' },
  ErrLeaseNotFound: { grpc: GRPC.notFound, message: 'etcdserver: requested lease not found' },
  ErrLeaseExist: { grpc: GRPC.failedPrecondition, message: 'etcdserver: lease already exists' },
  ErrLeaseTTLTooLarge: { grpc: GRPC.outOfRange, message: 'etcdserver: too large lease TTL' },
  ErrTooManyLeases: { grpc: GRPC.resourceExhausted, message: 'too many leases' },
  ErrDuplicateWatchId: { grpc: GRPC.invalidArgument, message: 'mvcc: duplicate watch ID provided on the WatchStream' },
  ErrTooManyWatchers: { grpc: GRPC.resourceExhausted, message: 'too many watchers' },
  ErrWatchCanceled: { grpc: GRPC.cancelled, message: 'watch canceled' },
  // Locks and elections (src/server/lock-api.ts, election-api.ts).
  ErrLockTimeout: { grpc: GRPC.deadlineExceeded, message: 'lock: not acquired within the timeout' },
  ErrWaiterGone: { grpc: GRPC.failedPrecondition, message: 'lock: the waiter key was deleted while it waited (its lease expired or was revoked)' },
  ErrElectionNotLeader: { grpc: GRPC.failedPrecondition, message: 'election: not leader' },
  ErrElectionNoLeader: { grpc: GRPC.notFound, message: 'election: no leader' },
  // Deduplication of client request IDs (src/state/dedup.ts).
  ErrInvalidRequestId: { grpc: GRPC.invalidArgument, message: 'invalid request ID' },
  ErrRequestIdExpired: { grpc: GRPC.failedPrecondition, message: 'request ID is older than the deduplication window' },
  ErrResultNotKept: { grpc: GRPC.failedPrecondition, message: 'request was applied before; its result was too large to keep' },
  // Membership.
  ErrMemberExist: { grpc: GRPC.failedPrecondition, message: 'etcdserver: member ID already exist' },
  ErrPeerURLExist: { grpc: GRPC.failedPrecondition, message: 'etcdserver: Peer URLs already exists' },
  ErrMemberNotFound: { grpc: GRPC.notFound, message: 'etcdserver: member not found' },
  ErrMemberBadURLs: { grpc: GRPC.invalidArgument, message: 'etcdserver: given member URLs are invalid' },
  ErrMemberNotLearner: { grpc: GRPC.failedPrecondition, message: 'etcdserver: can only promote a learner member' },
  ErrLearnerNotReady: { grpc: GRPC.failedPrecondition, message: 'etcdserver: can only promote a learner member which is in sync with leader' },
  ErrTooManyLearners: { grpc: GRPC.failedPrecondition, message: 'etcdserver: too many learner members in cluster' },
  ErrMemberNotEnoughStarted: { grpc: GRPC.failedPrecondition, message: 'etcdserver: re-configuration failed due to not enough started members' },
  ErrConfChangeInProgress: { grpc: GRPC.failedPrecondition, message: 'etcdserver: a membership change is already in progress' },
  // Availability of the cluster.
  ErrNoLeader: { grpc: GRPC.unavailable, message: 'etcdserver: no leader' },
  ErrNotLeader: { grpc: GRPC.failedPrecondition, message: 'etcdserver: not leader' },
  ErrLeaderChanged: { grpc: GRPC.unavailable, message: 'etcdserver: leader changed' },
  ErrStopped: { grpc: GRPC.unavailable, message: 'etcdserver: server stopped' },
  ErrTimeout: { grpc: GRPC.unavailable, message: 'etcdserver: request timed out' },
  ErrUnhealthy: { grpc: GRPC.unavailable, message: 'etcdserver: unhealthy cluster' },
  ErrTooManyRequests: { grpc: GRPC.resourceExhausted, message: 'etcdserver: too many requests' },
  ErrInternal: { grpc: GRPC.internal, message: 'etcdserver: internal error' },
  // The client side: no member could be reached.
  ErrUnreachable: { grpc: GRPC.unavailable, message: 'no endpoint could be reached' },
  ErrResponseTooLarge: { grpc: GRPC.resourceExhausted, message: 'response is larger than the client accepts' },
  ErrWorkerIdsExhausted: { grpc: GRPC.resourceExhausted, message: 'every worker ID of the pool is held or not yet reusable' },
  ErrTooManyWorkers: { grpc: GRPC.resourceExhausted, message: 'too many worker records' },
  ErrTooManyCounters: { grpc: GRPC.resourceExhausted, message: 'too many segment counters' },
  ErrWorkerNotHeld: { grpc: GRPC.failedPrecondition, message: 'worker ID is not held by this lease' },
  ErrClockMovedBackwards: { grpc: GRPC.failedPrecondition, message: 'clock moved backwards' },
  ErrCounterExhausted: { grpc: GRPC.outOfRange, message: 'segment counter would pass 2^53-1' },
  ErrCanceled: { grpc: GRPC.cancelled, message: 'request canceled by the client' },
  ErrConnectionClosed: { grpc: GRPC.unavailable, message: 'connection closed' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** An error any layer can return or throw: a code from the table, and optionally a detail for people. */
export class ConclaveError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
  ) {
    super(detail === undefined ? ERRORS[code].message : `${ERRORS[code].message}: ${detail}`);
    this.name = 'ConclaveError';
  }

  get grpcCode(): number {
    return ERRORS[this.code].grpc;
  }

  get httpStatus(): number {
    return httpStatusOf(ERRORS[this.code].grpc);
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}
