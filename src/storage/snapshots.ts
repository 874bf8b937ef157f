// The snapshot directory: snapshot files taken here or received from a leader, the one being received, and
// reading chunks of a snapshot to send. A file becomes visible under its final name only once it is whole and
// fsynced (written to a temporary name, fsynced, renamed, directory fsynced).

import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { storageLimits } from '../limits.js';
import type { SnapshotMeta } from '../raft/types.js';
import { StorageError } from './errors.js';

const SNAPSHOT_SUFFIX = '.snap';
const TEMPORARY_SUFFIX = '.tmp';
const INCOMING_SUFFIX = '.incoming';

async function closeQuietly(handle: Promise<FileHandle>): Promise<void> {
  try {
    await (await handle).close();
  } catch {
    // Not opened, or already closed: nothing to release.
  }
}

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');

/** etcd's naming: <term>-<index>.snap, both as 16 hex digits, so that names sort by index within a term. */
export function snapshotFileName(at: { readonly index: number; readonly term: number }): string {
  return `${hex16(at.term)}-${hex16(at.index)}${SNAPSHOT_SUFFIX}`;
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class SnapshotDirectory {
  private incoming: { meta: SnapshotMeta; file: FileHandle; path: string } | null = null;
  private readers = new Map<string, Promise<FileHandle>>();
  /** Temporary files being written now (the others were left by a crash). */
  private readonly writing = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly maxOpenReaders: number = storageLimits.maxOpenSnapshotFiles,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  /** A temporary path for a snapshot about to be written here; pruning leaves it alone until publish or abandon. */
  temporaryPath(at: { readonly index: number; readonly term: number }): string {
    const path = this.path(snapshotFileName(at) + TEMPORARY_SUFFIX);
    this.writing.add(path);
    return path;
  }

  /** Gives a fsynced temporary file its final name, durably. Returns the final file name. */
  async publish(temporary: string, at: { readonly index: number; readonly term: number }): Promise<string> {
    const name = snapshotFileName(at);
    try {
      await rename(temporary, this.path(name));
    } finally {
      this.writing.delete(temporary);
    }
    await fsyncDirectory(this.dir);
    return name;
  }

  /** Deletes a temporary file whose writing failed. */
  async abandon(temporary: string): Promise<void> {
    this.writing.delete(temporary);
    await rm(temporary, { force: true });
  }

  /** Bytes [offset, offset + length) of a stored snapshot file, to send to a follower. */
  async readChunk(file: string, offset: number, length: number): Promise<Uint8Array> {
    const handle = await this.reader(file);
    const out = Buffer.allocUnsafe(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await handle.read(out, read, length - read, offset + read);
      if (bytesRead === 0) throw new StorageError('ErrSnapshotNotFound', `snapshot file ${this.path(file)} ends before byte ${offset + length}`);
      read += bytesRead;
    }
    return out;
  }

  /** An open handle on a snapshot file; chunks read concurrently share one (the promise is cached, not the handle). */
  private reader(file: string): Promise<FileHandle> {
    let handle = this.readers.get(file);
    if (handle === undefined) {
      if (this.readers.size >= this.maxOpenReaders) {
        const [oldestName, oldest] = this.readers.entries().next().value as [string, Promise<FileHandle>];
        this.readers.delete(oldestName);
        void closeQuietly(oldest);
      }
      handle = open(this.path(file), 'r').catch((error: Error) => {
        this.readers.delete(file);
        throw new StorageError('ErrSnapshotNotFound', `snapshot file ${this.path(file)}: ${error.message}`);
      });
      this.readers.set(file, handle);
    }
    return handle;
  }

  /**
   * Writes a chunk of the snapshot being received at `offset` and fsyncs it. A chunk at offset 0 starts the
   * snapshot anew (dropping any other one being received); the core hands out only chunks that continue it.
   */
  async writeIncomingChunk(meta: SnapshotMeta, offset: number, data: Uint8Array): Promise<void> {
    let incoming = this.incoming;
    const same = incoming !== null && incoming.meta.index === meta.index && incoming.meta.term === meta.term;
    if (offset === 0 || !same) {
      if (offset !== 0) throw new StorageError('ErrCorrupt', `snapshot chunk at offset ${offset} of (${meta.index}, term ${meta.term}) but that snapshot was not started`);
      await this.dropIncoming();
      const path = this.path(snapshotFileName(meta) + INCOMING_SUFFIX);
      incoming = { meta, file: await open(path, 'w+'), path };
      this.incoming = incoming;
    }
    const file = (incoming as { file: FileHandle }).file;
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await file.write(data, written, data.length - written, offset + written);
      written += bytesWritten;
    }
    await file.truncate(offset + data.length);
    await file.sync();
  }

  /** The received snapshot is whole: gives it its final name (durably) and returns that name. */
  async completeIncoming(meta: SnapshotMeta): Promise<string> {
    const incoming = this.incoming;
    if (incoming === null || incoming.meta.index !== meta.index || incoming.meta.term !== meta.term) {
      throw new StorageError('ErrCorrupt', `install of snapshot (${meta.index}, term ${meta.term}) whose chunks were not received`);
    }
    this.incoming = null;
    await incoming.file.close();
    const size = (await stat(incoming.path)).size;
    if (size !== meta.sizeBytes) throw new StorageError('ErrCorrupt', `received snapshot ${incoming.path} has ${size} of its ${meta.sizeBytes} bytes`);
    return this.publish(incoming.path, meta);
  }

  /** Deletes snapshot files not in `keep`, temporary files, and received snapshots that are not being received. */
  async prune(keep: readonly string[]): Promise<string[]> {
    const removed: string[] = [];
    const current = this.incoming?.path;
    for (const name of await readdir(this.dir)) {
      const path = this.path(name);
      const stale =
        (name.endsWith(TEMPORARY_SUFFIX) && !this.writing.has(path)) ||
        (name.endsWith(INCOMING_SUFFIX) && path !== current) ||
        (name.endsWith(SNAPSHOT_SUFFIX) && !keep.includes(name));
      if (!stale) continue;
      const reader = this.readers.get(name);
      if (reader !== undefined) {
        this.readers.delete(name);
        await closeQuietly(reader);
      }
      await rm(path, { force: true });
      removed.push(name);
    }
    return removed;
  }

  /** Snapshot files present, oldest first by (term, index) name order. */
  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((name) => name.endsWith(SNAPSHOT_SUFFIX)).sort();
  }

  async close(): Promise<void> {
    await this.dropIncoming(false);
    for (const handle of this.readers.values()) await closeQuietly(handle);
    this.readers.clear();
  }

  private async dropIncoming(remove = true): Promise<void> {
    const incoming = this.incoming;
    if (incoming === null) return;
    this.incoming = null;
    await incoming.file.close();
    if (remove) await rm(incoming.path, { force: true });
  }
}
