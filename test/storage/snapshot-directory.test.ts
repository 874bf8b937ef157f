// The snapshot directory's own rules: what pruning may delete, and publishing.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotDirectory, snapshotFileName } from '../../src/storage/snapshots.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function directory(): Promise<SnapshotDirectory> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-snapdir-'));
  dirs.push(dir);
  const snapshots = new SnapshotDirectory(join(dir, 'snap'));
  await snapshots.init();
  return snapshots;
}

describe('SnapshotDirectory', () => {
  it('does not prune the temporary file of a snapshot being written, and publishes it afterwards', async () => {
    const snapshots = await directory();
    const at = { index: 500, term: 2 };
    const temporary = snapshots.temporaryPath(at);
    writeFileSync(temporary, 'snapshot bytes');
    // Another snapshot is recorded meanwhile, which prunes.
    await snapshots.prune([]);
    expect(existsSync(temporary)).toBe(true);
    expect(await snapshots.publish(temporary, at)).toBe(snapshotFileName(at));
    expect(await snapshots.list()).toEqual([snapshotFileName(at)]);
  });

  it('prunes temporary files nobody is writing (left by a crash), stale snapshots and stale incoming files', async () => {
    const snapshots = await directory();
    const leftover = snapshots.path(`${snapshotFileName({ index: 7, term: 1 })}.tmp`);
    const old = snapshots.path(snapshotFileName({ index: 8, term: 1 }));
    const kept = snapshots.path(snapshotFileName({ index: 9, term: 1 }));
    const incoming = snapshots.path(`${snapshotFileName({ index: 10, term: 1 })}.incoming`);
    for (const path of [leftover, old, kept, incoming]) writeFileSync(path, 'x');
    const removed = await snapshots.prune([snapshotFileName({ index: 9, term: 1 })]);
    expect(removed.sort()).toEqual([leftover, old, incoming].map((path) => path.slice(snapshots.dir.length + 1)).sort());
    expect(existsSync(kept)).toBe(true);
  });

  it('abandons a temporary file whose writing failed', async () => {
    const snapshots = await directory();
    const temporary = snapshots.temporaryPath({ index: 3, term: 1 });
    writeFileSync(temporary, 'half');
    await snapshots.abandon(temporary);
    expect(existsSync(temporary)).toBe(false);
    await snapshots.prune([]);
  });
});
