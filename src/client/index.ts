// The client library's public surface.
export { Client, connect, isReadOnly, type CallOptions, type ClientOptions, type DeleteOptions, type GetOptions, type PutOptions, type Result } from './client.js';
export { FROM_KEY_END, keyRange, prefixEnd, toBytes, type Bytes, type RangeShape } from './keys.js';
export { compare, op, TxnBuilder, type CompareOperator, type TxnOp, type TxnOutcome, type TxnResponses } from './txn.js';
export type { WatchBatch, WatchOptions } from './watch.js';
export { KeptLease, type LeaseEvents, type LeaseLostReason } from './lease.js';
export { WsConnection, WsStream, type WsCallOptions, type WsConnectionOptions } from './ws-connection.js';
export type { HeldLock, Leadership, RecipeOptions } from './recipes.js';
export { registryEventsOf, wsRegistryWatch, type RegistryBatch, type RegistryEvent, type RegistryEventType } from './registry.js';
export { ConsistentHash, hash32, LeastOutstanding, RoundRobin, WeightedRoundRobin, type Selector } from './selection.js';
export { checkLayout, DEFAULT_LAYOUT, parseSnowflake, SegmentAllocator, SnowflakeGenerator, type GeneratorOptions, type SnowflakeLayout, type SnowflakeParts, type WorkerLease } from './snowflake.js';
export { keepRegistered, segmentAllocator, snowflakeWorker, type KeptRegistration, type SnowflakeWorker } from './keepers.js';
