// The backend: point and range reads merge the staged changes (and those of a batch being written) over LevelDB,
// in both directions, with bounds and limits, exactly like a plain map of the same state; a range is one view
// as of its call; keys are bounded; and one generation never sees another's keys.

import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { index, term } from '../../src/raft/types.js';
import { Backend, type BatchOp } from '../../src/storage/backend.js';
import { StorageError } from '../../src/storage/errors.js';
import { backendPrefix, META } from '../../src/storage/keys.js';
import { database, type Db } from '../../src/storage/leveldb.js';
import { FIRST_BACKEND, type BackendRecord } from '../../src/storage/wal.js';
import { backendPairs, bytes, entry, hardState, openStorage, ready, removeTempDirs, tempDir, text } from './helpers.js';

afterEach(removeTempDirs);

const record = (generation: number): BackendRecord => ({ ...FIRST_BACKEND, generation });

/** Writes whatever `backend` has staged, as NodeStorage does (takeStaged, the batch, flushed). */
async function flush(db: Db, backend: Backend): Promise<void> {
  const ops: BatchOp[] = [];
  backend.takeStaged(ops);
  await db.batch(ops, { sync: false });
  backend.flushed();
}

// Keys from a tiny alphabet (with 0x00 and 0xff, the edges of byte order), so that ranges, overwrites and
// deletions of stored keys collide often.
const keyArb = fc.array(fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0xff), { maxLength: 3 }).map((codes) => Buffer.from(codes));
const changeArb = fc.record({ key: keyArb, value: fc.option(fc.nat(999), { nil: null, freq: 3 }) });
const queryArb = fc.record({
  start: keyArb,
  end: fc.option(keyArb, { nil: undefined }),
  limit: fc.option(fc.nat(6), { nil: undefined }),
  reverse: fc.boolean(),
});

type Change = { key: Buffer; value: number | null };
type Query = { start: Buffer; end: Buffer | undefined; limit: number | undefined; reverse: boolean };

function applyTo(model: Map<string, Buffer>, changes: readonly Change[], tag: string): void {
  for (const { key, value } of changes) {
    const name = key.toString('latin1');
    if (value === null) model.delete(name);
    else model.set(name, Buffer.from(`${tag}${value}`));
  }
}

/** Applies `changes` as one entry (completed by setApplied, so that a batch may carry it). */
function stage(backend: Backend, changes: readonly Change[], tag: string): void {
  for (const { key, value } of changes) {
    if (value === null) backend.delete(key);
    else backend.put(key, Buffer.from(`${tag}${value}`));
  }
  backend.setApplied(index(backend.appliedIndex + 1), term(1));
}

function modelRange(model: Map<string, Buffer>, query: Query): [string, string][] {
  let rows = [...model]
    .map(([name, value]) => [Buffer.from(name, 'latin1'), value] as const)
    .filter(([key]) => Buffer.compare(key, query.start) >= 0 && (query.end === undefined || Buffer.compare(key, query.end) < 0))
    .sort(([a], [b]) => Buffer.compare(a, b));
  if (query.reverse) rows = rows.reverse();
  if (query.limit !== undefined) rows = rows.slice(0, query.limit);
  return rows.map(([key, value]) => [key.toString('latin1'), value.toString('latin1')]);
}

async function expectAgrees(backend: Backend, model: Map<string, Buffer>, queries: readonly Query[], universe: readonly Buffer[], phase: string): Promise<void> {
  for (const query of queries) {
    const options = { start: query.start, ...(query.end === undefined ? {} : { end: query.end }), ...(query.limit === undefined ? {} : { limit: query.limit }), reverse: query.reverse };
    const rows = await backend.range(options);
    expect(
      rows.map(({ key, value }) => [text(key), text(value)]),
      `${phase}: range ${JSON.stringify({ ...query, start: query.start.toString('hex'), end: query.end?.toString('hex') })}`,
    ).toEqual(modelRange(model, query));
  }
  for (const key of universe) {
    const expected = model.get(key.toString('latin1'));
    const got = backend.get(key);
    expect(got === undefined ? undefined : text(got), `${phase}: get ${key.toString('hex')}`).toEqual(expected?.toString('latin1'));
  }
}

