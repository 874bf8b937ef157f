// The Raft log's records in LevelDB: entries, hard state, the compaction point and the latest snapshot's
// metadata, and the start-up scan that recovers them and refuses a damaged log.

import {
  index,
  nodeId,
  term,
  type ClusterConfig,
  type Entry,
  type HardState,
  type Index,
  type SnapshotMeta,
  type Term,
} from '../raft/types.js';
import { corrupt, StorageError } from './errors.js';
import type { Db } from './leveldb.js';
import { ENTRY_KEYS_END, entryIndexOf, entryKey, META } from './keys.js';
import { decodeRecord, encodeRecord } from './record.js';


/** Index and term of the entry just before the first stored entry (0/0 for a log that was never compacted). */
export interface LogStart {
  readonly index: Index;
  readonly term: Term;
}

/** The latest snapshot: what the core knows of it, and where its bytes are. */
export interface SnapshotRecord {
  readonly meta: SnapshotMeta;
  /** File name inside the snapshot directory. */
  readonly file: string;
  /** CRC-32 of the whole file. */
  readonly checksum: number;
}

/** Which backend generation holds the applied state, how far it is applied, and the membership as of there. */
export interface BackendRecord {
  readonly generation: number;
  readonly appliedIndex: Index;
  readonly appliedTerm: Term;
  /** The cluster configuration of the latest configuration entry applied (part of the applied state). */
  readonly config: ClusterConfig;
}

export const FORMAT_VERSION = 1;
export const NO_LOG_START: LogStart = { index: index(0), term: term(0) };
export const FIRST_BACKEND: BackendRecord = { generation: 1, appliedIndex: index(0), appliedTerm: term(0), config: { voters: [], learners: [] } };

const ENTRY_TYPES = ['normal', 'confChange'] as const;

export function encodeEntry(entry: Entry): Buffer {
  return encodeRecord([entry.index, entry.term, ENTRY_TYPES.indexOf(entry.type), entry.data]);
}

export function decodeEntry(value: Uint8Array, where: string, at: number): Entry {
  const what = `entry ${at}`;
  const fields = decodeRecord(value, where, what);
  if (!Array.isArray(fields) || fields.length !== 4) throw corrupt(where, what, 'not an entry record');
  const [entryIndex, entryTerm, typeCode, data] = fields as [unknown, unknown, unknown, unknown];
  if (entryIndex !== at) throw corrupt(where, what, `record says index ${String(entryIndex)}`);
  if (!isCount(entryTerm) || entryTerm === 0) throw corrupt(where, what, `invalid term ${String(entryTerm)}`);
  const type = ENTRY_TYPES[typeCode as number];
  if (type === undefined) throw corrupt(where, what, `unknown entry type ${String(typeCode)}`);
  if (!(data instanceof Uint8Array)) throw corrupt(where, what, 'data is not bytes');
  return { index: index(at), term: term(entryTerm), type, data };
}

export function encodeHardState(hardState: HardState): Buffer {
  return encodeRecord([hardState.term, hardState.vote, hardState.commit]);
}

export function encodeLogStart(start: LogStart): Buffer {
  return encodeRecord([start.index, start.term]);
}

export function encodeDeletedThrough(at: Index): Buffer {
  return encodeRecord(at);
}

function decodeDeletedThrough(value: Uint8Array, where: string): Index {
  const at = decodeRecord(value, where, 'deleted-through record');
  if (!isCount(at)) throw corrupt(where, 'deleted-through record', 'not an index');
  return index(at);
}

export function encodeSnapshotRecord(record: SnapshotRecord): Buffer {
  const { meta } = record;
  return encodeRecord([meta.index, meta.term, meta.config.voters, meta.config.learners, meta.sizeBytes, record.file, record.checksum]);
}

export function encodeBackendRecord(record: BackendRecord): Buffer {
  return encodeRecord([record.generation, record.appliedIndex, record.appliedTerm, record.config.voters, record.config.learners]);
}

