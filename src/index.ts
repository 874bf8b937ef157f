// The package's public surface: `import { connect } from 'conclave'` is the client (also `conclave/client`, with the
// rest of the client library), `import { startNode } from 'conclave'` runs a member in-process.
export { Client, connect, compare, op, type CallOptions, type ClientOptions } from './client/index.js';
export { startNode, type ConclaveNode, type NodeOptions } from './server/embed.js';
export type { NodeElections, NodeLocks, NodeRecipes, NodeRegistry, NodeSnowflake, WaitOptions } from './server/embed-recipes.js';
export type { RegistryBatch } from './server/registry-api.js';
export { ConclaveError, type ErrorCode } from './protocol/errors.js';
export type { ClientRequest } from './protocol/request-id.js';
export type * from './protocol/kv.js';
export type * from './protocol/cluster.js';
export type * from './protocol/lease.js';
export type * from './protocol/lock.js';
export type * from './protocol/election.js';
export type * from './protocol/registry.js';
export type * from './protocol/snowflake.js';
