// The key-value store behaves as etcd 3.4 does: revisions, versions, puts, deletes and reads at past revisions.

import { describe, expect, it } from 'vitest';
import { ConclaveError } from '../../src/protocol/errors.js';
import { KvStore } from '../../src/state/index.js';
import { bytes, expectOk, Harness, opDelete, showKv, showResult } from './helpers.js';
import { MemoryBackend } from './memory-backend.js';

describe('revisions', () => {
  it('start at 1, and each put, effective delete or writing txn takes the next one', async () => {
    const kv = new Harness();
    expect(kv.store.revision).toBe(1);
    expect((await kv.get('foo')).revision).toBe(1);
    expect(expectOk(await kv.put('foo', 'bar')).revision).toBe(2);
    expect(expectOk(await kv.put('foo', 'baz')).revision).toBe(3);
    expect(expectOk(await kv.put('other', 'x')).revision).toBe(4);
    expect(expectOk(await kv.del('foo')).revision).toBe(5);
    expect(kv.store.revision).toBe(5);
  });

  it('do not move for reads, deletes of nothing, read-only txns, failed commands and compactions', async () => {
    const kv = new Harness();
    await kv.put('a', '1');
    expect(showResult(await kv.del('missing'))).toEqual({ revision: 2, deleted: 0, prevKvs: [] });
    expect(showResult(await kv.del('x', 'z'))).toEqual({ revision: 2, deleted: 0, prevKvs: [] });
    expect(expectOk(await kv.txn({ compare: [], success: [{ requestRange: { key: bytes('a') } }], failure: [] })).revision).toBe(2);
    expect(await kv.put('a', '', { ignoreValue: true, lease: 5, ignoreLease: true })).toMatchObject({ ok: false, revision: 2 });
    expect(await kv.put('a', '1', { lease: 5 })).toMatchObject({ ok: false, revision: 2 });
    expect(expectOk(await kv.compact(2)).revision).toBe(2);
    await kv.get('a');
    expect(kv.store.revision).toBe(2);
    expect(expectOk(await kv.put('b', '2')).revision).toBe(3);
  });

  it('are per store, survive load() from the backend, and so does the compact revision', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('a', '1');
    await kv.put('a', '2');
    await kv.put('b', '1');
    await kv.compact(3);
    const again = new KvStore();
    await again.load(backend);
    expect(again.revision).toBe(4);
    expect(again.compactRevision).toBe(3);
    const { response } = await again.range({ key: bytes('a'), revision: 3 }, backend);
    expect(response.kvs.map(showKv)).toEqual([{ key: 'a', value: '2', createRevision: 2, modRevision: 3, version: 2, lease: 0 }]);
  });
});

describe('versions of a key', () => {
  it('count puts since creation; a deletion ends the generation and a new put starts one at version 1', async () => {
    const kv = new Harness();
    await kv.put('k', 'v1');
    await kv.put('k', 'v2');
    expect((await kv.get('k')).kvs).toEqual([{ key: 'k', value: 'v2', createRevision: 2, modRevision: 3, version: 2, lease: 0 }]);
    await kv.del('k');
    expect((await kv.get('k')).kvs).toEqual([]);
    await kv.put('k', 'v3');
    expect((await kv.get('k')).kvs).toEqual([{ key: 'k', value: 'v3', createRevision: 5, modRevision: 5, version: 1, lease: 0 }]);
  });

  it('are served at every past revision from history', async () => {
    const kv = new Harness();
    await kv.put('k', 'v1'); // 2
    await kv.put('j', 'x'); // 3
    await kv.put('k', 'v2'); // 4
    await kv.del('k'); // 5
    await kv.put('k', 'v3'); // 6
    const at = async (revision: number) => (await kv.get('k', { revision })).kvs.map((kv) => `${kv.value}@${kv.createRevision}/${kv.modRevision}/v${kv.version}`);
    expect(await at(1)).toEqual([]);
    expect(await at(2)).toEqual(['v1@2/2/v1']);
    expect(await at(3)).toEqual(['v1@2/2/v1']);
    expect(await at(4)).toEqual(['v2@2/4/v2']);
    expect(await at(5)).toEqual([]);
    expect(await at(6)).toEqual(['v3@6/6/v1']);
    // The header revision is the store's, whatever revision was read.
    expect((await kv.get('k', { revision: 2 })).revision).toBe(6);
    expect(await kv.pairs('a', { rangeEnd: 'z', revision: 3 })).toEqual(['j=x', 'k=v1']);
    expect(await kv.pairs('a', { rangeEnd: 'z', revision: 5 })).toEqual(['j=x']);
  });

  it('refuses revisions in the future with ErrFutureRev', async () => {
    const kv = new Harness();
    await kv.put('k', 'v');
    await expect(kv.get('k', { revision: 3 })).rejects.toMatchObject({ code: 'ErrFutureRev' });
    await expect(kv.get('k', { revision: 2 })).resolves.toMatchObject({ count: 1 });
  });
});

