// The backend: the applied state machine's ordered key space, in the member's LevelDB database. Applied changes
// are staged in memory and reach the database with the next write of the Raft log (or on their own after
// stagedApplyFlushMs), in the same atomic batch as the index they were applied up to; reads see staged changes
// first. Nothing here grows with the number of keys: the key space stays on disk.

import { storageLimits, type StorageLimits } from '../limits.js';
import type { ClusterConfig, Index, Term } from '../raft/types.js';
import { StorageError } from './errors.js';
import { backendPrefix, META, prefixEnd } from './keys.js';
import type { Db } from './leveldb.js';
import type { BackendRecord } from './wal.js';
import { encodeBackendRecord } from './wal.js';

export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface RangeOptions {
  /** First key of the range (inclusive). */
  readonly start: Uint8Array;
  /** End of the range (exclusive); absent: to the end of the key space. */
  readonly end?: Uint8Array;
  /** At most this many pairs. */
  readonly limit?: number;
  /** Descending key order. */
  readonly reverse?: boolean;
}

/** What the state machine reads while applying and serving. */
export interface BackendReader {
  /** The value of `key`, including changes staged by apply; undefined if absent. Synchronous: applies read their own writes. */
  get(key: Uint8Array): Uint8Array | undefined;
  /** The pairs in a key range, in order, including staged changes; one consistent view. */
  range(options: RangeOptions): Promise<KeyValue[]>;
  /** The Raft index the state reflects (staged changes included). */
  readonly appliedIndex: Index;
}

/** What the state machine writes while applying committed entries. */
export interface BackendWriter extends BackendReader {
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
}

/** One staged change: a value, or null for a deletion. */
interface Change {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

const latin1 = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));

export class Backend implements BackendWriter {
  private prefix: Buffer;
  private prefixLimit: Buffer;
  /** Changes of completed entries (up to the applied index), waiting for a batch. */
  private staged = new Map<string, Change>();
  private stagedBytes = 0;
  /**
   * Changes of the entry being applied, until setApplied() completes it: a batch written meanwhile (the loop persists
   * the next Ready while it applies) never carries half an entry.
   */
  private entryChanges = new Map<string, Change>();
  /** Changes handed to a batch that is being written; still read from here until the write completes. */
  private flushing: Map<string, Change> | null = null;
  /** The backend record written with the flushing changes. */
  private pendingRecord: BackendRecord | null = null;
  private applied: { index: Index; term: Term };
  private membership: ClusterConfig;
  private durable: BackendRecord;
  private readonly limits: StorageLimits;

  constructor(
    private readonly db: Db,
    record: BackendRecord,
    limits: Partial<StorageLimits> = {},
  ) {
    this.limits = { ...storageLimits, ...limits };
    this.prefix = backendPrefix(record.generation);
    this.prefixLimit = prefixEnd(this.prefix);
    this.applied = { index: record.appliedIndex, term: record.appliedTerm };
    this.membership = record.config;
    this.durable = record;
  }

  /** The membership as of the applied index (set when a configuration entry is applied). */
  get config(): ClusterConfig {
    return this.membership;
  }

  get appliedIndex(): Index {
    return this.applied.index;
  }

  get appliedTerm(): Term {
    return this.applied.term;
  }

  get generation(): number {
    return this.durable.generation;
  }

  /** The backend record as of the last completed write: what a restart would find. */
  get durableRecord(): BackendRecord {
    return this.durable;
  }

  get stagedByteCount(): number {
    return this.stagedBytes;
  }

  hasStaged(): boolean {
    return this.staged.size > 0 || this.applied.index !== this.durable.appliedIndex;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const name = latin1(key);
    const change = this.entryChanges.get(name) ?? this.staged.get(name) ?? this.flushing?.get(name);
    if (change !== undefined) return change.value ?? undefined;
    return this.db.getSync(this.dbKey(key));
  }

  async range(options: RangeOptions): Promise<KeyValue[]> {
    const { start, end, limit, reverse = false } = options;
    this.checkKey(start);
    if (end !== undefined) this.checkKey(end);
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new RangeError(`range limit ${limit} is not a count`);
    if (limit === 0 || (end !== undefined && Buffer.compare(asBuffer(start), asBuffer(end)) >= 0)) return [];
    // The iterator's implicit LevelDB snapshot and the overlay are taken in the same turn: one consistent view.
    const overlay = this.overlayIn(asBuffer(start), end === undefined ? undefined : asBuffer(end), reverse);
    const iterator = this.db.iterator({
      gte: this.dbKey(start),
      lt: end === undefined ? this.prefixLimit : this.dbKey(end),
      reverse,
      limit: limit === undefined ? -1 : limit + overlay.length,
    });
    const rows = await iterator.all();
    const strip = this.prefix.length;
    const result: KeyValue[] = [];
    const max = limit ?? Number.POSITIVE_INFINITY;
    let o = 0;
    const order = reverse ? -1 : 1;
    for (const [dbKey, value] of rows) {
      const key = dbKey.subarray(strip);
      while (o < overlay.length && order * Buffer.compare((overlay[o] as Change).key, key) < 0) {
        const change = overlay[o++] as Change;
        if (change.value !== null) result.push({ key: change.key, value: change.value });
        if (result.length >= max) return result;
      }
      if (o < overlay.length && Buffer.compare((overlay[o] as Change).key, key) === 0) {
        const change = overlay[o++] as Change;
        if (change.value !== null) result.push({ key: change.key, value: change.value });
      } else {
        result.push({ key, value });
      }
      if (result.length >= max) return result;
    }
    for (; o < overlay.length && result.length < max; o++) {
      const change = overlay[o] as Change;
      if (change.value !== null) result.push({ key: change.key, value: change.value });
    }
    return result;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.stage(key, asBuffer(value));
  }