export function encodeFormat(): Buffer {
  return encodeRecord(FORMAT_VERSION);
}

/** Everything the start-up scan recovers from the database. */
export interface RecoveredLog {
  /** False for a database that holds nothing yet (a brand-new member). */
  readonly initialized: boolean;
  readonly hardState: HardState;
  readonly logStart: LogStart;
  /** Entries through this index are known deleted; those up to logStart after it are left by an interrupted compaction. */
  readonly deletedThrough: Index;
  /** The stored entries after the snapshot (or after logStart without one), contiguous: what the core needs. */
  readonly entries: Entry[];
  /** Index of the last stored entry (or of the snapshot, for a log that is empty after it). */
  readonly lastIndex: Index;
  readonly snapshot: SnapshotRecord | null;
  readonly backend: BackendRecord;
  /** Bytes of entry data stored after the snapshot (for the log-size snapshot trigger). */
  readonly bytesSinceSnapshot: number;
}

/** Entries read per LevelDB round trip at start-up (classic-level's default prefetch returns only a few dozen). */
const SCAN_PREFETCH_BYTES = 1024 * 1024;

/**
 * Reads and checks the metadata and the log after the snapshot. Any damage (a checksum mismatch, a gap, a term
 * going back, a commit index beyond the log) throws ErrCorrupt naming `where` and the record: the member must
 * not start on it. Entries at or below the snapshot (kept for followers that are a little behind) are not read:
 * start-up costs the log after the snapshot, not the whole log.
 */
export async function recoverLog(db: Db, where: string): Promise<RecoveredLog> {
  const formatValue = await readMeta(db, META.format, where, 'format record');
  const format = formatValue === undefined ? undefined : decodeRecord(formatValue, where, 'format record');
  const hardStateRecord = await readMeta(db, META.hardState, where, 'hard state');
  const logStartRecord = await readMeta(db, META.logStart, where, 'log start');
  const deletedRecord = await readMeta(db, META.deletedThrough, where, 'deleted-through record');
  const snapshotRecord = await readMeta(db, META.snapshot, where, 'snapshot record');
  const backendRecord = await readMeta(db, META.backend, where, 'backend record');

  const initialized = format !== undefined;
  if (initialized && format !== FORMAT_VERSION) {
    throw corrupt(where, 'format record', `format ${String(format)}, this version reads format ${FORMAT_VERSION}`);
  }
  const logStart = logStartRecord === undefined ? NO_LOG_START : decodeLogStart(logStartRecord, where);
  const deletedThrough = deletedRecord === undefined ? index(0) : decodeDeletedThrough(deletedRecord, where);
  const hardState = hardStateRecord === undefined ? { term: term(0), vote: nodeId(''), commit: index(0) } : decodeHardState(hardStateRecord, where);
  const snapshot = snapshotRecord === undefined ? null : decodeSnapshotRecord(snapshotRecord, where);
  const backend = backendRecord === undefined ? FIRST_BACKEND : decodeBackendRecord(backendRecord, where);
  const snapshotIndex = snapshot?.meta.index ?? 0;
  if (snapshot !== null && logStart.index > snapshot.meta.index) {
    throw corrupt(where, 'log start', `log compacted through ${logStart.index}, past the snapshot at ${snapshot.meta.index}`);
  }
  if (snapshot === null && logStart.index > 0) throw corrupt(where, 'log start', `log compacted through ${logStart.index} but no snapshot is recorded`);

  // The entry at the scan's start must agree with what is recorded there (the snapshot's term).
  const scanFrom = Math.max(logStart.index, snapshotIndex);
  const previousTerm: number = snapshot !== null && scanFrom === snapshotIndex ? snapshot.meta.term : logStart.term;
  if (snapshot !== null && snapshotIndex > logStart.index) {
    const atSnapshot = await readMeta(db, entryKey(snapshotIndex), where, `entry ${snapshotIndex}`);
    if (atSnapshot !== undefined && decodeEntry(atSnapshot, where, snapshotIndex).term !== snapshot.meta.term) {
      throw corrupt(where, `entry ${snapshotIndex}`, `term differs from the snapshot's (${snapshot.meta.term}) at the same index`);
    }
  }
  const scan = await scanEntries(db, where, scanFrom, previousTerm, { keep: true, stopAtDamage: true });
  if (scan.damage !== null) throw corrupt(where, scan.damage.what, scan.damage.why);
  const { entries } = scan;
  let bytesSinceSnapshot = 0;
  for (const entry of entries) bytesSinceSnapshot += entry.data.length;

  if (!initialized && (hardStateRecord !== undefined || entries.length > 0 || snapshotRecord !== undefined)) {
    throw corrupt(where, 'format record', 'missing, but the database holds Raft state');
  }
  const lastIndex = index(scanFrom + entries.length);
  if (hardState.commit > lastIndex) throw corrupt(where, 'hard state', `commit index ${hardState.commit} is beyond the last stored entry ${lastIndex}`);
  if (backend.appliedIndex > Math.max(hardState.commit, snapshotIndex)) {
    throw corrupt(where, 'backend record', `applied index ${backend.appliedIndex} is beyond the commit index ${hardState.commit}`);
  }
  if (snapshot !== null && snapshot.meta.index > backend.appliedIndex) {
    throw corrupt(where, 'snapshot record', `snapshot index ${snapshot.meta.index} is beyond the applied index ${backend.appliedIndex}`);
  }
  return { initialized, hardState, logStart, deletedThrough, entries, lastIndex, snapshot, backend, bytesSinceSnapshot };
}

