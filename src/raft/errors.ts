// Errors of the Raft core are values with stable codes; the server maps each code once to HTTP/WS/CLI responses.

export type RaftErrorCode =
  | 'ErrNoLeader'
  | 'ErrLeaderTransferInProgress'
  | 'ErrTooManyPendingProposals'
  | 'ErrProposalTooLarge'
  | 'ErrConfChangePending'
  | 'ErrConfChangeBeforeCommitInTerm'
  | 'ErrInvalidConfChange'
  | 'ErrNotLeader'
  | 'ErrUnknownMember'
  | 'ErrTooManyPendingReads'
  | 'ErrSnapshotOutOfDate'
  | 'ErrCompacted'
  | 'ErrUnavailable';

export class RaftError extends Error {
  constructor(
    readonly code: RaftErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'RaftError';
  }
}

/** Thrown when an internal invariant is broken. The node must stop: a crashed node is safe, a wrong one is not. */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(`raft invariant violated: ${message}`);
    this.name = 'InvariantViolation';
  }
}

export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolation(typeof message === 'string' ? message : message());
}