describe('put', () => {
  it('returns the previous version with prevKv, and none for a new key', async () => {
    const kv = new Harness();
    expect(showResult(await kv.put('k', 'v1', { prevKv: true }))).toEqual({ revision: 2, prevKv: null });
    expect(showResult(await kv.put('k', 'v2', { prevKv: true }))).toEqual({
      revision: 3,
      prevKv: { key: 'k', value: 'v1', createRevision: 2, modRevision: 2, version: 1, lease: 0 },
    });
    expect(showResult(await kv.put('k', 'v3'))).toEqual({ revision: 4, prevKv: null });
  });

  it('keeps the value with ignoreValue and the lease with ignoreLease, which need the key to exist', async () => {
    const kv = new Harness();
    await kv.grant(7, 8);
    expect(await kv.put('k', '', { ignoreValue: true })).toMatchObject({ ok: false, error: { code: 'ErrKeyNotFound' } });
    expect(await kv.put('k', 'v', { ignoreLease: true })).toMatchObject({ ok: false, error: { code: 'ErrKeyNotFound' } });
    await kv.put('k', 'v1', { lease: 7 });
    await kv.put('k', '', { ignoreValue: true, lease: 8 });
    expect((await kv.get('k')).kvs).toEqual([{ key: 'k', value: 'v1', createRevision: 2, modRevision: 3, version: 2, lease: 8 }]);
    await kv.put('k', 'v2', { ignoreLease: true });
    expect((await kv.get('k')).kvs).toEqual([{ key: 'k', value: 'v2', createRevision: 2, modRevision: 4, version: 3, lease: 8 }]);
    await kv.put('k', 'v3');
    expect((await kv.get('k')).kvs[0]?.lease).toBe(0);
  });

  it('fails ErrLeaseNotFound for a lease that does not exist (by default, none does)', async () => {
    const kv = new Harness();
    const result = await kv.put('k', 'v', { lease: 1 });
    expect(result).toMatchObject({ ok: false, revision: 1, error: { code: 'ErrLeaseNotFound' } });
    expect(!result.ok && result.error).toBeInstanceOf(ConclaveError);
    expect((await kv.get('k')).count).toBe(0);
  });

  it('refuses bad requests before writing anything', async () => {
    const kv = new Harness();
    expect(await kv.put('', 'v')).toMatchObject({ ok: false, error: { code: 'ErrEmptyKey' } });
    expect(await kv.put('k', 'v', { ignoreValue: true })).toMatchObject({ ok: false, error: { code: 'ErrValueProvided' } });
    expect(await kv.put('k', 'v', { ignoreLease: true, lease: 3 })).toMatchObject({ ok: false, error: { code: 'ErrLeaseProvided' } });
    expect((kv.backend as MemoryBackend).size).toBe(0);
  });

  it('stores empty values and keys holding zero bytes', async () => {
    const kv = new Harness();
    await kv.put('a\0', '');
    await kv.put('a', '\0\0');
    await kv.put('a\0\0b', 'x');
    expect(await kv.pairs('a', { rangeEnd: 'b' })).toEqual(['a=\0\0', 'a\0=', 'a\0\0b=x']);
    expect(await kv.pairs('a\0', { revision: 2 })).toEqual(['a\0=']);
    expect(await kv.pairs('a', { rangeEnd: 'b', revision: 3 })).toEqual(['a=\0\0', 'a\0=']);
  });
});

describe('deleteRange', () => {
  it('deletes one key, a range, every key from a key on, or all keys but the reserved ones, and says how many', async () => {
    const kv = new Harness();
    for (const key of ['a', 'b', 'b1', 'b2', 'c', 'd']) await kv.put(key, key);
    expect(showResult(await kv.del('a'))).toMatchObject({ revision: 8, deleted: 1 });
    expect(showResult(await kv.del('b', 'c'))).toMatchObject({ revision: 9, deleted: 3 });
    expect(showResult(await kv.del('c', '\0'))).toMatchObject({ revision: 10, deleted: 2 });
    expect((await kv.get('\0', { rangeEnd: '\0' })).count).toBe(0);
    await kv.put('\0', '0');
    await kv.put('y', '2');
    // [\0, \0) spans the registry's reserved prefix: refused whole (reserved-keys.ts); the two ranges around it, in one txn, delete the rest.
    expect(showResult(await kv.del('\0', '\0'))).toEqual({ revision: 12, error: 'ErrReservedKey' });
    const rest = await kv.txn({ compare: [], success: [opDelete('\0', '\0registry/'), opDelete('\0registry0', '\0')], failure: [] });
    expect(showResult(rest)).toMatchObject({ revision: 13, succeeded: true, responses: [{ deleteRange: { deleted: 1 } }, { deleteRange: { deleted: 1 } }] });
  });

  it('returns the deleted versions with prevKv', async () => {
    const kv = new Harness();
    await kv.put('a', '1');
    await kv.put('b', '2');
    await kv.put('a', '3');
    expect(showResult(await kv.del('a', 'c', true))).toEqual({
      revision: 5,
      deleted: 2,
      prevKvs: [
        { key: 'a', value: '3', createRevision: 2, modRevision: 4, version: 2, lease: 0 },
        { key: 'b', value: '2', createRevision: 3, modRevision: 3, version: 1, lease: 0 },
      ],
    });
  });

  it('treats a range end at or below the key as an empty range', async () => {
    const kv = new Harness();
    await kv.put('b', '1');
    expect(showResult(await kv.del('b', 'a'))).toMatchObject({ revision: 2, deleted: 0 });
    expect(showResult(await kv.del('b', 'b'))).toMatchObject({ revision: 2, deleted: 0 });
    expect((await kv.get('b', { rangeEnd: 'a' })).count).toBe(0);
  });
});

