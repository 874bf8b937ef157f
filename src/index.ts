// The package's public surface: `import { connect } from 'conclave'` is the client (also `conclave/client`, with the
// rest of the client library), `import { startNode } from 'conclave'` runs a member in-process.
export { Client, connect, compare, op, type CallOptions, type ClientOptions } from './client/index.js';
export { startNode, type ConclaveNode, type NodeOptions } from './server/embed.js';
export { ConclaveError, type ErrorCode } from './protocol/errors.js';
export type { ClientRequest } from './protocol/request-id.js';
export type * from './protocol/kv.js';
export type * from './protocol/cluster.js';
export type * from './protocol/lease.js';