  delete(key: Uint8Array): void {
    this.stage(key, null);
  }

  /** Records the membership a configuration entry being applied brings (written with the applied index). */
  setMembership(config: ClusterConfig): void {
    this.membership = config;
  }

  /** Records that the changes made since the last call complete the entry at `at` (of term `atTerm`). */
  setApplied(at: Index, atTerm: Term): void {
    if (at < this.applied.index) throw new RangeError(`applied index may not go back from ${this.applied.index} to ${at}`);
    for (const [name, change] of this.entryChanges) {
      const previous = this.staged.get(name);
      if (previous !== undefined) this.stagedBytes -= previous.key.length + (previous.value?.length ?? 0);
      this.staged.set(name, change);
      this.stagedBytes += change.key.length + (change.value?.length ?? 0);
    }
    this.entryChanges.clear();
    this.applied = { index: at, term: atTerm };
  }

  /**
   * Moves everything staged into `ops` (with the backend record), for a batch that NodeStorage is about to write.
   * The changes stay readable until `flushed()` reports the write complete.
   */
  takeStaged(ops: BatchOp[]): void {
    if (this.flushing !== null) throw new Error('takeStaged() while an earlier batch of staged changes is still being written');
    for (const change of this.staged.values()) {
      const key = this.dbKey(change.key);
      ops.push(change.value === null ? { type: 'del', key } : { type: 'put', key, value: change.value });
    }
    const record: BackendRecord = { generation: this.durable.generation, appliedIndex: this.applied.index, appliedTerm: this.applied.term, config: this.membership };
    ops.push({ type: 'put', key: META.backend, value: encodeBackendRecord(record) });
    this.flushing = this.staged;
    this.staged = new Map();
    this.stagedBytes = 0;
    this.pendingRecord = record;
  }

  /** The batch that took the staged changes is durable. */
  flushed(): void {
    if (this.pendingRecord !== null) this.durable = this.pendingRecord;
    this.pendingRecord = null;
    this.flushing = null;
  }

  /** Switches to a generation loaded from a snapshot; whatever was staged is older than the snapshot and dropped. */
  switchTo(record: BackendRecord): void {
    this.staged = new Map();
    this.entryChanges = new Map();
    this.stagedBytes = 0;
    this.flushing = null;
    this.pendingRecord = null;
    this.prefix = backendPrefix(record.generation);
    this.prefixLimit = prefixEnd(this.prefix);
    this.applied = { index: record.appliedIndex, term: record.appliedTerm };
    this.membership = record.config;
    this.durable = record;
  }

  private stage(key: Uint8Array, value: Buffer | null): void {
    this.checkKey(key);
    this.entryChanges.set(latin1(key), { key: Buffer.from(key), value });
  }

  /** Flushing, staged and current-entry changes inside [start, end), the newest winning, sorted in iteration order. */
  private overlayIn(start: Buffer, end: Buffer | undefined, reverse: boolean): Change[] {
    const picked = new Map<string, Change>();
    const inRange = (change: Change) => Buffer.compare(change.key, start) >= 0 && (end === undefined || Buffer.compare(change.key, end) < 0);
    if (this.flushing !== null) for (const [name, change] of this.flushing) if (inRange(change)) picked.set(name, change);
    for (const [name, change] of this.staged) if (inRange(change)) picked.set(name, change);
    for (const [name, change] of this.entryChanges) if (inRange(change)) picked.set(name, change);
    const changes = [...picked.values()].sort((a, b) => Buffer.compare(a.key, b.key));
    return reverse ? changes.reverse() : changes;
  }

  private dbKey(key: Uint8Array): Buffer {
    return Buffer.concat([this.prefix, key]);
  }

  private checkKey(key: Uint8Array): void {
    if (key.length > this.limits.maxBackendKeyBytes) {
      throw new StorageError('ErrKeyTooLarge', `key of ${key.length} bytes exceeds maxBackendKeyBytes (${this.limits.maxBackendKeyBytes})`);
    }
  }
}
