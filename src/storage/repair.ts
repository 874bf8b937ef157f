// `conclave repair`: what an operator runs when a member refuses to start on damaged storage. It finds the
// damage, says what it would do, and does it only when confirmed. It repairs only what can be repaired without
// inventing data: a damaged or missing log tail after the applied index (deleted; the leader sends it again), a
// commit index beyond the log (lowered), a missing or damaged snapshot file (written anew from the backend).
// Damage inside what this member has already applied cannot be repaired here: the member must be replaced.

import { join } from 'node:path';
import { storageLimits, type StorageLimits } from '../limits.js';
import { decodeConfChange } from '../raft/confchange.js';
import { index, nodeId, term, type ClusterConfig, type HardState, type SnapshotMeta } from '../raft/types.js';
import { snapshotBackend } from './backend-snapshot.js';
import { StorageError } from './errors.js';
import { database, repairDatabaseFiles, type Db } from './leveldb.js';
import { checkDatabaseFiles } from './leveldb-files.js';
import { ENTRY_KEYS_END, entryKey, META } from './keys.js';
import { decodeRecord } from './record.js';
import { verifySnapshotFile } from './snapshot-file.js';
import { SnapshotDirectory, snapshotFileName } from './snapshots.js';
import { NodeStorage } from './storage.js';
import {
  decodeBackendRecord,
  decodeEntry,
  decodeHardState,
  decodeLogStart,
  decodeSnapshotRecord,
  encodeHardState,
  encodeSnapshotRecord,
  FIRST_BACKEND,
  NO_LOG_START,
  scanEntries,
  type LogStart,
  type SnapshotRecord,
} from './wal.js';

export interface RepairFinding {
  /** What is wrong. */
  readonly problem: string;
  /** What the repair does (or did) about it. */
  readonly action: string;
}

export interface RepairReport {
  /** The storage opened cleanly: nothing to do. */
  readonly healthy: boolean;
  readonly findings: readonly RepairFinding[];
  /** Set when the damage cannot be repaired here, with the reason and what to do instead. */
  readonly refusal: string | null;
  /** The repair was carried out (only with confirm, and only when there was no refusal). */
  readonly repaired: boolean;
  /** The error the member refused to start with. */
  readonly startError: string | null;
}

const REPLACE_MEMBER =
  'replace this member: remove it from the cluster (member remove), delete its data directory, and add it again as a new member (member add), which then receives a snapshot from the leader';

export async function repairStorage(dataDir: string, options: { confirm: boolean; limits?: Partial<StorageLimits> }): Promise<RepairReport> {
  const limits: StorageLimits = { ...storageLimits, ...options.limits };
  const dbPath = join(dataDir, 'member', 'db');
  // LevelDB's own files first, every table (a start skips the tables it checked before), and before anything
  // opens the database: that would drop a damaged log record for good.
  try {
    await checkDatabaseFiles(dbPath);
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    const refusal = `LevelDB's own files are damaged (${error.message}); ${REPLACE_MEMBER}`;
    return { healthy: false, findings: [], refusal, repaired: false, startError: error.message };
  }
  let startError: string;
  try {
    const storage = await NodeStorage.open({ dataDir, limits });
    await storage.close();
    return { healthy: true, findings: [], refusal: null, repaired: false, startError: null };
  } catch (error) {
    if (!(error instanceof StorageError) || error.code !== 'ErrCorrupt') throw error;
    startError = error.message;
  }
  const snapshots = new SnapshotDirectory(join(dataDir, 'member', 'snap'));
  const findings: RepairFinding[] = [];
  let db = database(dbPath);
  try {
    await db.open();
  } catch (error) {
    findings.push({ problem: `LevelDB cannot open ${dbPath}: ${(error as Error).message}`, action: 'rebuild the database files with LevelDB repair' });
    if (!options.confirm) return { healthy: false, findings, refusal: null, repaired: false, startError };
    await repairDatabaseFiles(dbPath);
    db = database(dbPath);
    await db.open();
  }
  try {
    const plan = await planRepair(db, dbPath, snapshots, findings);
    if (plan.refusal !== null || !options.confirm) return { healthy: false, findings, refusal: plan.refusal, repaired: false, startError };
    await plan.carryOut(limits);
  } finally {
    await db.close();
  }
  // The repaired storage must open cleanly, or the repair failed.
  const storage = await NodeStorage.open({ dataDir, limits });
  await storage.close();
  return { healthy: false, findings, refusal: null, repaired: true, startError };
}

interface Plan {
  readonly refusal: string | null;
  carryOut(limits: StorageLimits): Promise<void>;
}

