// The Raft log on storage against a simple in-memory model: arbitrary sequences of appends (which overwrite a
// suffix when they start at or below the last index), hard states, applies (staged, then written with the next
// batch or on their own), snapshots, compactions and restarts. After every step the durable state (hard state,
// log bounds, every stored entry, the snapshot record, the backend) equals the model's, and after every restart
// so does what storage recovers for the core.

import fc from 'fast-check';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { index, nodeId, term, type Entry, type HardState, type SnapshotMeta } from '../../src/raft/types.js';
import type { NodeStorage } from '../../src/storage/index.js';
import { backendPairs, bytes, describeEntries, hardState, openStorage, ready, snapshotFilePairs, storedEntries, text, withTempDir } from './helpers.js';

const LIMITS = { snapshotsRetained: 2 };
const KEYS = ['a', 'b', 'c', 'd', 'e'];

/** How often the property reached each interesting path (checked at the end, so that the generators keep reaching them). */
const reached = { truncations: 0, resentBelowStart: 0, snapshotsRecorded: 0, compactions: 0, restartsLosingStaged: 0, carriedByPersist: 0 };

interface Model {
  /** Stored entries after the log start. */
  entries: Map<number, Entry>;
  logStart: { index: number; term: number };
  last: number;
  hardState: HardState;
  /** What a restart finds: a commit index alone waits for the next batch. */
  durableHardState: HardState;
  /** The term new entries are written in. */
  term: number;
  snapshot: { meta: SnapshotMeta; pairs: Map<string, string> } | null;
  durable: Map<string, string>;
  durableApplied: { index: number; term: number };
  staged: Map<string, string | null>;
  applied: { index: number; term: number };
  /** Distinguishes the data of rewritten entries. */
  writes: number;
}