describe('Backend reads agree with a model map', () => {
  let db: Db;
  let generation = 0;

  beforeAll(async () => {
    db = database(join(await tempDir('conclave-backend-'), 'db'));
    await db.open();
  });
  afterAll(async () => {
    await db.close();
    await removeTempDirs();
  });

  it('ranges (forward, reverse, bounded, limited) and gets over stored, being-written and staged changes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(changeArb, { maxLength: 12 }),
        fc.array(changeArb, { maxLength: 8 }),
        fc.array(changeArb, { maxLength: 8 }),
        fc.array(queryArb, { minLength: 1, maxLength: 8 }),
        async (stored, flushing, staged, queries) => {
          // Every run has its own generation in the same database: the keys earlier runs left under theirs
          // must never show through.
          generation++;
          const backend = new Backend(db, record(generation));
          const model = new Map<string, Buffer>();
          const universe = [...stored, ...flushing, ...staged].map(({ key }) => key).concat([Buffer.alloc(0), Buffer.from([0xff, 0xff, 0xff])]);
          stage(backend, stored, 's');
          applyTo(model, stored, 's');
          await flush(db, backend);
          await expectAgrees(backend, model, queries, universe, 'stored');

          // A batch taken for writing, then more changes staged on top of it while it is written.
          stage(backend, flushing, 'f');
          applyTo(model, flushing, 'f');
          const ops: BatchOp[] = [];
          backend.takeStaged(ops);
          stage(backend, staged, 'n');
          applyTo(model, staged, 'n');
          await expectAgrees(backend, model, queries, universe, 'batch taken, not written');
          await db.batch(ops, { sync: false });
          await expectAgrees(backend, model, queries, universe, 'batch written, not reported');
          backend.flushed();
          await expectAgrees(backend, model, queries, universe, 'batch flushed');
          await flush(db, backend);
          await expectAgrees(backend, model, queries, universe, 'all written');
          // And a fresh Backend on the same generation (a restart) reads the same from LevelDB alone.
          await expectAgrees(new Backend(db, record(generation)), model, queries, universe, 'reopened');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a range is one view as of its call: changes staged or written after it are not in it', async () => {
    generation++;
    const backend = new Backend(db, record(generation));
    for (const key of ['a', 'b', 'c', 'd']) backend.put(bytes(key), bytes(`old ${key}`));
    await flush(db, backend);
    backend.put(bytes('b'), bytes('staged b'));
    const pending = backend.range({ start: bytes('a') });
    // Same turn: a staged change, and a batch that reaches LevelDB before the range's iterator reads.
    backend.delete(bytes('c'));
    backend.put(bytes('e'), bytes('new e'));
    await flush(db, backend);
    const rows = (await pending).map(({ key, value }) => [text(key), text(value)]);
    expect(rows).toEqual([
      ['a', 'old a'],
      ['b', 'staged b'],
      ['c', 'old c'],
      ['d', 'old d'],
    ]);
    expect((await backend.range({ start: bytes('a') })).map(({ key }) => text(key))).toEqual(['a', 'b', 'd', 'e']);
  });

  it('a deletion staged over a stored key hides it from a limited range, which then reaches further', async () => {
    generation++;
    const backend = new Backend(db, record(generation));
    for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) backend.put(bytes(key), bytes(key));
    await flush(db, backend);
    backend.delete(bytes('k1'));
    backend.delete(bytes('k2'));
    backend.delete(bytes('k4'));
    expect((await backend.range({ start: bytes('k'), limit: 2 })).map(({ key }) => text(key))).toEqual(['k3', 'k5']);
    expect((await backend.range({ start: bytes('k'), limit: 2, reverse: true })).map(({ key }) => text(key))).toEqual(['k5', 'k3']);
    expect((await backend.range({ start: bytes('k'), end: bytes('k4'), reverse: true })).map(({ key }) => text(key))).toEqual(['k3']);
  });

  it('refuses a negative or fractional limit, and answers empty for limit 0 or an empty interval', async () => {
    generation++;
    const backend = new Backend(db, record(generation));
    backend.put(bytes('a'), bytes('1'));
    await expect(backend.range({ start: bytes(''), limit: -1 })).rejects.toThrow(RangeError);
    await expect(backend.range({ start: bytes(''), limit: 1.5 })).rejects.toThrow(RangeError);
    expect(await backend.range({ start: bytes(''), limit: 0 })).toEqual([]);
    expect(await backend.range({ start: bytes('b'), end: bytes('a') })).toEqual([]);
    expect(await backend.range({ start: bytes('a'), end: bytes('a') })).toEqual([]);
  });

  it('the applied index never goes back', () => {
    generation++;
    const backend = new Backend(db, record(generation));
    backend.setApplied(index(5), term(2));
    expect(() => backend.setApplied(index(4), term(2))).toThrow(RangeError);
    expect(backend.appliedIndex).toBe(5);
  });
});

