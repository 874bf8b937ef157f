// Range requests as etcd serves them: spans, limit and more, count, keys_only / count_only, sorting and the
// revision filters, at the current revision and at past ones (served from history, a page at a time).

import { describe, expect, it } from 'vitest';
import { Harness, type RangeOptions } from './helpers.js';
import { MemoryBackend } from './memory-backend.js';

/** Keys a..e written so that every sort target gives a different order (revisions in the comments). */
async function sample(pageRows?: number): Promise<Harness> {
  const kv = new Harness(new MemoryBackend(), pageRows === undefined ? {} : { limits: { scanPageRows: pageRows } });
  await kv.put('c', 'v3'); // 2
  await kv.put('a', 'v5'); // 3
  await kv.put('e', 'v1'); // 4
  await kv.put('b', 'v4'); // 5
  await kv.put('d', 'v2'); // 6
  await kv.put('a', 'v5'); // 7: a at version 2
  await kv.put('c', 'v3'); // 8
  await kv.put('c', 'v3'); // 9: c at version 3
  return kv;
}

describe('spans', () => {
  it('reads one key, [key, rangeEnd), every key from key on, and all keys', async () => {
    const kv = await sample();
    expect(await kv.pairs('b')).toEqual(['b=v4']);
    expect(await kv.pairs('bb')).toEqual([]);
    expect(await kv.pairs('b', { rangeEnd: 'd' })).toEqual(['b=v4', 'c=v3']);
    expect(await kv.pairs('c', { rangeEnd: '\0' })).toEqual(['c=v3', 'd=v2', 'e=v1']);
    expect(await kv.pairs('\0', { rangeEnd: '\0' })).toEqual(['a=v5', 'b=v4', 'c=v3', 'd=v2', 'e=v1']);
  });

  it('reads a prefix with the prefix end as range end, and a key with zero bytes after it is not in a shorter prefix', async () => {
    const kv = new Harness();
    for (const key of ['app/', 'app/x', 'app/y', 'app0', 'apq', 'ap']) await kv.put(key, '1');
    expect(await kv.pairs('app/', { rangeEnd: 'app0' })).toEqual(['app/=1', 'app/x=1', 'app/y=1']);
    await kv.put('ap\0', '2');
    expect(await kv.pairs('ap', { rangeEnd: 'ap\0' })).toEqual(['ap=1']);
    expect(await kv.pairs('ap\0', { rangeEnd: 'ap\x01' })).toEqual(['ap\0=2']);
  });
});

describe('limit, more and count', () => {
  it('returns the first keys, says there are more, and counts them all', async () => {
    const kv = await sample();
    expect(await kv.get('a', { rangeEnd: 'z', limit: 2 })).toMatchObject({ count: 5, more: true });
    expect(await kv.pairs('a', { rangeEnd: 'z', limit: 2 })).toEqual(['a=v5', 'b=v4']);
    expect(await kv.get('a', { rangeEnd: 'z', limit: 5 })).toMatchObject({ count: 5, more: false });
    expect(await kv.get('a', { rangeEnd: 'z', limit: 6 })).toMatchObject({ count: 5, more: false });
  });

  it('count_only counts without returning keys; keys_only returns keys with empty values', async () => {
    const kv = await sample();
    expect(await kv.get('a', { rangeEnd: 'z', countOnly: true, limit: 1 })).toEqual({ revision: 9, count: 5, more: false, kvs: [] });
    const keysOnly = await kv.get('b', { rangeEnd: 'd', keysOnly: true });
    expect(keysOnly.kvs.map((kv) => [kv.key, kv.value, kv.version])).toEqual([
      ['b', '', 1],
      ['c', '', 3],
    ]);
  });
});