/** What a scan of the stored entries after some index found. */
export interface EntryScan {
  /** The entries in order before any damage (only when asked to keep them). */
  readonly entries: Entry[];
  /** The index of the last entry in order before any damage. */
  readonly lastGood: number;
  /** The first damage: the index where the log stops being whole, and what is wrong there. */
  readonly damage: { readonly index: number; readonly what: string; readonly why: string } | null;
  /** Entry keys stored from the damage on (counted only when not stopping at it). */
  readonly storedFromDamage: number;
}

/**
 * Reads the stored entries after `after` in order (with a 1 MiB read-ahead), checking each one's checksum and
 * index, that none is missing, and that terms never go back (from `previousTerm`, the term at `after`).
 */
export async function scanEntries(
  db: Db,
  where: string,
  after: number,
  previousTerm: number,
  options: { readonly keep: boolean; readonly stopAtDamage: boolean },
): Promise<EntryScan> {
  const entries: Entry[] = [];
  let expected = after + 1;
  let termBefore = previousTerm;
  let damage: EntryScan['damage'] = null;
  let storedFromDamage = 0;
  const iterator = db.iterator({ gt: entryKey(after), lt: ENTRY_KEYS_END, highWaterMarkBytes: SCAN_PREFETCH_BYTES });
  try {
    scanning: for (;;) {
      let batch: [Buffer, Buffer][];
      try {
        batch = await iterator.nextv(1000);
      } catch (error) {
        damage ??= { index: expected, what: `entry ${expected}`, why: `LevelDB could not read it (${(error as Error).message})` };
        break;
      }
      if (batch.length === 0) break;
      for (const [key, value] of batch) {
        if (damage !== null) {
          storedFromDamage++;
          continue;
        }
        damage = checkNext(key, value);
        if (damage !== null) {
          storedFromDamage++;
          if (options.stopAtDamage) break scanning;
        }
      }
    }
  } finally {
    await iterator.close();
  }
  return { entries, lastGood: (damage?.index ?? expected) - 1, damage, storedFromDamage };

  function checkNext(key: Buffer, value: Buffer): EntryScan['damage'] {
    const at = entryIndexOf(key);
    if (at < 0) return { index: expected, what: `key ${key.toString('hex')}`, why: 'not an entry key inside the entry key range' };
    if (at !== expected) return { index: expected, what: `entry ${expected}`, why: `missing (the next stored entry is ${at})` };
    let entry: Entry;
    try {
      entry = decodeEntry(value, where, at);
    } catch (error) {
      const found = error instanceof StorageError ? error.damage : undefined;
      if (found === undefined) throw error;
      return { index: at, what: found.what, why: found.why };
    }
    if (entry.term < termBefore) return { index: at, what: `entry ${at}`, why: `term ${entry.term} is lower than the term ${termBefore} before it` };
    termBefore = entry.term;
    if (options.keep) entries.push(entry);
    expected++;
    return null;
  }
}

