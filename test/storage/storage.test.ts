// NodeStorage: persisting Readies (entries that overwrite a suffix, hard states, when it fsyncs), taking,
// recording, reading and pruning snapshots, compacting the log, receiving a snapshot in chunks and installing it
// atomically, the log-size snapshot trigger, and the Ready loop (RaftLoop) driving a single-voter RaftNode on
// storage: snapshots and compaction by themselves under load with a bounded log, restart, the idle flush.

import { ClassicLevel } from 'classic-level';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { index, nodeId, RaftNode, term, type Entry, type IncomingSnapshotChunk, type SnapshotMeta } from '../../src/raft/index.js';
import { RaftLoop, type StateMachine } from '../../src/server/raft-loop.js';
import { StorageError } from '../../src/storage/errors.js';
import { snapshotFileName } from '../../src/storage/snapshots.js';
import { readSnapshotFile } from '../../src/storage/snapshot-file.js';
import type { NodeStorage } from '../../src/storage/index.js';
import { Rng } from '../sim/prng.js';
import {
  backendPairs,
  bytes,
  CONFIG,
  describeEntries,
  entries,
  entry,
  hardState,
  metaOf,
  openStorage,
  ready,
  removeTempDirs,
  snapshotFilePairs,
  storedEntries,
  tempDir,
  text,
  waitFor,
} from './helpers.js';

afterEach(removeTempDirs);

async function refusal(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('not refused');
}

/** Applies entries from..to (which must be committed) with one key each, and writes them. */
async function applyKeys(storage: NodeStorage, from: number, to: number, entryTerm: number, prefix = 'key'): Promise<void> {
  for (let at = from; at <= to; at++) {
    storage.backend.put(bytes(`${prefix}-${String(at).padStart(3, '0')}`), bytes(`value ${at} `.repeat(8)));
    storage.backend.setApplied(index(at), term(entryTerm));
  }
  await storage.flushApplied();
}

const snapFiles = async (storage: NodeStorage): Promise<string[]> => (await readdir(storage.snapshots.dir)).sort();

describe('persist', () => {
  it('writes entries and the hard state; a later Ready overwrites a suffix and deletes the entries after it', async () => {
    const dir = await tempDir();
    let storage = await openStorage(dir);
    await storage.persist(ready({ entries: entries(1, 5, 1), hardState: hardState(1, 2) }));
    expect(storage.lastStoredIndex).toBe(5);
    await storage.persist(ready({ entries: [entry(4, 2, 'new four')], hardState: hardState(2, 3) }));
    const expected = [...entries(1, 3, 1), entry(4, 2, 'new four')];
    expect(describeEntries(await storedEntries(storage))).toEqual(describeEntries(expected));
    expect(storage.lastStoredIndex).toBe(4);
    expect(storage.durableHardState).toEqual(hardState(2, 3));
    // An append after the overwrite continues from it.
    await storage.persist(ready({ entries: [entry(5, 2, 'new five')] }));
    await storage.close();
    storage = await openStorage(dir);
    expect(describeEntries(storage.restored?.entries ?? [])).toEqual(describeEntries([...expected, entry(5, 2, 'new five')]));
    expect(storage.restored?.hardState).toEqual(hardState(2, 3));
    await storage.close();
  });

  it('refuses entries that leave a gap or are not contiguous, and then refuses every later write', async () => {
    const dir = await tempDir();
    const storage = await openStorage(dir);
    await storage.persist(ready({ entries: entries(1, 2, 1), hardState: hardState(1, 1) }));
    const gap = await refusal(storage.persist(ready({ entries: [entry(4, 1)] })));
    expect(gap.code).toBe('ErrCorrupt');
    expect(gap.message).toContain(storage.dbPath);
    expect(gap.message).toMatch(/entries start at 4 but the log ends at 2/);
    expect((await refusal(storage.persist(ready({ entries: [entry(3, 1)] })))).code).toBe('ErrStorageClosed');
    await storage.close();

    const other = await openStorage(await tempDir());
    expect((await refusal(other.persist(ready({ entries: [entry(1, 1), entry(3, 1)] })))).message).toMatch(/not contiguous \(3 after 1\)/);
    await other.close();
  });

  it('fsyncs a batch only when the Ready must sync, carries applied changes only on such a batch, and writes nothing for an empty or commit-only Ready', async () => {
    const storage = await openStorage(await tempDir());
    await storage.persist(ready({ entries: entries(1, 3, 1), hardState: hardState(1, 1) }));
    const before = storage.stats();
    // A commit index alone waits for the next batch.
    await storage.persist(ready({ hardState: hardState(1, 2), mustSync: false }));
    expect(storage.stats().batches).toBe(before.batches);
    expect(storage.durableHardState.commit).toBe(1);
    await storage.persist(ready({ mustSync: false }));
    expect(storage.stats().batches).toBe(before.batches);
    storage.backend.put(bytes('k'), bytes('v'));
    storage.backend.setApplied(index(1), term(1));
    await storage.persist(ready({ hardState: hardState(1, 3), mustSync: false }));
    expect(storage.stats().batches).toBe(before.batches);
    expect(storage.backend.durableRecord.appliedIndex).toBe(0);
    expect(storage.backend.hasStaged()).toBe(true);
    // The next Ready that syncs carries the applied changes and the latest commit index, in one batch.
    await storage.persist(ready({ entries: [entry(4, 1)] }));
    expect(storage.stats().batches).toBe(before.batches + 1);
    expect(storage.stats().fsyncs).toBe(before.fsyncs + 1);
    expect(storage.backend.durableRecord.appliedIndex).toBe(1);
    expect(storage.durableHardState.commit).toBe(3);
    expect(storage.backend.hasStaged()).toBe(false);
    // A term change is written (and synced) at once.
    await storage.persist(ready({ hardState: hardState(2, 3) }));
    expect(storage.stats().fsyncs).toBe(before.fsyncs + 2);
    expect(storage.durableHardState.term).toBe(2);
    await storage.close();
  });

  it('flushes staged applied changes together with a commit index that waited', async () => {
    const dir = await tempDir();
    const storage = await openStorage(dir);
    await storage.persist(ready({ entries: entries(1, 2, 1), hardState: hardState(1, 0) }));
    await storage.persist(ready({ hardState: hardState(1, 2), mustSync: false }));
    storage.backend.put(bytes('k'), bytes('v'));
    storage.backend.setApplied(index(2), term(1));
    await storage.flushApplied();
    expect(storage.durableHardState.commit).toBe(2);
    await storage.close();
    const reopened = await openStorage(dir);
    expect(reopened.restored?.hardState.commit).toBe(2);
    expect(reopened.restored?.applied).toBe(2);
    await reopened.close();
  });
});