type Op =
  | { kind: 'append'; back: number; count: number; resend: number; newTerm: boolean; commitBy: number }
  | { kind: 'commit'; by: number }
  | { kind: 'apply'; count: number; changes: { key: number; value: number | null }[]; flush: boolean }
  | { kind: 'empty' }
  | { kind: 'snapshot'; record: boolean }
  | { kind: 'compact'; at: number }
  | { kind: 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.nat(4), count: fc.integer({ min: 1, max: 4 }), resend: fc.nat(8), newTerm: fc.boolean(), commitBy: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), by: fc.integer({ min: 1, max: 4 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('apply' as const),
      count: fc.integer({ min: 1, max: 6 }),
      changes: fc.array(fc.record({ key: fc.nat(KEYS.length - 1), value: fc.option(fc.nat(99), { nil: null, freq: 4 }) }), { maxLength: 4 }),
      flush: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), record: fc.constantFrom(true, true, true, false) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('compact' as const), at: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

function newModel(): Model {
  return {
    entries: new Map(),
    logStart: { index: 0, term: 0 },
    last: 0,
    hardState: hardState(0, 0, ''),
    durableHardState: hardState(0, 0, ''),
    term: 0,
    snapshot: null,
    durable: new Map(),
    durableApplied: { index: 0, term: 0 },
    staged: new Map(),
    applied: { index: 0, term: 0 },
    writes: 0,
  };
}

/** A persist that syncs writes whatever apply staged since the last write, in the same batch. */
function flushStaged(model: Model, byPersist = true): void {
  // Every batch carries the latest hard state.
  model.durableHardState = model.hardState;
  if (byPersist && model.applied.index !== model.durableApplied.index) reached.carriedByPersist++;
  for (const [key, value] of model.staged) {
    if (value === null) model.durable.delete(key);
    else model.durable.set(key, value);
  }
  model.staged.clear();
  model.durableApplied = { ...model.applied };
}

function visibleBackend(model: Model): [string, string][] {
  const merged = new Map(model.durable);
  for (const [key, value] of model.staged) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  return [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function modelEntries(model: Model, after: number): Entry[] {
  const out: Entry[] = [];
  for (let at = Math.max(after, model.logStart.index) + 1; at <= model.last; at++) out.push(model.entries.get(at) as Entry);
  return out;
}

async function checkDurable(storage: NodeStorage, model: Model): Promise<void> {
  expect(storage.durableHardState).toEqual(model.durableHardState);
  expect(storage.firstIndex).toBe(model.logStart.index + 1);
  expect(storage.lastStoredIndex).toBe(model.last);
  expect(storage.snapshot?.meta ?? null).toEqual(model.snapshot?.meta ?? null);
  // Compacted entries are deleted in the background; what is on disk once that is done.
  await storage.settled();
  expect(describeEntries(await storedEntries(storage))).toEqual(describeEntries(modelEntries(model, 0)));
  expect(storage.backend.appliedIndex).toBe(model.applied.index);
  expect(storage.backend.durableRecord.appliedIndex).toBe(model.durableApplied.index);
  expect(storage.backend.durableRecord.appliedTerm).toBe(model.durableApplied.term);
  const visible = visibleBackend(model);
  expect(await backendPairs(storage)).toEqual(visible);
  const values = new Map(visible);
  for (const key of KEYS) expect(storage.backend.get(bytes(key)), `get(${key})`).toEqual(values.has(key) ? bytes(values.get(key) as string) : undefined);
  const files = (await readdir(storage.snapshots.dir)).filter((name) => name.endsWith('.snap'));
  if (storage.snapshot !== null) expect(files).toContain(storage.snapshot.file);
  // One more than retained only for a snapshot taken and not (yet) recorded.
  expect(files.length).toBeLessThanOrEqual(LIMITS.snapshotsRetained + 1);
}

async function checkRestored(storage: NodeStorage, model: Model): Promise<void> {
  const empty = model.hardState.term === 0 && model.last === model.logStart.index && model.snapshot === null;
  if (empty) {
    expect(storage.restored).toBeUndefined();
    return;
  }
  const restored = storage.restored;
  expect(restored).toBeDefined();
  if (restored === undefined) return;
  const snapshotIndex = model.snapshot?.meta.index ?? 0;
  expect(restored.hardState).toEqual(model.durableHardState);
  expect(restored.snapshot).toEqual(model.snapshot?.meta ?? null);
  expect(describeEntries(restored.entries)).toEqual(describeEntries(modelEntries(model, snapshotIndex)));
  expect(restored.applied).toBe(Math.max(model.durableApplied.index, snapshotIndex));
  const files = (await readdir(storage.snapshots.dir)).filter((name) => name.endsWith('.snap'));
  expect(files.length).toBeLessThanOrEqual(LIMITS.snapshotsRetained);
  // The recorded snapshot's file still holds the backend as it was when that snapshot was taken.
  if (model.snapshot !== null && storage.snapshot !== null) expect(await snapshotFilePairs(storage.snapshots.path(storage.snapshot.file))).toEqual([...model.snapshot.pairs]);
}

async function step(storage: NodeStorage, model: Model, op: Op, dir: string): Promise<NodeStorage> {
  switch (op.kind) {
    case 'append': {
      // Never below the commit index (Raft does not overwrite committed entries), at most one past the end.
      const from = Math.max(model.last + 1 - op.back, model.hardState.commit + 1);
      const overwrites = from <= model.last;
      if (overwrites) reached.truncations++;
      if (from - op.resend <= model.logStart.index && model.logStart.index > 0) reached.resentBelowStart++;
      if (op.newTerm || overwrites || model.term === 0) model.term++;
      const sent: Entry[] = [];
      // Committed entries sent again (some of them already compacted away) come first: storage skips or rewrites them identically.
      for (let at = Math.max(1, from - op.resend); at < from; at++) {
        sent.push(model.entries.get(at) ?? { index: index(at), term: term(model.logStart.term), type: 'normal', data: bytes('compacted') });
      }
      for (let at = from; at < from + op.count; at++) {
        const e: Entry = { index: index(at), term: term(model.term), type: 'normal', data: bytes(`w${model.writes++}@${at}`) };
        sent.push(e);
      }
      for (let at = from; at <= model.last; at++) model.entries.delete(at);
      for (const e of sent) if (e.index >= from) model.entries.set(e.index, e);
      model.last = from + op.count - 1;
      const commit = Math.min(model.last, model.hardState.commit + op.commitBy);
      const next = hardState(model.term, commit);
      const changed = next.term !== model.hardState.term || next.commit !== model.hardState.commit || next.vote !== model.hardState.vote;
      await storage.persist(ready({ entries: sent, hardState: changed ? next : null }));
      model.hardState = next;
      flushStaged(model);
      return storage;
    }
    case 'commit': {
      const commit = Math.min(model.last, model.hardState.commit + op.by);
      if (commit === model.hardState.commit) return storage;
      model.hardState = hardState(model.hardState.term, commit, model.hardState.vote);
      // No fsync for a commit index: staged changes wait for a batch that syncs.
      await storage.persist(ready({ hardState: model.hardState, mustSync: false }));
      return storage;
    }
    case 'apply': {
      const to = Math.min(model.hardState.commit, model.applied.index + op.count);
      if (to <= model.applied.index) return storage;
      const backend = storage.backend;
      let c = 0;
      for (let at = model.applied.index + 1; at <= to; at++) {
        // The changes are spread over the entries applied; the last one takes what is left.
        const share = at === to ? op.changes.slice(c) : op.changes.slice(c, c + 1);
        c += share.length;
        for (const change of share) {
          const key = KEYS[change.key] as string;
          if (change.value === null) {
            backend.delete(bytes(key));
            model.staged.set(key, null);
          } else {
            const value = `v${change.value}@${at}`;
            backend.put(bytes(key), bytes(value));
            model.staged.set(key, value);
          }
        }
        const atTerm = (model.entries.get(at) as Entry).term;
        backend.setApplied(index(at), atTerm);
        model.applied = { index: at, term: atTerm };
      }
      if (op.flush) {
        await storage.flushApplied();
        flushStaged(model, false);
      }
      return storage;
    }
    case 'empty': {
      await storage.persist(ready({ mustSync: false }));
      return storage;
    }
    case 'snapshot': {
      const taken = await storage.takeSnapshot();
      const newer = model.durableApplied.index > 0 && model.durableApplied.index > (model.snapshot?.meta.index ?? 0);
      if (!newer) {
        expect(taken).toBeNull();
        return storage;
      }
      expect(taken).not.toBeNull();
      if (taken === null) return storage;
      expect({ index: taken.index, term: taken.term }).toEqual(model.durableApplied);
      // The file holds the backend as written (staged changes are not in it).
      const pairs = [...model.durable].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      expect(await snapshotFilePairs(storage.snapshots.path(taken.file))).toEqual(pairs);
      if (!op.record) return storage;
      const meta: SnapshotMeta = { index: taken.index, term: taken.term, config: taken.config, sizeBytes: taken.sizeBytes };
      await storage.recordSnapshot(meta, taken);
      model.snapshot = { meta, pairs: new Map(pairs) };
      reached.snapshotsRecorded++;
      return storage;
    }
    case 'compact': {
      const snapshotIndex = model.snapshot?.meta.index ?? 0;
      if (snapshotIndex <= model.logStart.index) return storage;
      const at = model.logStart.index + 1 + (op.at % (snapshotIndex - model.logStart.index));
      await storage.compactLog(index(at));
      const atTerm = (model.entries.get(at) as Entry).term;
      for (let i = model.logStart.index + 1; i <= at; i++) model.entries.delete(i);
      model.logStart = { index: at, term: atTerm };
      reached.compactions++;
      return storage;
    }
    case 'restart': {
      await storage.close();
      const reopened = await openStorage(dir, LIMITS);
      // Staged changes that no batch carried are lost with the process (they are recomputed from the log).
      if (model.applied.index !== model.durableApplied.index) reached.restartsLosingStaged++;
      model.staged.clear();
      model.applied = { ...model.durableApplied };
      await checkRestored(reopened, model);
      model.hardState = model.durableHardState;
      return reopened;
    }
  }
}

describe('the log on storage agrees with an in-memory model', () => {
  it('under arbitrary appends, truncations, applies, snapshots, compactions and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 40 }), async (ops) =>
        withTempDir(async (dir) => {
          const model = newModel();
          let storage = await openStorage(dir, LIMITS);
          try {
            expect(storage.restored).toBeUndefined();
            for (const op of ops) {
              storage = await step(storage, model, op, dir);
              await checkDurable(storage, model);
            }
            storage = await step(storage, model, { kind: 'restart' }, dir);
            await checkDurable(storage, model);
          } finally {
            await storage.close();
          }
        }, 'conclave-logprop-'),
      ),
      { numRuns: 70 },
    );
    for (const [path, count] of Object.entries(reached)) expect(count, path).toBeGreaterThan(0);
  });

  it('a fixed sequence through snapshots, a truncation behind a resend, compaction and restarts', async () => {
    await withTempDir(async (dir) => {
      const model = newModel();
      let storage = await openStorage(dir, LIMITS);
      const ops: Op[] = [
        { kind: 'append', back: 0, count: 4, resend: 0, newTerm: true, commitBy: 3 },
        { kind: 'apply', count: 3, changes: [{ key: 0, value: 1 }, { key: 1, value: 2 }, { key: 0, value: null }], flush: true },
        { kind: 'snapshot', record: true },
        { kind: 'append', back: 1, count: 3, resend: 2, newTerm: false, commitBy: 1 },
        { kind: 'compact', at: 1 },
        { kind: 'restart' },
        { kind: 'apply', count: 2, changes: [{ key: 2, value: 3 }], flush: false },
        { kind: 'append', back: 0, count: 1, resend: 0, newTerm: false, commitBy: 0 },
        { kind: 'snapshot', record: true },
        { kind: 'compact', at: 9 },
      ];
      try {
        for (const op of ops) {
          storage = await step(storage, model, op, dir);
          await checkDurable(storage, model);
        }
        expect(model.snapshot?.meta.index).toBe(4);
        expect(storage.firstIndex).toBeGreaterThan(3);
        expect(model.term).toBe(2);
        expect(text((model.entries.get(5) as Entry).data)).toMatch(/^w\d+@5$/);
        storage = await step(storage, model, { kind: 'restart' }, dir);
        expect(storage.restored?.snapshot?.index).toBe(4);
        expect(storage.restored?.hardState.vote).toBe(nodeId('n1'));
      } finally {
        await storage.close();
      }
    });
  });
});
