// The public surface of the Raft core.
export * from './types.js';
export { RaftError, InvariantViolation, type RaftErrorCode } from './errors.js';
export { RaftNode, type RaftOptions, type RaftStatus } from './node.js';
export { encodeConfChange, decodeConfChange, applyConfChange, type ConfChangeRecord } from './confchange.js';