describe('snapshots', () => {
  it('are taken only of what is durably applied, at its index, with the backend as written', async () => {
    const dir = await tempDir();
    const storage = await openStorage(dir);
    expect(await storage.takeSnapshot()).toBeNull();
    await storage.persist(ready({ entries: [entry(1, 1), entry(2, 2), entry(3, 2)], hardState: hardState(2, 3) }));
    storage.backend.put(bytes('a'), bytes('1'));
    storage.backend.put(bytes('b'), bytes('2'));
    storage.backend.setApplied(index(2), term(2));
    expect(await storage.takeSnapshot()).toBeNull(); // staged only
    await storage.flushApplied();
    storage.backend.put(bytes('c'), bytes('3'));
    storage.backend.delete(bytes('a'));
    storage.backend.setApplied(index(3), term(2));
    const taken = await storage.takeSnapshot();
    expect(taken).toMatchObject({ index: 2, term: 2, file: snapshotFileName({ index: 2, term: 2 }) });
    if (taken === null) return;
    expect(await snapshotFilePairs(storage.snapshots.path(taken.file))).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(taken.sizeBytes).toBe((await readFile(storage.snapshots.path(taken.file))).length);
    await storage.recordSnapshot(metaOf(taken), taken);
    expect(storage.snapshot?.meta).toEqual(metaOf(taken));
    expect(await storage.takeSnapshot()).toBeNull(); // nothing durable newer than it
    await storage.flushApplied();
    expect((await storage.takeSnapshot())?.index).toBe(3);
    await storage.close();
  });

  it('are recorded only with metadata that describes the file', async () => {
    const storage = await openStorage(await tempDir());
    await storage.persist(ready({ entries: [entry(1, 1)], hardState: hardState(1, 1) }));
    await applyKeys(storage, 1, 1, 1);
    const taken = await storage.takeSnapshot();
    if (taken === null) throw new Error('no snapshot');
    const error = await refusal(storage.recordSnapshot({ ...metaOf(taken), sizeBytes: taken.sizeBytes + 1 }, taken));
    expect(error.code).toBe('ErrCorrupt');
    expect(error.message).toContain(taken.file);
    expect(storage.snapshot).toBeNull();
    await storage.close();
  });

  it('are read back in chunks for a follower; another snapshot than the latest is ErrSnapshotNotFound', async () => {
    const storage = await openStorage(await tempDir());
    await storage.persist(ready({ entries: entries(1, 20, 1), hardState: hardState(1, 20) }));
    await applyKeys(storage, 1, 20, 1);
    const taken = await storage.takeSnapshot();
    if (taken === null) throw new Error('no snapshot');
    await storage.recordSnapshot(metaOf(taken), taken);
    const chunks: Uint8Array[] = [];
    for (let offset = 0; offset < taken.sizeBytes; offset += 100) chunks.push(await storage.readSnapshotChunk(metaOf(taken), offset, Math.min(100, taken.sizeBytes - offset)));
    expect(Buffer.concat(chunks).equals(await readFile(storage.snapshots.path(taken.file)))).toBe(true);
    expect((await refusal(storage.readSnapshotChunk({ ...metaOf(taken), index: index(7) }, 0, 10))).code).toBe('ErrSnapshotNotFound');
    expect((await refusal(storage.readSnapshotChunk(metaOf(taken), taken.sizeBytes - 5, 10))).code).toBe('ErrSnapshotNotFound');
    await storage.close();
  });

  it('old files are pruned to snapshotsRetained, the recorded one always kept; leftovers go at start-up', async () => {
    const dir = await tempDir();
    let storage = await openStorage(dir, { snapshotsRetained: 2 });
    await storage.persist(ready({ entries: entries(1, 6, 1), hardState: hardState(1, 6) }));
    const names: string[] = [];
    for (let at = 1; at <= 5; at++) {
      await applyKeys(storage, at, at, 1);
      const taken = await storage.takeSnapshot();
      if (taken === null) throw new Error('no snapshot');
      await storage.recordSnapshot(metaOf(taken), taken);
      names.push(taken.file);
      expect(await snapFiles(storage)).toEqual(names.slice(-2).sort());
    }
    await storage.close();
    await writeFile(join(dir, 'member', 'snap', `${snapshotFileName({ index: 9, term: 1 })}.tmp`), 'half written');
    await writeFile(join(dir, 'member', 'snap', `${snapshotFileName({ index: 9, term: 1 })}.incoming`), 'half received');
    storage = await openStorage(dir, { snapshotsRetained: 1 });
    expect(await snapFiles(storage)).toEqual([names[4]]);
    expect(storage.snapshot?.file).toBe(names[4]);
    await storage.close();
  });
});