describe('read-your-writes while a batch is written', () => {
  it('staged changes stay readable between takeStaged and the end of the write, and changes staged meanwhile are kept for the next batch', async () => {
    const dir = await tempDir();
    const seen: string[] = [];
    const pendingRanges: Promise<string[]>[] = [];
    let watching = false;
    let storage = await openStorage(dir, {}, (point) => {
      if (!watching || (point !== 'persist:before-batch' && point !== 'persist:after-batch')) return;
      // The batch holding these changes is being written: reads must still see them, not the older state.
      const value = storage.backend.get(bytes('k1'));
      seen.push(`${point} ${value === undefined ? 'absent' : text(value)} ${storage.backend.get(bytes('gone')) === undefined ? 'deleted' : 'present'}`);
      pendingRanges.push(storage.backend.range({ start: bytes('') }).then((rows) => rows.map(({ key, value: v }) => `${text(key)}=${text(v)}`)));
      if (point === 'persist:after-batch') {
        storage.backend.put(bytes('k2'), bytes('staged during the write'));
        storage.backend.setApplied(index(3), term(1));
      }
    });
    await storage.persist(ready({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: hardState(1, 2) }));
    storage.backend.put(bytes('gone'), bytes('x'));
    storage.backend.setApplied(index(1), term(1));
    await storage.flushApplied();

    storage.backend.put(bytes('k1'), bytes('v1'));
    storage.backend.delete(bytes('gone'));
    storage.backend.setApplied(index(2), term(1));
    watching = true;
    await storage.persist(ready({ hardState: hardState(2, 3), mustSync: true }));
    watching = false;
    expect(seen).toEqual(['persist:before-batch v1 deleted', 'persist:after-batch v1 deleted']);
    expect(await Promise.all(pendingRanges)).toEqual([['k1=v1'], ['k1=v1']]);
    // The change staged during the write was not part of it: still staged, still readable.
    expect(storage.backend.hasStaged()).toBe(true);
    expect(text(storage.backend.get(bytes('k2')) as Uint8Array)).toBe('staged during the write');
    expect(storage.backend.durableRecord.appliedIndex).toBe(2);
    await storage.flushApplied();
    expect(storage.backend.hasStaged()).toBe(false);
    await storage.close();

    storage = await openStorage(dir);
    expect(await backendPairs(storage)).toEqual([
      ['k1', 'v1'],
      ['k2', 'staged during the write'],
    ]);
    expect(storage.restored?.applied).toBe(3);
    await storage.close();
  });

  it('never writes part of an entry: changes made before setApplied() are readable but wait for it', async () => {
    const storage = await openStorage(await tempDir());
    await storage.persist(ready({ entries: [entry(1, 1), entry(2, 1)], hardState: hardState(1, 2) }));
    storage.backend.put(bytes('whole'), bytes('1'));
    storage.backend.setApplied(index(1), term(1));
    // The next entry is half applied when a batch is written (the loop persists while it applies).
    storage.backend.put(bytes('half'), bytes('2'));
    await storage.persist(ready({ entries: [entry(3, 1)] }));
    expect(storage.backend.durableRecord.appliedIndex).toBe(1);
    expect(text(storage.backend.get(bytes('half')) as Uint8Array)).toBe('2');
    expect((await storage.backend.range({ start: bytes('') })).map((kv) => text(kv.key))).toEqual(['half', 'whole']);
    expect(storage.backend.hasStaged()).toBe(false);
    storage.backend.setApplied(index(2), term(1));
    expect(storage.backend.hasStaged()).toBe(true);
    await storage.flushApplied();
    expect(storage.backend.durableRecord.appliedIndex).toBe(2);
    await storage.close();

  });
});

