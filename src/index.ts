// The package's public surface: `import { startNode } from 'conclave'` runs a member in-process; the client library
// is `conclave/client`.
export { startNode, type ConclaveNode, type NodeOptions } from './server/embed.js';
export { ConclaveError, type ErrorCode } from './protocol/errors.js';
export type * from './protocol/kv.js';
export type * from './protocol/cluster.js';
export type * from './protocol/lease.js';