describe('compaction', () => {
  it('drops the entries through `at` (the log start at once, the entries in the background); the log start survives a restart', async () => {
    const dir = await tempDir();
    let storage = await openStorage(dir);
    await storage.persist(ready({ entries: entries(1, 30, 1), hardState: hardState(1, 30) }));
    await applyKeys(storage, 1, 28, 1);
    const taken = await storage.takeSnapshot();
    if (taken === null) throw new Error('no snapshot');
    await storage.recordSnapshot(metaOf(taken), taken);
    const before = storage.stats().batches;
    await storage.compactLog(index(25));
    // One batch: the new log start. The entries go with LevelDB's range deletion, off the write path.
    expect(storage.stats().batches - before).toBe(1);
    expect(storage.firstIndex).toBe(26);
    await storage.settled();
    expect((await storedEntries(storage)).map((e) => e.index)).toEqual([26, 27, 28, 29, 30]);
    await storage.compactLog(index(20)); // already compacted: nothing to do
    expect(storage.firstIndex).toBe(26);
    await storage.close();
    storage = await openStorage(dir);
    expect(storage.firstIndex).toBe(26);
    expect(storage.restored?.entries.map((e) => e.index)).toEqual([29, 30]);
    await storage.close();
  });

  it('a compaction interrupted after its marker leaves entries below the log start, which start-up deletes', async () => {
    const dir = await tempDir();
    let crash = false;
    let storage = await openStorage(dir, {}, (point) => {
      if (crash && point === 'compact:deleting') throw new Error('crash');
    });
    await storage.persist(ready({ entries: entries(1, 12, 1), hardState: hardState(1, 12) }));
    await applyKeys(storage, 1, 12, 1);
    const taken = await storage.takeSnapshot();
    if (taken === null) throw new Error('no snapshot');
    await storage.recordSnapshot(metaOf(taken), taken);
    crash = true;
    await expect(storage.compactLog(index(10))).rejects.toThrow('crash');
    await storage.close();
    storage = await openStorage(dir);
    expect(storage.firstIndex).toBe(11);
    expect(storage.restored?.entries.map((e) => e.index)).toEqual([11, 12].filter((at) => at > (taken.index as number)));
    await storage.settled();
    expect((await storedEntries(storage)).map((e) => e.index)).toEqual([11, 12]);
    await storage.close();
  });

  it('refuses to compact beyond the recorded snapshot', async () => {
    const storage = await openStorage(await tempDir());
    await storage.persist(ready({ entries: entries(1, 5, 1), hardState: hardState(1, 5) }));
    await applyKeys(storage, 1, 3, 1);
    const taken = await storage.takeSnapshot();
    if (taken === null) throw new Error('no snapshot');
    await storage.recordSnapshot(metaOf(taken), taken);
    const error = await refusal(storage.compactLog(index(4)));
    expect(error.message).toMatch(/compaction to 4 beyond the snapshot \(3\)/);
    await storage.close();
  });
});

