// `conclave repair` on real storage: healthy, a damaged tail (dry run changes nothing, --confirm repairs),
// damage inside the applied prefix (refused), a missing snapshot file (written anew).
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_DAMAGE_FOUND, EXIT_UNREPAIRABLE, runRepair } from '../../cmd/repair.js';
import { index, nodeId, term, type Entry } from '../../src/raft/types.js';
import { ready } from '../storage/helpers.js';
import { StorageError } from '../../src/storage/errors.js';
import { NodeStorage } from '../../src/storage/index.js';
import { entryKey } from '../../src/storage/keys.js';
import { database } from '../../src/storage/leveldb.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-repair-'));
  dirs.push(dir);
  return dir;
}

const entry = (at: number): Entry => ({ index: index(at), term: term(1), type: 'normal', data: Buffer.from(`value ${at}`) });


/** A member whose log holds entries 1..last, committed through `commit`, applied through `applied` (one key per entry). */
async function makeMember(dir: string, last: number, commit: number, applied: number, snapshot = false): Promise<void> {
  const storage = await NodeStorage.open({ dataDir: dir });
  await storage.persist(ready({ entries: Array.from({ length: last }, (_, i) => entry(i + 1)), hardState: { term: term(1), vote: nodeId('n1'), commit: index(commit) } }));
  storage.backend.setMembership({ voters: [nodeId('n1')], learners: [] });
  for (let at = 1; at <= applied; at++) storage.backend.put(Buffer.from(`k${at}`), Buffer.from(`v${at}`));
  storage.backend.setApplied(index(applied), term(1));
  await storage.flushApplied();
  if (snapshot) {
    const taken = await storage.takeSnapshot();
    if (taken === null) throw new Error('no snapshot taken');
    await storage.recordSnapshot({ index: taken.index, term: taken.term, config: taken.config, sizeBytes: taken.sizeBytes }, taken);
  }
  await storage.close();
}

async function damageEntry(dir: string, at: number): Promise<void> {
  const db = database(join(dir, 'member', 'db'));
  await db.open();
  const value = (await db.get(entryKey(at))) as Buffer;
  value[value.length - 1] = (value[value.length - 1] as number) ^ 0xff; // the checksum no longer matches
  await db.put(entryKey(at), value, { sync: true });
  await db.close();
}

async function repair(dir: string, ...flags: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runRepair(['--data-dir', dir, ...flags], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} });
  return { code, stdout, stderr };
}

async function openError(dir: string): Promise<string | null> {
  try {
    const storage = await NodeStorage.open({ dataDir: dir });
    await storage.close();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return (error as Error).message;
  }
}

