// Streams the backend, as one LevelDB snapshot sees it, into a snapshot file (temporary name, fsync, rename,
// directory fsync). Used when the log has grown (NodeStorage.takeSnapshot) and by `conclave repair`. The same
// view serves readDurableBackend: the durable state, whole entries only, for digests that compare members.

import type { AbstractSnapshot } from 'abstract-level';
import type { StorageLimits } from '../limits.js';
import type { ClusterConfig, Index, Term } from '../raft/types.js';
import { backendPrefix, META, prefixEnd } from './keys.js';
import { writeSnapshotFile } from './snapshot-file.js';
import type { SnapshotDirectory } from './snapshots.js';
import type { Db } from './leveldb.js';
import { decodeBackendRecord, type BackendRecord } from './wal.js';

/** A snapshot file written here, not yet recorded (the core's createSnapshot gives its metadata). */
export interface TakenSnapshot {
  readonly index: Index;
  readonly term: Term;
  /** The membership in the file's header: the one applied as of `index`. */
  readonly config: ClusterConfig;
  readonly file: string;
  readonly sizeBytes: number;
  readonly checksum: number;
}

export async function snapshotBackend(
  db: Db,
  view: AbstractSnapshot,
  backend: BackendRecord,
  snapshots: SnapshotDirectory,
  limits: StorageLimits,
  afterWrite: () => void = () => {},
  config: ClusterConfig = backend.config,
): Promise<TakenSnapshot> {
  const at = { index: backend.appliedIndex, term: backend.appliedTerm };
  const temporary = snapshots.temporaryPath(at);
  let written: Awaited<ReturnType<typeof writeSnapshotFile>>;
  try {
    written = await writeSnapshotFile(temporary, { ...at, config }, backendPairs(db, view, backend, limits), limits);
  } catch (error) {
    await snapshots.abandon(temporary);
    throw error;
  }
  afterWrite();
  const file = await snapshots.publish(temporary, at);
  return { index: at.index, term: at.term, config, file, sizeBytes: written.sizeBytes, checksum: written.checksum };
}

/** The backend's pairs in `view`, in key order and pages, keys without the generation's prefix. */
async function* backendPairs(db: Db, view: AbstractSnapshot, backend: BackendRecord, limits: StorageLimits): AsyncGenerator<[Uint8Array, Uint8Array][]> {
  const prefix = backendPrefix(backend.generation);
  const strip = prefix.length;
  const iterator = db.iterator({ gte: prefix, lt: prefixEnd(prefix), snapshot: view, highWaterMarkBytes: limits.snapshotReadAheadBytes });
  try {
    for (;;) {
      const rows = await iterator.nextv(1000);
      if (rows.length === 0) return;
      yield rows.map(([key, value]) => [key.subarray(strip), value]);
    }
  } finally {
    await iterator.close();
  }
}

/** The backend record inside `view`: the one its data is applied to (`fallback` when none was written yet). */
export async function recordInView(db: Db, view: AbstractSnapshot, fallback: BackendRecord, where: string): Promise<BackendRecord> {
  const stored = await db.get(META.backend, { snapshot: view });
  return stored === undefined ? fallback : decodeBackendRecord(stored, where);
}

/**
 * Reads the durable backend in one LevelDB view: its pairs and the record of the index they are applied through.
 * Changes staged since the last flush are not in it, and a batch never carries part of an entry, so members that
 * read at the same applied index read the same state, whatever their applies are doing meanwhile.
 */
export async function readDurableBackend<T>(
  db: Db,
  fallback: BackendRecord,
  where: string,
  limits: StorageLimits,
  read: (record: BackendRecord, pairs: AsyncIterable<[Uint8Array, Uint8Array][]>) => Promise<T>,
): Promise<T> {
  const view = db.snapshot();
  try {
    const record = await recordInView(db, view, fallback, where);
    return await read(record, backendPairs(db, view, record, limits));
  } finally {
    await view.close();
  }
}