describe('receiving and installing a snapshot', () => {
  // The leader's snapshot at 20 (term 2, 20 keys), and a second one at 25, read back as bytes.
  let leader: { meta: SnapshotMeta; data: Buffer; pairs: [string, string][] };
  let newer: { meta: SnapshotMeta; data: Buffer; pairs: [string, string][] };

  beforeAll(async () => {
    const storage = await openStorage(await tempDir('conclave-leader-'));
    await storage.persist(ready({ entries: [...entries(1, 3, 1), ...entries(4, 30, 2)], hardState: hardState(2, 30) }));
    storage.backend.setMembership(CONFIG); // as the loop does when it applies the bootstrap entry
    await applyKeys(storage, 1, 3, 1, 'leader');
    const take = async (to: number) => {
      await applyKeys(storage, storage.backend.appliedIndex + 1, to, 2, 'leader');
      const taken = await storage.takeSnapshot();
      if (taken === null) throw new Error('no snapshot');
      await storage.recordSnapshot(metaOf(taken), taken);
      return { meta: metaOf(taken), data: await readFile(storage.snapshots.path(taken.file)), pairs: await backendPairs(storage) };
    };
    leader = await take(20);
    newer = await take(25);
    await storage.close();
    expect(leader.data.length).toBeGreaterThan(1000);
  });

  const chunksOf = (snapshot: { meta: SnapshotMeta; data: Buffer }, size: number): IncomingSnapshotChunk[] => {
    const out: IncomingSnapshotChunk[] = [];
    for (let offset = 0; offset < snapshot.data.length; offset += size) out.push({ snapshot: snapshot.meta, offset, data: snapshot.data.subarray(offset, offset + size) });
    return out;
  };

  /** A follower behind the leader: entries 1..5 of term 1, 3 of them applied (keys old-001..003). */
  async function follower(limits = {}, crashPoint?: (point: string) => void): Promise<{ dir: string; storage: NodeStorage }> {
    const dir = await tempDir('conclave-follower-');
    const storage = await openStorage(dir, limits, crashPoint);
    await storage.persist(ready({ entries: entries(1, 5, 1), hardState: hardState(1, 4) }));
    await applyKeys(storage, 1, 3, 1, 'old');
    return { dir, storage };
  }

  async function expectOldState(dir: string): Promise<void> {
    const storage = await openStorage(dir);
    expect((await backendPairs(storage)).map(([key]) => key)).toEqual(['old-001', 'old-002', 'old-003']);
    expect(storage.restored?.snapshot).toBeNull();
    expect(storage.restored?.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    expect(storage.restored?.applied).toBe(3);
    await storage.close();
  }

  async function generationsIn(dir: string): Promise<number[]> {
    const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'member', 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      const found = new Set<number>();
      for await (const key of db.keys({ gte: Buffer.from([0x62]), lt: Buffer.from([0x63]) })) found.add(key.readUInt32BE(1));
      return [...found];
    } finally {
      await db.close();
    }
  }

  it('chunks over several Readies, then the install: backend and log replaced, staged changes dropped; the same after a restart', async () => {
    const { dir, storage } = await follower();
    const chunks = chunksOf(leader, 300);
    expect(chunks.length).toBeGreaterThan(4);
    for (let i = 0; i < chunks.length; i += 2) await storage.persist(ready({ snapshotChunks: chunks.slice(i, i + 2) }));
    // Applied meanwhile (an entry the snapshot covers): older than the snapshot, dropped by the install.
    storage.backend.put(bytes('old-staged'), bytes('never written'));
    storage.backend.setApplied(index(4), term(1));
    // The install, with the entries after the snapshot and the leader's commit, in one Ready.
    const after = [entry(21, 2, 'after one'), entry(22, 2, 'after two')];
    await storage.persist(ready({ snapshot: leader.meta, entries: after, hardState: hardState(2, 21) }));
    expect(await backendPairs(storage)).toEqual(leader.pairs);
    expect(storage.backend.get(bytes('old-001'))).toBeUndefined();
    expect(storage.backend.get(bytes('old-staged'))).toBeUndefined();
    expect(storage.backend.appliedIndex).toBe(20);
    expect(storage.snapshot?.meta).toEqual(leader.meta);
    expect(storage.firstIndex).toBe(21);
    expect(storage.lastStoredIndex).toBe(22);
    expect((await storedEntries(storage)).filter((e) => e.index > 20).map((e) => e.index)).toEqual([21, 22]);
    expect(storage.stats().snapshotsInstalled).toBe(1);
    const file = storage.snapshots.path(snapshotFileName(leader.meta));
    expect((await readFile(file)).equals(leader.data)).toBe(true);
    // What the install stored is what a leader would send from here.
    expect(Buffer.from(await storage.readSnapshotChunk(leader.meta, 0, leader.data.length)).equals(leader.data)).toBe(true);
    await storage.close();

    const reopened = await openStorage(dir);
    expect(reopened.restored?.snapshot).toEqual(leader.meta);
    expect(describeEntries(reopened.restored?.entries ?? [])).toEqual(describeEntries(after));
    expect(reopened.restored?.applied).toBe(20);
    expect(reopened.restored?.hardState).toEqual(hardState(2, 21));
    expect(await backendPairs(reopened)).toEqual(leader.pairs);
    // The replaced log and generation are gone from disk.
    expect((await storedEntries(reopened)).map((e) => e.index)).toEqual([21, 22]);
    await reopened.close();
    expect(await generationsIn(dir)).toEqual([2]);
  });

  it('discards a longer conflicting log: entries after the snapshot index go with the install', async () => {
    const dir = await tempDir('conclave-follower-');
    let storage = await openStorage(dir);
    // A deposed leader's log of term 1 up to 30, only 4 of it committed.
    await storage.persist(ready({ entries: entries(1, 30, 1), hardState: hardState(1, 4) }));
    await applyKeys(storage, 1, 4, 1, 'old');
    await storage.persist(ready({ snapshotChunks: chunksOf(leader, 1000) }));
    await storage.persist(ready({ snapshot: leader.meta, hardState: hardState(2, 20) }));
    expect(storage.lastStoredIndex).toBe(20);
    expect(storage.firstIndex).toBe(21);
    expect((await storedEntries(storage)).filter((e) => e.index > 20)).toEqual([]);
    await storage.persist(ready({ entries: [entry(21, 2, 'new 21')] }));
    await storage.close();
    storage = await openStorage(dir);
    expect(describeEntries(storage.restored?.entries ?? [])).toEqual(describeEntries([entry(21, 2, 'new 21')]));
    expect((await storedEntries(storage)).map((e) => e.index)).toEqual([21]);
    expect(await backendPairs(storage)).toEqual(leader.pairs);
    await storage.close();
  });

  it('is atomic: a crash while loading leaves the old state whole, a crash after the switch the new state whole', async () => {
    let crashAt: string | null = null;
    const hook = (point: string) => {
      if (point === crashAt) throw new Error(`crash at ${point}`);
    };
    const limits = { installBatchBytes: 200 };
    const first = await follower(limits, hook);
    await first.storage.persist(ready({ snapshotChunks: chunksOf(leader, 500) }));
    crashAt = 'install:loading';
    await expect(first.storage.persist(ready({ snapshot: leader.meta, hardState: hardState(2, 20) }))).rejects.toThrow('crash at install:loading');
    await first.storage.close();
    // Part of the new generation reached LevelDB; none of it is visible, and start-up deletes it.
    await expectOldState(first.dir);
    expect(await generationsIn(first.dir)).toEqual([1]);

    crashAt = null;
    const second = await follower(limits, hook);
    await second.storage.persist(ready({ snapshotChunks: chunksOf(leader, 500) }));
    crashAt = 'install:switched';
    await expect(second.storage.persist(ready({ snapshot: leader.meta, hardState: hardState(2, 20) }))).rejects.toThrow('crash at install:switched');
    await second.storage.close();
    const storage = await openStorage(second.dir);
    expect(await backendPairs(storage)).toEqual(leader.pairs);
    expect(storage.restored?.snapshot).toEqual(leader.meta);
    expect(storage.restored?.entries).toEqual([]);
    expect(storage.restored?.applied).toBe(20);
    await storage.close();
    expect(await generationsIn(second.dir)).toEqual([2]);
  });

  it('resumes at the acknowledged offset after a broken connection, also when an acknowledgement was lost', async () => {
    const { dir, storage } = await follower();
    const chunks = chunksOf(leader, 250);
    await storage.persist(ready({ snapshotChunks: chunks.slice(0, 3) }));
    // The connection breaks: chunk 3 is lost on the way. The leader resends from the acknowledged offset, but
    // the acknowledgement of chunk 4 is lost too, so chunk 4 arrives twice.
    await storage.persist(ready({ snapshotChunks: chunks.slice(3, 5) }));
    await storage.persist(ready({ snapshotChunks: chunks.slice(4) }));
    await storage.persist(ready({ snapshot: leader.meta }));
    expect(await backendPairs(storage)).toEqual(leader.pairs);
    await storage.close();
    const reopened = await openStorage(dir);
    expect((await readFile(reopened.snapshots.path(snapshotFileName(leader.meta)))).equals(leader.data)).toBe(true);
    expect(await backendPairs(reopened)).toEqual(leader.pairs);
    await reopened.close();
  });

  it('a chunk at offset 0 restarts the receive, of the same snapshot or of a newer one', async () => {
    const same = await follower();
    const chunks = chunksOf(leader, 400);
    await same.storage.persist(ready({ snapshotChunks: chunks.slice(0, 2) }));
    // Garbage where the old partial file continued: restarting must not keep any of it.
    await same.storage.persist(ready({ snapshotChunks: [{ snapshot: leader.meta, offset: 800, data: Buffer.alloc(4000, 0x55) }] }));
    await same.storage.persist(ready({ snapshotChunks: chunks }));
    await same.storage.persist(ready({ snapshot: leader.meta }));
    expect(await backendPairs(same.storage)).toEqual(leader.pairs);
    await same.storage.close();

    const other = await follower();
    await other.storage.persist(ready({ snapshotChunks: chunksOf(leader, 400).slice(0, 3) }));
    await other.storage.persist(ready({ snapshotChunks: chunksOf(newer, 400) }));
    const incoming = (await snapFiles(other.storage)).filter((name) => name.endsWith('.incoming'));
    expect(incoming).toEqual([`${snapshotFileName(newer.meta)}.incoming`]);
    await other.storage.persist(ready({ snapshot: newer.meta }));
    expect(await backendPairs(other.storage)).toEqual(newer.pairs);
    expect(other.storage.snapshot?.meta).toEqual(newer.meta);
    await other.storage.close();

    const dropped = await follower();
    await dropped.storage.persist(ready({ snapshotChunks: chunksOf(leader, 400).slice(0, 3) }));
    await dropped.storage.persist(ready({ snapshotChunks: chunksOf(newer, 400).slice(0, 1) }));
    const error = await refusal(dropped.storage.persist(ready({ snapshot: leader.meta })));
    expect(error.message).toMatch(/install of snapshot \(20, term 2\) whose chunks were not received/);
    await dropped.storage.close();
    await expectOldState(dropped.dir);
  });

  it('a chunk that continues a snapshot never started is refused', async () => {
    const { dir, storage } = await follower();
    const error = await refusal(storage.persist(ready({ snapshotChunks: chunksOf(leader, 400).slice(1, 2) })));
    expect(error.code).toBe('ErrCorrupt');
    expect(error.message).toMatch(/chunk at offset 400 of \(20, term 2\) but that snapshot was not started/);
    await storage.close();
    await expectOldState(dir);
  });

  it('refuses a snapshot larger than maxSnapshotBytes before writing any of it', async () => {
    const { dir, storage } = await follower({ maxSnapshotBytes: 1000 });
    const error = await refusal(storage.persist(ready({ snapshotChunks: chunksOf(leader, 400).slice(0, 1) })));
    expect(error.code).toBe('ErrSnapshotTooLarge');
    expect(error.message).toContain(`snapshot of ${leader.data.length} bytes exceeds maxSnapshotBytes (1000)`);
    expect(await snapFiles(storage)).toEqual([]);
    await storage.close();
    await expectOldState(dir);
  });

  it('carries the membership of its index in its header, and installs it with the state', async () => {
    expect(leader.meta.config).toEqual(CONFIG);
    const copy = join(await tempDir('conclave-header-'), 'leader.snap');
    await writeFile(copy, leader.data);
    const header = (await readSnapshotFile(copy).next()).value;
    expect(header).toEqual({ kind: 'header', header: { index: 20, term: 2, config: CONFIG } });
    const { storage } = await follower();
    await storage.persist(ready({ snapshotChunks: chunksOf(leader, 400) }));
    await storage.persist(ready({ snapshot: leader.meta, hardState: hardState(2, 20) }));
    expect(storage.backend.config).toEqual(CONFIG);
    expect(storage.backend.durableRecord.config).toEqual(CONFIG);
    await storage.close();
  });

  it('refuses a snapshot whose membership is not the one the leader sent with it, and the old state stays', async () => {
    const { dir, storage } = await follower();
    const claimed: SnapshotMeta = { ...leader.meta, config: { voters: [nodeId('n1'), nodeId('n2')], learners: [] } };
    await storage.persist(ready({ snapshotChunks: chunksOf({ meta: claimed, data: leader.data }, 400) }));
    const error = await refusal(storage.persist(ready({ snapshot: claimed, hardState: hardState(2, 20) })));
    expect(error.message).toMatch(/membership differs from the one the leader sent with it/);
    await storage.close();
    await expectOldState(dir);
  });

  it('a snapshot damaged on the way fails the install, and the old state stays', async () => {
    const { dir, storage } = await follower();
    const chunks = chunksOf(leader, 400);
    const damaged = Buffer.from((chunks[2] as IncomingSnapshotChunk).data);
    damaged[10] = (damaged[10] as number) ^ 0x04;
    chunks[2] = { ...(chunks[2] as IncomingSnapshotChunk), data: damaged };
    await storage.persist(ready({ snapshotChunks: chunks }));
    const error = await refusal(storage.persist(ready({ snapshot: leader.meta, hardState: hardState(2, 20) })));
    expect(error.code).toBe('ErrCorrupt');
    expect(error.message).toContain(snapshotFileName(leader.meta));
    expect(error.message).toMatch(/offset \d+/);
    await storage.close();
    await expectOldState(dir);
  });
});