describe('conclave repair', () => {
  it('says a healthy member needs nothing and exits 0', async () => {
    const dir = freshDir();
    await makeMember(dir, 10, 10, 10);
    const { code, stdout } = await repair(dir);
    expect(code).toBe(0);
    expect(stdout).toContain('nothing to repair');
  });

  it('finds a damaged entry after the applied index, changes nothing without --confirm, and deletes the tail with it', async () => {
    const dir = freshDir();
    await makeMember(dir, 10, 8, 5);
    await damageEntry(dir, 7);
    const before = await openError(dir);
    expect(before).toContain('entry 7: checksum mismatch');
    expect(before).toContain(join(dir, 'member', 'db'));

    const dry = await repair(dir);
    expect(dry.code).toBe(EXIT_DAMAGE_FOUND);
    expect(dry.stdout).toContain('entry 7 is damaged');
    expect(dry.stdout).toContain('would: delete the log from entry 7 on (4 stored entries)');
    expect(dry.stdout).toContain('would: lower the commit index to 6');
    expect(await openError(dir)).toBe(before);

    const fixed = await repair(dir, '--confirm');
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('Repaired');
    const storage = await NodeStorage.open({ dataDir: dir });
    expect(storage.lastStoredIndex).toBe(6);
    expect(storage.durableHardState.commit).toBe(6);
    expect(storage.restored?.entries.map((e) => Buffer.from(e.data).toString())).toEqual([1, 2, 3, 4, 5, 6].map((at) => `value ${at}`));
    expect(storage.backend.appliedIndex).toBe(5);
    expect(Buffer.from(storage.backend.get(Buffer.from('k5')) ?? []).toString()).toBe('v5');
    await storage.close();
  });

  it('refuses when the damaged entry is already applied, and changes nothing', async () => {
    const dir = freshDir();
    await makeMember(dir, 10, 8, 5);
    await damageEntry(dir, 3);
    const before = await openError(dir);
    const { code, stdout } = await repair(dir, '--confirm');
    expect(code).toBe(EXIT_UNREPAIRABLE);
    expect(stdout).toContain('entry 3 is damaged');
    expect(stdout).toContain('replace this member');
    expect(await openError(dir)).toBe(before);
  });

  it('writes a new snapshot from the backend when the recorded snapshot file is missing', async () => {
    const dir = freshDir();
    await makeMember(dir, 10, 10, 10, true);
    const snapDir = join(dir, 'member', 'snap');
    const { readdirSync } = await import('node:fs');
    for (const name of readdirSync(snapDir)) unlinkSync(join(snapDir, name));
    expect(await openError(dir)).toContain('the recorded snapshot file is missing');
    const { code, stdout } = await repair(dir, '--confirm');
    expect(code).toBe(0);
    expect(stdout).toContain('write a new snapshot of the backend at its applied index 10');
    const storage = await NodeStorage.open({ dataDir: dir });
    expect(storage.snapshot?.meta.index).toBe(10);
    expect(storage.snapshot?.meta.config.voters).toEqual(['n1']);
    const chunk = await storage.readSnapshotChunk(storage.snapshot!.meta, 0, 8);
    expect(Buffer.from(chunk).toString()).toBe('CNCLSNAP');
    await storage.close();
  });

  it("refuses damage inside LevelDB's own log without opening the database (which would drop the record for good)", async () => {
    const dir = freshDir();
    await makeMember(dir, 10, 8, 5);
    const dbDir = join(dir, 'member', 'db');
    const { readdirSync, readFileSync, writeFileSync } = await import('node:fs');
    const log = readdirSync(dbDir).find((name) => name.endsWith('.log'));
    if (log === undefined) throw new Error('no LevelDB log file');
    const bytes = readFileSync(join(dbDir, log));
    bytes[20] = (bytes[20] as number) ^ 0x01; // inside the first record
    writeFileSync(join(dbDir, log), bytes);
    const before = await openError(dir);
    expect(before).toContain(log);
    expect(before).toContain('log record checksum mismatch');
    for (const flags of [[], ['--confirm']]) {
      const { code, stdout } = await repair(dir, ...flags);
      expect(code).toBe(EXIT_UNREPAIRABLE);
      expect(stdout).toContain("LevelDB's own files are damaged");
      expect(stdout).toContain('replace this member');
      expect(await openError(dir)).toBe(before);
    }
  });

  it('checks every LevelDB table, also those a start skips because it checked them before', async () => {
    const dir = freshDir();
    await makeMember(dir, 10, 8, 5);
    const storage = await NodeStorage.open({ dataDir: dir }); // the log becomes a table, checked at close
    await storage.close();
    const dbDir = join(dir, 'member', 'db');
    const { readdirSync, readFileSync, writeFileSync } = await import('node:fs');
    const table = readdirSync(dbDir).find((name) => name.endsWith('.ldb'));
    if (table === undefined) throw new Error('no LevelDB table');
    const bytes = readFileSync(join(dbDir, table));
    bytes[5] = (bytes[5] as number) ^ 0x04;
    writeFileSync(join(dbDir, table), bytes);
    const { code, stdout } = await repair(dir);
    expect(code).toBe(EXIT_UNREPAIRABLE);
    expect(stdout).toContain(table);
    expect(stdout).toContain('table block checksum mismatch');
  });

  it('exits 1 without --data-dir', async () => {
    let stderr = '';
    const code = await runRepair([], { stdout: () => {}, stderr: (t) => (stderr += t), env: {} });
    expect(code).toBe(1);
    expect(stderr).toContain('--data-dir is required');
  });
});
