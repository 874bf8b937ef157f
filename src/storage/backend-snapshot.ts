// Streams the backend, as one LevelDB snapshot sees it, into a snapshot file (temporary name, fsync, rename,
// directory fsync). Used when the log has grown (NodeStorage.takeSnapshot) and by `conclave repair`.

import type { AbstractSnapshot } from 'abstract-level';
import type { StorageLimits } from '../limits.js';
import type { ClusterConfig, Index, Term } from '../raft/types.js';
import { backendPrefix, prefixEnd } from './keys.js';
import { writeSnapshotFile } from './snapshot-file.js';
import type { SnapshotDirectory } from './snapshots.js';
import type { Db } from './leveldb.js';
import type { BackendRecord } from './wal.js';

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
  const prefix = backendPrefix(backend.generation);
  const strip = prefix.length;
  async function* pairs(): AsyncGenerator<[Uint8Array, Uint8Array][]> {
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
  const temporary = snapshots.temporaryPath(at);
  let written: Awaited<ReturnType<typeof writeSnapshotFile>>;
  try {
    written = await writeSnapshotFile(temporary, { ...at, config }, pairs(), limits);
  } catch (error) {
    await snapshots.abandon(temporary);
    throw error;
  }
  afterWrite();
  const file = await snapshots.publish(temporary, at);
  return { index: at.index, term: at.term, config, file, sizeBytes: written.sizeBytes, checksum: written.checksum };
}