describe('the log-size snapshot trigger', () => {
  it('fires once snapshotEntries entries are durably applied since the latest snapshot', async () => {
    const storage = await openStorage(await tempDir(), { snapshotEntries: 5 });
    await storage.persist(ready({ entries: entries(1, 12, 1), hardState: hardState(1, 12) }));
    await applyKeys(storage, 1, 4, 1);
    expect(storage.snapshotDue()).toBe(false);
    storage.backend.put(bytes('five'), bytes('5'));
    storage.backend.setApplied(index(5), term(1));
    expect(storage.snapshotDue()).toBe(false); // applied, not yet written
    await storage.flushApplied();
    expect(storage.snapshotDue()).toBe(true);
    const taking = storage.takeSnapshot();
    expect(storage.snapshotDue()).toBe(false); // one at a time
    const taken = await taking;
    if (taken === null) throw new Error('no snapshot');
    expect(storage.snapshotDue()).toBe(true); // taken, not recorded: still due
    await storage.recordSnapshot(metaOf(taken), taken);
    expect(storage.snapshotDue()).toBe(false);
    await applyKeys(storage, 6, 9, 1);
    expect(storage.snapshotDue()).toBe(false);
    await applyKeys(storage, 10, 10, 1);
    expect(storage.snapshotDue()).toBe(true);
    await storage.close();
  });

  it('fires once snapshotLogBytes of entries are written since the latest snapshot, whatever their count, also after a restart', async () => {
    const dir = await tempDir();
    const limits = { snapshotEntries: 1_000_000, snapshotLogBytes: 1000 };
    let storage = await openStorage(dir, limits);
    const big = (at: number): Entry => entry(at, 1, `${at}`.padEnd(300, '.'));
    await storage.persist(ready({ entries: [big(1), big(2), big(3)], hardState: hardState(1, 1) }));
    expect(storage.snapshotDue()).toBe(false); // nothing applied: nothing to snapshot, whatever the size
    await applyKeys(storage, 1, 1, 1);
    expect(storage.snapshotDue()).toBe(false); // 900 bytes of entry data
    await storage.persist(ready({ entries: [big(4)], hardState: hardState(1, 4) }));
    expect(storage.snapshotDue()).toBe(true);
    const taken = await storage.takeSnapshot();
    if (taken === null) throw new Error('no snapshot');
    await storage.recordSnapshot(metaOf(taken), taken);
    expect(storage.snapshotDue()).toBe(false);
    await storage.close();
    storage = await openStorage(dir, limits);
    await applyKeys(storage, 2, 2, 1);
    expect(storage.snapshotDue()).toBe(false); // the 900 bytes after the snapshot, counted at start-up
    await storage.persist(ready({ entries: [big(5)] }));
    expect(storage.snapshotDue()).toBe(true);
    await storage.close();
  });
});

