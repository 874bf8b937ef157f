// Shared by the storage tests: temporary data directories, Ready builders, and readers of what storage holds.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StorageLimits } from '../../src/limits.js';
import { index, nodeId, term, type ClusterConfig, type Entry, type HardState, type Ready, type SnapshotMeta } from '../../src/raft/types.js';
import { NodeStorage, readSnapshotFile, type CrashPoint, type TakenSnapshot } from '../../src/storage/index.js';
import { decodeEntry } from '../../src/storage/wal.js';
import { ENTRY_KEYS_END, ENTRY_KEYS_START, entryIndexOf } from '../../src/storage/keys.js';
import type { Db } from '../../src/storage/leveldb.js';

const created: string[] = [];

/** A fresh directory under os.tmpdir(), removed by removeTempDirs(). */
export async function tempDir(prefix = 'conclave-storage-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  for (const dir of created.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** Runs `body` with a fresh directory and removes it afterwards, whatever happens (for property runs). */
export async function withTempDir<T>(body: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix ?? 'conclave-storage-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const CONFIG: ClusterConfig = { voters: [nodeId('n1')], learners: [] };

/** A Ready with every field empty (mustSync true, as a Ready that carries state has it), overridden by `fields`. */
export function ready(fields: Partial<Ready> = {}): Ready {
  return {
    softState: null,
    hardState: null,
    snapshotChunks: [],
    snapshot: null,
    entries: [],
    messages: [],
    persistedMessages: [],
    committedEntries: [],
    readStates: [],
    mustSync: true,
    ...fields,
  };
}

export const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
export const text = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1');

export function entry(at: number, entryTerm: number, data: string = `entry ${at}/${entryTerm}`): Entry {
  return { index: index(at), term: term(entryTerm), type: 'normal', data: bytes(data) };
}

/** Entries from..to (inclusive), all of one term. */
export function entries(from: number, to: number, entryTerm: number, data?: (at: number) => string): Entry[] {
  const out: Entry[] = [];
  for (let at = from; at <= to; at++) out.push(entry(at, entryTerm, data?.(at)));
  return out;
}

export function hardState(hsTerm: number, commit: number, vote = 'n1'): HardState {
  return { term: term(hsTerm), vote: nodeId(vote), commit: index(commit) };
}

/** The metadata the core's createSnapshot would give a taken snapshot. */
/** What the core's createSnapshot gives for a taken snapshot (the membership is the one applied, in its header). */
export function metaOf(taken: TakenSnapshot): SnapshotMeta {
  return { index: taken.index, term: taken.term, config: taken.config, sizeBytes: taken.sizeBytes };
}

export function openStorage(dataDir: string, limits: Partial<StorageLimits> = {}, crashPoint?: (point: CrashPoint) => void): Promise<NodeStorage> {
  return NodeStorage.open(crashPoint === undefined ? { dataDir, limits } : { dataDir, limits, crashPoint });
}

/** Every backend pair, in key order, as latin1 strings (binary-safe). */
export async function backendPairs(storage: NodeStorage): Promise<[string, string][]> {
  const rows = await storage.backend.range({ start: new Uint8Array(0) });
  return rows.map(({ key, value }) => [text(key), text(value)]);
}

/** Every pair of a snapshot file, in file order, as latin1 strings. */
export async function snapshotFilePairs(path: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const frame of readSnapshotFile(path)) if (frame.kind === 'pairs') for (const [key, value] of frame.pairs) out.push([text(key), text(value)]);
  return out;
}

/**
 * Every entry key stored in the database, decoded: a look at what is on disk between restarts. Reads through
 * the storage's (private) database handle; for tests only.
 */
export async function storedEntries(storage: NodeStorage): Promise<Entry[]> {
  const db = (storage as unknown as { db: Db }).db;
  const out: Entry[] = [];
  for await (const [key, value] of db.iterator({ gte: ENTRY_KEYS_START, lt: ENTRY_KEYS_END })) {
    const at = entryIndexOf(key);
    out.push(decodeEntry(value, 'test', at));
  }
  return out;
}

/** The same data as a comparable value. */
export const describeEntries = (list: readonly Entry[]): string[] => list.map((e) => `${e.index}/${e.term}/${e.type}/${text(e.data)}`);

/** Waits until `condition` holds, polling; fails after `timeoutMs` with `what` (a guard against hanging, not a timing assertion). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