async function planRepair(db: Db, dbPath: string, snapshots: SnapshotDirectory, findings: RepairFinding[]): Promise<Plan> {
  const refuse = (refusal: string): Plan => ({ refusal, carryOut: async () => {} });
  let meta: Awaited<ReturnType<typeof readMetadata>>;
  try {
    meta = await readMetadata(db, dbPath);
  } catch (error) {
    return refuse(`a metadata record is damaged (${(error as Error).message}); ${REPLACE_MEMBER}`);
  }
  const { hardState, logStart, backend } = meta;
  const applied = backend.appliedIndex;

  // The log: the longest undamaged run of entries after the log start.
  // The log as a start reads it: the entries after the snapshot (those below it are never served again).
  const snapshotIndex = meta.snapshot?.meta.index ?? 0;
  const scanFrom = Math.max(logStart.index, snapshotIndex);
  const termAtScanFrom = meta.snapshot !== null && scanFrom === snapshotIndex ? meta.snapshot.meta.term : logStart.term;
  const scan = await scanEntries(db, dbPath, scanFrom, termAtScanFrom, { keep: false, stopAtDamage: false });
  let lastGood = scan.lastGood;
  const firstBad = scan.damage;
  const deleteFrom = firstBad === null ? null : firstBad.index;
  if (firstBad !== null) {
    if (firstBad.index <= applied) {
      return refuse(`entry ${firstBad.index} is damaged (${firstBad.why}) and this member has already applied it (applied index ${applied}); ${REPLACE_MEMBER}`);
    }
    findings.push({
      problem: `entry ${firstBad.index} is damaged: ${firstBad.why}`,
      action: `delete the log from entry ${firstBad.index} on (${scan.storedFromDamage} stored entries); this member receives them again from the leader`,
    });
  }
  lastGood = Math.max(lastGood, snapshotIndex);
  let newHardState: HardState | null = null;
  if (hardState.commit > lastGood) {
    if (applied > lastGood) return refuse(`the applied index ${applied} is beyond the undamaged log (${lastGood}); ${REPLACE_MEMBER}`);
    newHardState = { ...hardState, commit: index(lastGood) };
    findings.push({
      problem: `the commit index ${hardState.commit} is beyond the undamaged log (last entry ${lastGood})`,
      action: `lower the commit index to ${lastGood} (the leader tells this member again what is committed)`,
    });
  }

  // The snapshot file.
  let rewriteSnapshot: { config: ClusterConfig } | null = null;
  if (meta.snapshot !== null) {
    const problem = await snapshotFileProblem(snapshots, meta.snapshot);
    if (problem !== null) {
      const config = await configAt(db, dbPath, meta.snapshot.meta.config, logStart, applied);
      if (config === null) return refuse(`${problem}, and the membership at the applied index ${applied} is not in the log; ${REPLACE_MEMBER}`);
      rewriteSnapshot = { config };
      findings.push({ problem, action: `write a new snapshot of the backend at its applied index ${applied} and record it` });
    }
  }
  if (findings.length === 0) return refuse(`the storage refuses to start, but no damage this command repairs was found; ${REPLACE_MEMBER}`);

  return {
    refusal: null,
    async carryOut(limits: StorageLimits): Promise<void> {
      if (deleteFrom !== null) await db.clear({ gte: entryKey(deleteFrom), lt: ENTRY_KEYS_END });
      if (newHardState !== null) await db.put(META.hardState, encodeHardState(newHardState), { sync: true });
      if (rewriteSnapshot !== null) {
        await snapshots.init();
        const view = db.snapshot();
        try {
          const taken = await snapshotBackend(db, view, backend, snapshots, limits, () => {}, rewriteSnapshot.config);
          const snapshotMeta: SnapshotMeta = { index: taken.index, term: taken.term, config: rewriteSnapshot.config, sizeBytes: taken.sizeBytes };
          const record: SnapshotRecord = { meta: snapshotMeta, file: taken.file, checksum: taken.checksum };
          await db.put(META.snapshot, encodeSnapshotRecord(record), { sync: true });
        } finally {
          await view.close();
        }
      }
    },
  };
}

/** The metadata records, which must all be intact for a repair (the log itself may be damaged). */
async function readMetadata(db: Db, dbPath: string) {
  const read = async <T>(key: Buffer, decode: (value: Uint8Array, where: string) => T): Promise<T | undefined> => {
    const value = await db.get(key);
    return value === undefined ? undefined : decode(value, dbPath);
  };
  const format = await db.get(META.format);
  if (format !== undefined) decodeRecord(format, dbPath, 'format record');
  return {
    hardState: (await read(META.hardState, decodeHardState)) ?? { term: term(0), vote: nodeId(''), commit: index(0) },
    logStart: (await read(META.logStart, decodeLogStart)) ?? NO_LOG_START,
    snapshot: (await read(META.snapshot, decodeSnapshotRecord)) ?? null,
    backend: (await read(META.backend, decodeBackendRecord)) ?? FIRST_BACKEND,
  };
}

async function snapshotFileProblem(snapshots: SnapshotDirectory, record: SnapshotRecord): Promise<string | null> {
  const path = snapshots.path(record.file);
  if (record.file !== snapshotFileName(record.meta)) return `the snapshot record names ${record.file}, not the file of its index and term`;
  try {
    const checked = await verifySnapshotFile(path, { expectedChecksum: record.checksum });
    if (checked.header.index !== record.meta.index || checked.sizeBytes !== record.meta.sizeBytes) return `snapshot file ${path} does not match its record`;
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `snapshot file ${path} is missing` : `snapshot file ${path} is damaged (${(error as Error).message})`;
  }
}

/** The membership as of `at`: the recorded snapshot's, updated by the configuration entries in the log up to `at`. */
async function configAt(db: Db, dbPath: string, base: ClusterConfig, logStart: LogStart, at: number): Promise<ClusterConfig | null> {
  let config = base;
  for (let position = logStart.index + 1; position <= at; position++) {
    const value = await db.get(entryKey(position));
    if (value === undefined) return null;
    const entry = decodeEntry(value, dbPath, position);
    if (entry.type === 'confChange') config = decodeConfChange(entry.data).config;
  }
  return config;
}