describe('the Ready loop on storage', () => {
  /** Each normal entry "key=value" puts that key. */
  const stateMachine: StateMachine = {
    apply(e: Entry, backend) {
      if (e.type !== 'normal' || e.data.length === 0) return null;
      const [key, value] = text(e.data).split('=') as [string, string];
      backend.put(bytes(key), bytes(value));
      return key;
    },
  };

  interface Member {
    storage: NodeStorage;
    node: RaftNode;
    loop: RaftLoop;
    applied: Entry[];
    fatal: Error[];
  }

  async function start(dir: string, limits: Parameters<typeof openStorage>[1], loopOptions: { snapshotCatchUpEntries?: number; stagedApplyFlushMs?: number; maxStagedApplyBytes?: number } = {}, onApplied?: (member: Member) => void): Promise<Member> {
    const storage = await openStorage(dir, limits);
    const node = new RaftNode({ id: nodeId('n1'), initialConfig: CONFIG, ...(storage.restored === undefined ? {} : { restored: storage.restored }), random: new Rng(7).asFunction() });
    const member: Member = { storage, node, loop: undefined as unknown as RaftLoop, applied: [], fatal: [] };
    member.loop = new RaftLoop({
      node,
      storage,
      stateMachine,
      send: () => {},
      onApplied: (e) => {
        member.applied.push(e);
        onApplied?.(member);
      },
      onFatal: (error) => member.fatal.push(error),
      ...loopOptions,
    });
    node.campaign();
    member.loop.kick();
    await waitFor(() => node.status().role === 'leader' || member.fatal.length > 0, 'leadership');
    expect(member.fatal).toEqual([]);
    return member;
  }

  /** Proposes key-from..key-to in waves, waiting for each wave to apply. */
  async function write(member: Member, from: number, to: number, wave: number): Promise<void> {
    for (let at = from; at <= to; at += wave) {
      const last = Math.min(to, at + wave - 1);
      for (let k = at; k <= last; k++) expect(member.node.propose(bytes(`key-${String(k).padStart(5, '0')}=value-${k}`))).toBeNull();
      member.loop.kick();
      await waitFor(() => member.applied.some((e) => text(e.data).startsWith(`key-${String(last).padStart(5, '0')}=`)) || member.fatal.length > 0, `key ${last} applied`);
      expect(member.fatal).toEqual([]);
    }
  }

  const modelPairs = (to: number): [string, string][] => {
    const out: [string, string][] = [];
    for (let k = 1; k <= to; k++) out.push([`key-${String(k).padStart(5, '0')}`, `value-${k}`]);
    return out;
  };

  it('takes snapshots and compacts by itself under a write load, keeping the log bounded; a restart restores the state', async () => {
    const dir = await tempDir();
    const limits = { snapshotEntries: 60, snapshotsRetained: 2 };
    const catchUp = 15;
    const wave = 10;
    let longest = 0;
    const observe = (member: Member) => {
      longest = Math.max(longest, member.storage.lastStoredIndex - member.storage.firstIndex + 1);
    };
    let member = await start(dir, limits, { snapshotCatchUpEntries: catchUp }, observe);
    await write(member, 1, 1200, wave);
    const stats = member.storage.stats();
    expect(stats.snapshotsTaken).toBeGreaterThanOrEqual(10);
    expect(stats.compactions).toBeGreaterThanOrEqual(10);
    // The log on disk never held much more than the trigger plus the catch-up entries, plus what was written
    // while a snapshot was being taken (a few waves); without compaction it would hold all 1200.
    expect(longest).toBeGreaterThan(limits.snapshotEntries);
    expect(longest).toBeLessThanOrEqual(limits.snapshotEntries + catchUp + 8 * wave);
    expect(member.storage.firstIndex).toBeGreaterThan(1000);
    expect(await backendPairs(member.storage)).toEqual(modelPairs(1200));
    // Stopping records a snapshot still being taken (until then its file is one more than retained), and the
    // entries it compacts are deleted in the background.
    await member.loop.stop();
    await member.storage.settled();
    expect((await storedEntries(member.storage)).length).toBe(member.storage.lastStoredIndex - member.storage.firstIndex + 1);
    expect((await snapFiles(member.storage)).filter((name) => name.endsWith('.snap')).length).toBeLessThanOrEqual(limits.snapshotsRetained);
    const lastIndex = member.node.status().lastIndex;
    await member.storage.close();

    member = await start(dir, limits, { snapshotCatchUpEntries: catchUp }, observe);
    const restored = member.storage.restored;
    expect(restored?.snapshot?.index).toBeGreaterThan(1000);
    expect(restored?.applied).toBeGreaterThanOrEqual(restored?.snapshot?.index ?? Infinity);
    expect(member.node.status().lastIndex).toBeGreaterThan(lastIndex); // the new term's first entry follows the old log
    expect(await backendPairs(member.storage)).toEqual(modelPairs(1200));
    await write(member, 1201, 1300, wave);
    expect(await backendPairs(member.storage)).toEqual(modelPairs(1300));
    await member.loop.stop();
    await member.storage.close();
  });

  it('records a snapshot that finishes while the loop stops, and compacts behind it', async () => {
    const dir = await tempDir();
    let stopping: Promise<void> | null = null;
    let member: Member | null = null;
    // The stop is asked for while the snapshot file is being written: between its write and its publication.
    const storage = await openStorage(dir, { snapshotEntries: 50 }, (point) => {
      if (point === 'snapshot:file-written' && stopping === null && member !== null) stopping = member.loop.stop();
    });
    const node = new RaftNode({ id: nodeId('n1'), initialConfig: CONFIG, random: new Rng(3).asFunction() });
    const created: Member = { storage, node, loop: undefined as unknown as RaftLoop, applied: [], fatal: [] };
    created.loop = new RaftLoop({ node, storage, stateMachine, send: () => {}, onApplied: (e) => created.applied.push(e), onFatal: (error) => created.fatal.push(error), snapshotCatchUpEntries: 10 });
    member = created;
    node.campaign();
    created.loop.kick();
    await waitFor(() => node.status().role === 'leader', 'leadership');
    for (let k = 1; k <= 80 && stopping === null; k++) {
      node.propose(bytes(`key-${k}=value-${k}`));
      created.loop.kick();
      await waitFor(() => created.applied.length >= k || stopping !== null, `entry ${k} applied`);
    }
    expect(stopping).not.toBeNull();
    await stopping;
    expect(created.fatal).toEqual([]);
    const recorded = storage.snapshot?.meta.index ?? 0;
    expect(recorded).toBeGreaterThanOrEqual(50);
    expect(node.status().snapshot?.index).toBe(recorded);
    expect(storage.firstIndex).toBe(recorded - 10 + 1);
    await storage.close();
    const reopened = await openStorage(dir);
    expect(reopened.restored?.snapshot?.index).toBe(recorded);
    await reopened.close();
  });

  it('writes staged changes on its own when idle (stagedApplyFlushMs), or at once beyond maxStagedApplyBytes', async () => {
    const dir = await tempDir();
    let batchesAtApply = -1;
    let durableAtApply = -1;
    const idle = await start(dir, {}, { stagedApplyFlushMs: 5 }, (member) => {
      batchesAtApply = member.storage.stats().batches;
      durableAtApply = member.storage.backend.durableRecord.appliedIndex;
    });
    await write(idle, 1, 1, 1);
    const at = (idle.applied[idle.applied.length - 1] as Entry).index;
    expect(durableAtApply).toBeLessThan(at); // staged when applied
    // No Ready follows (a lone leader without ticks has nothing to send): one more batch, the timer's, writes it.
    await waitFor(() => idle.storage.backend.durableRecord.appliedIndex === at, 'the idle flush', 10_000);
    expect(idle.storage.stats().batches).toBe(batchesAtApply + 1);
    expect(idle.storage.backend.hasStaged()).toBe(false);
    expect(idle.node.hasReady()).toBe(false);
    await idle.loop.stop();
    await idle.storage.close();
    const reopened = await openStorage(dir);
    expect(reopened.restored?.applied).toBe(at);
    expect(await backendPairs(reopened)).toEqual(modelPairs(1));
    await reopened.close();

    const full = await start(await tempDir(), {}, { stagedApplyFlushMs: 3_600_000, maxStagedApplyBytes: 1 });
    await write(full, 1, 1, 1);
    const fullAt = (full.applied[full.applied.length - 1] as Entry).index;
    await waitFor(() => full.storage.backend.durableRecord.appliedIndex === fullAt, 'the flush beyond maxStagedApplyBytes', 10_000);
    await full.loop.stop();
    await full.storage.close();
  });
});