describe('key size', () => {
  it('refuses keys above maxBackendKeyBytes with ErrKeyTooLarge, for every operation, and stages nothing', async () => {
    const dir = await tempDir();
    const storage = await openStorage(dir, { maxBackendKeyBytes: 8 });
    const backend = storage.backend;
    const big = Buffer.alloc(9, 0x61);
    const atLimit = Buffer.alloc(8, 0x61);
    const refused = (operation: () => unknown): StorageError => {
      try {
        operation();
      } catch (error) {
        expect(error).toBeInstanceOf(StorageError);
        return error as StorageError;
      }
      throw new Error('not refused');
    };
    for (const error of [refused(() => backend.put(big, bytes('v'))), refused(() => backend.delete(big)), refused(() => backend.get(big))]) {
      expect(error.code).toBe('ErrKeyTooLarge');
      expect(error.message).toContain('maxBackendKeyBytes (8)');
    }
    await expect(backend.range({ start: big })).rejects.toMatchObject({ code: 'ErrKeyTooLarge' });
    await expect(backend.range({ start: bytes('a'), end: big })).rejects.toMatchObject({ code: 'ErrKeyTooLarge' });
    expect(backend.hasStaged()).toBe(false);
    backend.put(atLimit, bytes('fits'));
    expect(text(backend.get(atLimit) as Uint8Array)).toBe('fits');
    await storage.close();
  });
});

describe('generations', () => {
  it('a backend sees only its own generation, both ways', async () => {
    const db = database(join(await tempDir(), 'db'));
    await db.open();
    try {
      const one = new Backend(db, record(1));
      one.put(bytes('a'), bytes('one a'));
      one.put(bytes('b'), bytes('one b'));
      await flush(db, one);
      const two = new Backend(db, record(2));
      expect(two.get(bytes('a'))).toBeUndefined();
      expect(await two.range({ start: bytes('') })).toEqual([]);
      expect(await two.range({ start: bytes(''), reverse: true })).toEqual([]);
      two.put(bytes('a'), bytes('two a'));
      await flush(db, two);
      expect(text(one.get(bytes('a')) as Uint8Array)).toBe('one a');
      expect((await one.range({ start: bytes('') })).map(({ value }) => text(value))).toEqual(['one a', 'one b']);
      expect((await two.range({ start: bytes(''), reverse: true })).map(({ value }) => text(value))).toEqual(['two a']);
    } finally {
      await db.close();
    }
  });

  it('keys of other generations left in the database are invisible and deleted at start-up', async () => {
    const dir = await tempDir();
    let storage = await openStorage(dir);
    await storage.persist(ready({ entries: [entry(1, 1)], hardState: hardState(1, 1) }));
    storage.backend.put(bytes('mine'), bytes('current generation'));
    storage.backend.setApplied(index(1), term(1));
    await storage.flushApplied();
    await storage.close();

    // A half-loaded snapshot (the next generation) and a replaced one (an older generation), as a crash leaves them.
    const db = database(join(dir, 'member', 'db'));
    await db.open();
    await db.batch([
      { type: 'put', key: Buffer.concat([backendPrefix(2), bytes('mine')]), value: bytes('half-loaded') },
      { type: 'put', key: Buffer.concat([backendPrefix(2), bytes('other')]), value: bytes('half-loaded') },
      { type: 'put', key: Buffer.concat([backendPrefix(0), bytes('old')]), value: bytes('replaced') },
    ]);
    await db.close();

    storage = await openStorage(dir);
    expect(await backendPairs(storage)).toEqual([['mine', 'current generation']]);
    expect(storage.backend.get(bytes('other'))).toBeUndefined();
    await storage.close();
    const check = database(join(dir, 'member', 'db'));
    await check.open();
    try {
      const left: string[] = [];
      for await (const key of check.keys()) if (key[0] === 0x62) left.push(`${key.readUInt32BE(1)}:${key.subarray(5).toString()}`);
      expect(left).toEqual(['1:mine']);
      expect(await check.get(META.backend)).toBeDefined();
    } finally {
      await check.close();
    }
  });
});