describe('the layout in the backend', () => {
  it('uses only the prefixes k, r, h and v', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('a', '1');
    await kv.txn({ compare: [], success: [{ requestPut: { key: bytes('b'), value: bytes('2') } }, { requestDeleteRange: { key: bytes('a') } }], failure: [] });
    await kv.compact(2);
    expect(new Set(backend.dump().map(([key]) => key[0]))).toEqual(new Set(['k', 'r', 'h', 'v']));
  });

  it('writes the value of a put once, in its event record', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('key', 'a-rather-distinctive-value');
    expect(backend.dump().filter(([, value]) => value.includes('a-rather-distinctive-value')).map(([key]) => key[0])).toEqual(['r']);
  });

  it('costs a put one point read and four writes, and no range', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('k', 'v0');
    for (const extra of [{}, { prevKv: true }]) {
      backend.resetCounts();
      await kv.put('k', 'v1', extra);
      // The key's current record; with prevKv also the old value's event record.
      expect(backend.counts).toEqual({ gets: 'prevKv' in extra ? 2 : 1, ranges: 0, puts: 4, deletes: 0 });
    }
    backend.resetCounts();
    await kv.del('k');
    expect(backend.counts).toEqual({ gets: 1, ranges: 0, puts: 3, deletes: 1 });
  });

  it('reads a single key at the current revision without a backend range', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('k', 'v');
    backend.resetCounts();
    expect(await kv.pairs('k')).toEqual(['k=v']);
    expect(backend.counts).toMatchObject({ ranges: 0, gets: 2 });
  });

  it('fetches values only for the keys a limited range returns', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    for (let i = 0; i < 50; i++) await kv.put(`key${String(i).padStart(2, '0')}`, `value${i}`);
    backend.resetCounts();
    const response = await kv.get('key', { rangeEnd: 'kez', limit: 3 });
    expect(response).toMatchObject({ count: 50, more: true });
    expect(response.kvs.map((kv) => kv.key)).toEqual(['key00', 'key01', 'key02']);
    expect(backend.counts).toEqual({ gets: 3, ranges: 1, puts: 0, deletes: 0 });
    backend.resetCounts();
    expect(await kv.get('key', { rangeEnd: 'kez', countOnly: true })).toMatchObject({ count: 50, kvs: [] });
    expect(backend.counts).toEqual({ gets: 0, ranges: 1, puts: 0, deletes: 0 });
  });

  it('walks history for a past revision a page at a time, fetching values for the keys returned only', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend, { limits: { scanPageRows: 10 } });
    for (let i = 0; i < 50; i++) await kv.put(`key${String(i).padStart(2, '0')}`, `value${i}`);
    await kv.put('key00', 'later');
    backend.resetCounts();
    const response = await kv.get('key', { rangeEnd: 'kez', limit: 2, revision: 51 });
    expect(response).toMatchObject({ count: 50, more: true, kvs: [{ key: 'key00', value: 'value0' }, { key: 'key01' }] });
    // 51 history records: six pages of ten, the last one short.
    expect(backend.counts).toEqual({ gets: 2, ranges: 6, puts: 0, deletes: 0 });
  });
});

describe('hash', () => {
  async function history(pageRows: number, last = 'c') {
    const kv = new Harness(new MemoryBackend(), { limits: { scanPageRows: pageRows } });
    await kv.put('a', '1');
    await kv.put('b', '2');
    await kv.del('a');
    await kv.put('b', last);
    return kv;
  }

  it('is the same for the same commands, however the history is paged, and names its revisions', async () => {
    const one = await history(1);
    const many = await history(1000);
    expect(await one.store.hash(one.backend)).toEqual(await many.store.hash(many.backend));
    expect(await one.store.hash(one.backend)).toMatchObject({ revision: 5, compactRevision: 0 });
  });

  it('differs when any version differs, and changes with compaction', async () => {
    const a = await history(2);
    const b = await history(2, 'd');
    const before = await a.store.hash(a.backend);
    expect((await b.store.hash(b.backend)).hash).not.toBe(before.hash);
    await a.compact(4);
    const after = await a.store.hash(a.backend);
    expect(after).toMatchObject({ revision: 5, compactRevision: 4 });
    expect(after.hash).not.toBe(before.hash);
  });
});
