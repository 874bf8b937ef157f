// Compaction as etcd does it: refuses revisions at or below the last compaction and in the future, drops what is
// superseded at its revision, keeps reads at and after it exact, and leaves the revision alone.

import { describe, expect, it } from 'vitest';
import { expectOk, Harness, opDelete, opPut } from './helpers.js';
import { MemoryBackend } from './memory-backend.js';

const records = (backend: MemoryBackend, prefix: string) => backend.dump().filter(([key]) => key.startsWith(prefix)).length;

describe('compaction', () => {
  it('refuses a revision at or below the compact revision (ErrCompacted) or above the current one (ErrFutureRev)', async () => {
    const kv = new Harness();
    await kv.put('a', '1'); // 2
    await kv.put('a', '2'); // 3
    expect(await kv.compact(4)).toMatchObject({ ok: false, revision: 3, error: { code: 'ErrFutureRev' } });
    expect(await kv.compact(0)).toMatchObject({ ok: false, error: { code: 'ErrCompacted' } });
    expectOk(await kv.compact(2));
    expect(await kv.compact(2)).toMatchObject({ ok: false, error: { code: 'ErrCompacted' } });
    expect(await kv.compact(1)).toMatchObject({ ok: false, error: { code: 'ErrCompacted' } });
    expectOk(await kv.compact(3));
    expect(kv.store.compactRevision).toBe(3);
    expect(kv.store.revision).toBe(3);
  });

  it('keeps the latest version at or below its revision of each live key, and drops older ones and tombstones', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('a', '1'); // 2
    await kv.put('a', '2'); // 3
    await kv.put('b', '1'); // 4
    await kv.del('b'); // 5
    await kv.put('c', '1'); // 6
    await kv.put('a', '3'); // 7
    expect(records(backend, 'r')).toBe(6);
    expectOk(await kv.compact(6));
    // a@3 (latest of a at 6) and c@6 stay; a@2, b@4 and b's tombstone go; a@7 is after the compaction.
    expect(records(backend, 'r')).toBe(3);
    expect(records(backend, 'h')).toBe(3);
    expect(await kv.pairs('\0', { rangeEnd: '\0', revision: 6 })).toEqual(['a=2', 'c=1']);
    expect(await kv.pairs('\0', { rangeEnd: '\0', revision: 7 })).toEqual(['a=3', 'c=1']);
    expect((await kv.get('a', { revision: 6 })).kvs).toEqual([{ key: 'a', value: '2', createRevision: 2, modRevision: 3, version: 2, lease: 0 }]);
    await expect(kv.get('a', { revision: 5 })).rejects.toMatchObject({ code: 'ErrCompacted' });
    expectOk(await kv.compact(7));
    expect(records(backend, 'r')).toBe(2);
    expect(await kv.pairs('\0', { rangeEnd: '\0', revision: 7 })).toEqual(['a=3', 'c=1']);
  });

  it('drops a key deleted at or before its revision entirely, and a later generation keeps counting from 1', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('k', '1'); // 2
    await kv.put('k', '2'); // 3
    await kv.del('k'); // 4
    expectOk(await kv.compact(4));
    expect(backend.dump().filter(([key]) => key[0] !== 'v')).toEqual([]);
    await kv.put('k', '3'); // 5
    expect((await kv.get('k')).kvs).toMatchObject([{ createRevision: 5, version: 1 }]);
  });

  it('finds a version kept by an earlier compaction through the prev pointer of the next write', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('k', '1'); // 2
    await kv.put('other', 'x'); // 3
    expectOk(await kv.compact(3)); // keeps k@2
    await kv.put('k', '2'); // 4
    await kv.del('other'); // 5
    expectOk(await kv.compact(5)); // k@2 superseded by k@4; other@3 and its tombstone go
    expect(records(backend, 'r')).toBe(1);
    expect(await kv.pairs('\0', { rangeEnd: '\0', revision: 5 })).toEqual(['k=2']);
  });

  it('handles writes of one txn to many keys, and walks events a page at a time', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend, { limits: { scanPageRows: 2 } });
    await kv.txn({ compare: [], success: ['a', 'b', 'c', 'd', 'e'].map((key) => opPut(key, '1')), failure: [] }); // 2
    await kv.txn({ compare: [], success: [opPut('a', '2'), opDelete('b', 'd'), opPut('e', '2')], failure: [] }); // 3
    await kv.put('f', '1'); // 4
    expectOk(await kv.compact(3));
    expect(await kv.pairs('\0', { rangeEnd: '\0', revision: 3 })).toEqual(['a=2', 'd=1', 'e=2']);
    // a@3, d@2, e@3 from before, f@4 after.
    expect(records(backend, 'r')).toBe(4);
    expect(records(backend, 'h')).toBe(4);
  });

  it('leaves every read at and after its revision unchanged', async () => {
    const kv = new Harness(new MemoryBackend(), { limits: { scanPageRows: 3 } });
    const keys = ['a', 'b', 'c', 'd'];
    for (let i = 0; i < 40; i++) {
      const key = keys[(i * 7) % 4] as string;
      if (i % 5 === 4) await kv.del(key);
      else await kv.put(key, `v${i}`);
    }
    const head = kv.store.revision;
    const before = new Map<number, string[]>();
    for (let revision = 20; revision <= head; revision++) before.set(revision, await kv.pairs('\0', { rangeEnd: '\0', revision }));
    expectOk(await kv.compact(20));
    for (let revision = 20; revision <= head; revision++) expect(await kv.pairs('\0', { rangeEnd: '\0', revision })).toEqual(before.get(revision));
  });
});
