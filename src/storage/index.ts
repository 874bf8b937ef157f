// The public surface of durable storage.
export { NodeStorage, type CrashPoint, type StorageOptions, type StorageStats, type TakenSnapshot } from './storage.js';
export { Backend, type BackendReader, type BackendWriter, type KeyValue, type RangeOptions } from './backend.js';
export { StorageError, type StorageErrorCode } from './errors.js';
export { readSnapshotFile, verifySnapshotFile, writeSnapshotFile, type SnapshotFrame, type SnapshotHeader } from './snapshot-file.js';
export type { SnapshotRecord, BackendRecord, LogStart } from './wal.js';