async function readMeta(db: Db, key: Buffer, where: string, what: string): Promise<Buffer | undefined> {
  try {
    return await db.get(key);
  } catch (error) {
    throw corrupt(where, what, `LevelDB could not read it (${(error as Error).message})`);
  }
}

function parseHardState(fields: unknown, where: string): HardState {
  const [t, vote, commit] = fieldsOf(fields, 3, where, 'hard state');
  if (!isCount(t) || typeof vote !== 'string' || !isCount(commit)) throw corrupt(where, 'hard state', 'fields of the wrong type');
  return { term: term(t), vote: nodeId(vote), commit: index(commit) };
}

function parseLogStart(fields: unknown, where: string): LogStart {
  const [at, t] = fieldsOf(fields, 2, where, 'log start');
  if (!isCount(at) || !isCount(t)) throw corrupt(where, 'log start', 'fields of the wrong type');
  return { index: index(at), term: term(t) };
}

function parseSnapshotRecord(fields: unknown, where: string): SnapshotRecord {
  const [at, t, voters, learners, sizeBytes, file, checksum] = fieldsOf(fields, 7, where, 'snapshot record');
  if (!isCount(at) || !isCount(t) || !isNames(voters) || !isNames(learners) || !isCount(sizeBytes) || typeof file !== 'string' || !isCount(checksum)) {
    throw corrupt(where, 'snapshot record', 'fields of the wrong type');
  }
  const config: ClusterConfig = { voters: voters.map(nodeId), learners: learners.map(nodeId) };
  return { meta: { index: index(at), term: term(t), config, sizeBytes }, file, checksum };
}

export function decodeBackendRecord(value: Uint8Array, where: string): BackendRecord {
  return parseBackendRecord(decodeRecord(value, where, 'backend record'), where);
}

export function decodeHardState(value: Uint8Array, where: string): HardState {
  return parseHardState(decodeRecord(value, where, 'hard state'), where);
}

export function decodeLogStart(value: Uint8Array, where: string): LogStart {
  return parseLogStart(decodeRecord(value, where, 'log start'), where);
}

export function decodeSnapshotRecord(value: Uint8Array, where: string): SnapshotRecord {
  return parseSnapshotRecord(decodeRecord(value, where, 'snapshot record'), where);
}

function parseBackendRecord(fields: unknown, where: string): BackendRecord {
  const [generation, applied, appliedTerm, voters, learners] = fieldsOf(fields, 5, where, 'backend record');
  if (!isCount(generation) || generation === 0 || !isCount(applied) || !isCount(appliedTerm) || !isNames(voters) || !isNames(learners)) {
    throw corrupt(where, 'backend record', 'fields of the wrong type');
  }
  return { generation, appliedIndex: index(applied), appliedTerm: term(appliedTerm), config: { voters: voters.map(nodeId), learners: learners.map(nodeId) } };
}

function fieldsOf(fields: unknown, count: number, where: string, what: string): unknown[] {
  if (!Array.isArray(fields) || fields.length !== count) throw corrupt(where, what, `expected ${count} fields`);
  return fields;
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isNames = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');