describe('sorting', () => {
  const order = async (options: RangeOptions, pageRows?: number) => (await (await sample(pageRows)).get('a', { rangeEnd: 'z', ...options })).kvs.map((kv) => kv.key).join('');

  it('by each target, ascending and descending', async () => {
    expect(await order({ sortOrder: 'ascend', sortTarget: 'key' })).toBe('abcde');
    expect(await order({ sortOrder: 'descend', sortTarget: 'key' })).toBe('edcba');
    expect(await order({ sortOrder: 'ascend', sortTarget: 'create' })).toBe('caebd');
    expect(await order({ sortOrder: 'descend', sortTarget: 'create' })).toBe('dbeac');
    expect(await order({ sortOrder: 'ascend', sortTarget: 'mod' })).toBe('ebdac');
    expect(await order({ sortOrder: 'descend', sortTarget: 'mod' })).toBe('cadbe');
    expect(await order({ sortOrder: 'ascend', sortTarget: 'value' })).toBe('edcba');
    expect(await order({ sortOrder: 'descend', sortTarget: 'value' })).toBe('abcde');
  });

  it('keeps key order among equal targets, ascending or descending', async () => {
    // Versions: a 2, b 1, c 3, d 1, e 1.
    expect(await order({ sortOrder: 'ascend', sortTarget: 'version' })).toBe('bdeac');
    expect(await order({ sortOrder: 'descend', sortTarget: 'version' })).toBe('cabde');
  });

  it('with no order: key order for the key target, ascending for any other target (as etcd)', async () => {
    expect(await order({ sortOrder: 'none', sortTarget: 'key' })).toBe('abcde');
    expect(await order({ sortTarget: 'create' })).toBe('caebd');
    expect(await order({ sortOrder: 'none', sortTarget: 'value' })).toBe('edcba');
  });

  it('sorts before the limit: descending by key with a limit gives the last keys', async () => {
    expect(await order({ sortOrder: 'descend', limit: 2 })).toBe('ed');
    expect(await order({ sortOrder: 'descend', sortTarget: 'create', limit: 3 })).toBe('dbe');
    expect(await order({ sortOrder: 'ascend', sortTarget: 'mod', limit: 1 })).toBe('e');
    const kv = await sample();
    expect(await kv.get('a', { rangeEnd: 'z', sortOrder: 'descend', limit: 2 })).toMatchObject({ count: 5, more: true });
  });

  it('gives the same answers at a past revision, walking history a row at a time', async () => {
    const kv = await sample(1);
    for (const revision of [6, 8]) {
      for (const options of [{ sortOrder: 'descend', limit: 2 }, { sortTarget: 'version' }, { sortOrder: 'descend', sortTarget: 'mod' }] as RangeOptions[]) {
        const now = await sample();
        expect(await kv.get('a', { rangeEnd: 'z', revision, ...options })).toEqual(await now.get('a', { rangeEnd: 'z', revision, ...options }));
      }
    }
    expect(await kv.pairs('a', { rangeEnd: 'z', revision: 6, sortOrder: 'descend', sortTarget: 'create' })).toEqual(['d=v2', 'b=v4', 'e=v1', 'a=v5', 'c=v3']);
  });
});

describe('revision filters', () => {
  it('drop keys outside the bounds before the limit, and leave the count alone', async () => {
    const kv = await sample();
    // mod revisions: a 7, b 5, c 9, d 6, e 4; create: a 3, b 5, c 2, d 6, e 4.
    expect(await kv.get('a', { rangeEnd: 'z', minModRevision: 6 })).toMatchObject({ count: 5, more: false });
    expect(await kv.pairs('a', { rangeEnd: 'z', minModRevision: 6 })).toEqual(['a=v5', 'c=v3', 'd=v2']);
    expect(await kv.pairs('a', { rangeEnd: 'z', maxModRevision: 5 })).toEqual(['b=v4', 'e=v1']);
    expect(await kv.pairs('a', { rangeEnd: 'z', minCreateRevision: 4, maxCreateRevision: 5 })).toEqual(['b=v4', 'e=v1']);
    expect(await kv.get('a', { rangeEnd: 'z', minModRevision: 6, limit: 2 })).toMatchObject({ count: 5, more: true, kvs: [{ key: 'a' }, { key: 'c' }] });
    expect(await kv.get('a', { rangeEnd: 'z', minModRevision: 6, limit: 3 })).toMatchObject({ count: 5, more: false });
  });

  it('apply to the versions at a past revision', async () => {
    const kv = await sample(2);
    // At revision 7: a mod 7, b 5, c 2, d 6, e 4.
    expect(await kv.pairs('a', { rangeEnd: 'z', revision: 7, maxModRevision: 5 })).toEqual(['b=v4', 'c=v3', 'e=v1']);
  });
});

describe('revisions of a read', () => {
  it('serve the compact revision itself and refuse those below it with ErrCompacted', async () => {
    const kv = await sample();
    await kv.compact(5);
    await expect(kv.get('a', { revision: 4 })).rejects.toMatchObject({ code: 'ErrCompacted' });
    expect(await kv.pairs('a', { rangeEnd: 'z', revision: 5 })).toEqual(['a=v5', 'b=v4', 'c=v3', 'e=v1']);
    await expect(kv.get('a', { revision: 10 })).rejects.toMatchObject({ code: 'ErrFutureRev' });
  });

  it('refuses requests etcd refuses: an empty key, negative counts', async () => {
    const kv = await sample();
    await expect(kv.get('')).rejects.toMatchObject({ code: 'ErrEmptyKey' });
    await expect(kv.get('a', { limit: -1 })).rejects.toMatchObject({ code: 'ErrInvalidField' });
    await expect(kv.get('a', { revision: 1.5 })).rejects.toMatchObject({ code: 'ErrInvalidField' });
  });
});
