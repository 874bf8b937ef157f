// The public surface of the replicated state machine.
export type { StateEntry, StateRangeOptions, StateReader, StateWriter } from './backend.js';
export { KvStore, type KvStoreOptions } from './kv-store.js';
export { decodeKvCommand, encodeKvCommand, type KvCommand, type KvResult, type LeaseCheckpoint, type LeaseStamp, type PlainWrite } from './kv-command.js';
export { LeaseTable, type LeaseRecord } from './lease-table.js';
export { validateKvCommand, validateRangeRequest } from './kv-validate.js';
export { eventKey, eventRevision, revisionStart } from './kv-layout.js';
export { hashState, hashStatePages } from './kv-hash.js';
export { decodeEvent, type EventRecord } from './kv-records.js';
export { eventsOfRevision, previousVersion, type RecordedEvent, type RevisionEvents } from './kv-events.js';
