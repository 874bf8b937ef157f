// RaftLog: the AppendEntries consistency check and conflict resolution, fast backtracking, durability
// tracking, compaction and snapshot restore.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeConfChange } from '../../src/raft/confchange.js';
import { InvariantViolation } from '../../src/raft/errors.js';
import { RaftLog } from '../../src/raft/log.js';
import { index, nodeId, term, type ClusterConfig, type Entry, type SnapshotMeta } from '../../src/raft/types.js';

const config: ClusterConfig = { voters: [nodeId('n1'), nodeId('n2'), nodeId('n3')], learners: [] };
const e = (t: number, i: number, data = ''): Entry => ({ term: term(t), index: index(i), type: 'normal', data: new TextEncoder().encode(data) });
/** Entries from term list: terms[k] is the term of index k+1 (after `offset`). */
const entries = (terms: readonly number[], offset = 0): Entry[] => terms.map((t, k) => e(t, offset + k + 1));
const snapshotAt = (i: number, t: number, snapshotConfig = config): SnapshotMeta => ({ index: index(i), term: term(t), config: snapshotConfig, sizeBytes: 10 });

/** The first entry of a new cluster's log: its initial membership. */
const bootstrapEntry = (): Entry => ({ term: term(1), index: index(1), type: 'confChange', data: encodeConfChange({ change: { type: 'bootstrap' }, config }) });

function logWith(terms: readonly number[], options: { committed?: number; snapshot?: SnapshotMeta; bootstrap?: boolean } = {}): RaftLog {
  const offset = options.snapshot?.index ?? 0;
  const restored = entries(terms, offset);
  if (options.bootstrap) restored[0] = bootstrapEntry();
  return new RaftLog({
    snapshot: options.snapshot ?? null,
    entries: restored,
    committed: index(options.committed ?? offset),
    applied: index(offset),
  });
}

const termsOf = (log: RaftLog): number[] => {
  const out: number[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.termAt(index(i)) as number);
  return out;
};

describe('maybeAppend', () => {
  it('appends after a matching prefix and returns the last new index', () => {
    const log = logWith([1, 1]);
    expect(log.maybeAppend(index(2), term(1), [e(2, 3), e(2, 4)])).toBe(4);
    expect(termsOf(log)).toEqual([1, 1, 2, 2]);
  });

  it('rejects when the previous entry is missing or of another term', () => {
    const log = logWith([1, 1]);
    expect(log.maybeAppend(index(3), term(1), [e(1, 4)])).toBeNull();
    expect(log.maybeAppend(index(2), term(2), [e(2, 3)])).toBeNull();
    expect(termsOf(log)).toEqual([1, 1]);
  });

  it('truncates from the first conflicting entry', () => {
    const log = logWith([1, 1, 1, 1]);
    expect(log.maybeAppend(index(1), term(1), [e(1, 2), e(3, 3)])).toBe(3);
    expect(termsOf(log)).toEqual([1, 1, 3]);
  });

  it('keeps entries after a matching (duplicate or reordered) append: it returns the last index of that append', () => {
    const log = logWith([1, 1, 2, 2]);
    expect(log.maybeAppend(index(0), term(0), [e(1, 1), e(1, 2)])).toBe(2);
    expect(termsOf(log)).toEqual([1, 1, 2, 2]);
    expect(log.maybeAppend(index(2), term(1), [])).toBe(2); // a heartbeat-like empty append
    expect(termsOf(log)).toEqual([1, 1, 2, 2]);
  });

  it('throws instead of truncating a committed entry', () => {
    const log = logWith([1, 1, 1], { committed: 2 });
    expect(() => log.maybeAppend(index(1), term(1), [e(2, 2)])).toThrow(InvariantViolation);
    expect(() => log.maybeAppend(index(1), term(1), [e(2, 2)])).toThrow(/truncating committed entry 2/);
  });

  it('skips entries the snapshot covers (they are committed, hence identical)', () => {
    const log = logWith([3, 3], { snapshot: snapshotAt(5, 2) });
    expect(log.maybeAppend(index(3), term(2), [e(2, 4), e(2, 5), e(3, 6), e(3, 7), e(4, 8)])).toBe(8);
    expect(termsOf(log)).toEqual([3, 3, 4]);
    expect(log.maybeAppend(index(2), term(2), [e(2, 3)])).toBe(3);
    expect(log.lastIndex()).toBe(8);
  });

  it('throws on entries that are not contiguous', () => {
    const log = logWith([1]);
    expect(() => log.maybeAppend(index(1), term(1), [e(1, 2), e(1, 4)])).toThrow(InvariantViolation);
  });
});

describe('findConflictByTerm', () => {
  // index:  1 2 3 4 5 6 7
  // term:   1 1 2 2 2 4 4
  const log = logWith([1, 1, 2, 2, 2, 4, 4]);

  it('finds the last index at or before `at` with a term at or below the limit', () => {
    expect(log.findConflictByTerm(index(7), term(4))).toEqual({ index: 7, term: 4 });
    expect(log.findConflictByTerm(index(7), term(3))).toEqual({ index: 5, term: 2 });
    expect(log.findConflictByTerm(index(4), term(1))).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(index(9), term(2))).toEqual({ index: 5, term: 2 }); // beyond the log: from its end
  });

  it('falls back to the compaction point (0/0 for a full log)', () => {
    expect(log.findConflictByTerm(index(7), term(0))).toEqual({ index: 0, term: 0 });
    const compacted = logWith([3, 5], { snapshot: snapshotAt(4, 3) });
    expect(compacted.findConflictByTerm(index(6), term(2))).toEqual({ index: 4, term: 3 });
  });

  it('property: every index above the answer (up to `at`) has a term above the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 15 }), fc.nat({ max: 20 }), fc.nat({ max: 5 }), (steps, at, limit) => {
        let t = 0;
        const terms = steps.map((step) => (t += step % 2)).map((value) => value + 1); // non-decreasing terms
        const subject = logWith(terms);
        const found = subject.findConflictByTerm(index(at), term(limit));
        expect(found.index).toBeLessThanOrEqual(Math.min(at, subject.lastIndex()));
        if (found.index > 0) expect(found.term).toBeLessThanOrEqual(limit);
        for (let i = found.index + 1; i <= Math.min(at, subject.lastIndex()); i++) expect(subject.termAt(index(i))).toBeGreaterThan(limit);
      }),
    );
  });
});

describe('durability and applying', () => {
  it('hands entries out once, and applies only entries that are both committed and durable', () => {
    const log = logWith([]);
    log.appendOwn(entries([1, 1, 1]));
    expect(log.takeUnhandedEntries().map((entry) => entry.index)).toEqual([1, 2, 3]);
    expect(log.takeUnhandedEntries()).toEqual([]);
    log.commitTo(index(3));
    expect(log.hasEntriesToApply()).toBe(false); // committed, not durable
    log.stableTo(index(2), term(1));
    expect(log.takeEntriesToApply().map((entry) => entry.index)).toEqual([1, 2]);
    log.stableTo(index(3), term(1));
    expect(log.takeEntriesToApply().map((entry) => entry.index)).toEqual([3]);
    expect(log.hasEntriesToApply()).toBe(false);
  });

  it('a write that raced with a truncation makes nothing newer durable, and the new suffix is handed out again', () => {
    const log = logWith([1]);
    expect(log.maybeAppend(index(1), term(1), [e(2, 2), e(2, 3)])).toBe(3);
    expect(log.takeUnhandedEntries().map((entry) => `${entry.term}/${entry.index}`)).toEqual(['2/2', '2/3']);
    // While that write is in flight, a newer leader overwrites index 3.
    expect(log.maybeAppend(index(2), term(2), [e(3, 3)])).toBe(3);
    log.stableTo(index(3), term(2)); // the write of 2/2, 2/3 completes
    expect(log.stable).toBe(1);
    expect(log.takeUnhandedEntries().map((entry) => `${entry.term}/${entry.index}`)).toEqual(['3/3']);
    log.stableTo(index(3), term(3));
    expect(log.stable).toBe(3);
  });

  it('a truncation below the stable index lowers it', () => {
    const log = logWith([1, 1, 1]);
    expect(log.stable).toBe(3);
    log.maybeAppend(index(1), term(1), [e(2, 2)]);
    expect(log.stable).toBe(1);
  });

  it('commitTo never goes back and never beyond the log', () => {
    const log = logWith([1, 1]);
    expect(log.commitTo(index(2))).toBe(true);
    expect(log.commitTo(index(1))).toBe(false);
    expect(log.committed).toBe(2);
    expect(() => log.commitTo(index(3))).toThrow(InvariantViolation);
  });
});

describe('construction from restored state', () => {
  it('rejects gaps, and a commit index beyond the log', () => {
    const build = (restored: Entry[], committed: number) => () =>
      new RaftLog({ snapshot: null, entries: restored, committed: index(committed), applied: index(0) });
    expect(build([e(1, 1), e(1, 3)], 0)).toThrow(InvariantViolation);
    expect(build([e(1, 1)], 2)).toThrow(InvariantViolation);
    const log = build([e(1, 1), e(1, 2)], 1)();
    expect([log.stable, log.committed, log.applying, log.hasUnhandedEntries()]).toEqual([2, 1, 0, false]);
    expect(log.takeEntriesToApply().map((entry) => entry.index)).toEqual([1]);
  });

  it('starts after a snapshot', () => {
    const log = logWith([3], { snapshot: snapshotAt(5, 2) });
    expect([log.firstIndex(), log.lastIndex(), log.termAt(index(5)), log.termAt(index(4)), log.committed, log.applying]).toEqual([6, 6, 2, undefined, 5, 5]);
  });
});

describe('compaction and snapshots', () => {
  const applied = (terms: readonly number[]): RaftLog => {
    const log = logWith(terms, { committed: terms.length, bootstrap: true });
    log.takeEntriesToApply();
    return log;
  };

  it('compacts up to a snapshot, keeping the term at the compaction point', () => {
    const log = applied([1, 1, 2, 2]);
    const meta = log.recordSnapshot(index(3), 99);
    expect(meta).toEqual({ index: 3, term: 2, config, sizeBytes: 99 });
    log.compactTo(index(3));
    expect([log.firstIndex(), log.lastIndex(), log.termAt(index(3)), log.entry(index(3)), log.entry(index(4))?.term]).toEqual([4, 4, 2, undefined, 2]);
    expect(() => log.slice(index(3), index(4), 10, 100)).toThrow(InvariantViolation);
    log.compactTo(index(2)); // already compacted: nothing happens
    expect(log.firstIndex()).toBe(4);
  });

  it('refuses to compact what no snapshot covers, or what is not durable and applied', () => {
    const log = applied([1, 1, 2, 2]);
    expect(() => log.compactTo(index(2))).toThrow(/not covered by a snapshot/);
    log.recordSnapshot(index(2), 1);
    expect(() => log.compactTo(index(3))).toThrow(InvariantViolation);
    const unapplied = logWith([1, 1], { committed: 1 });
    expect(() => unapplied.recordSnapshot(index(2), 1)).toThrow(/beyond applied/);
  });

  it('keeps the configuration in force across compaction', () => {
    const next: ClusterConfig = { voters: [nodeId('n1'), nodeId('n2')], learners: [nodeId('n4')] };
    const log = logWith([1], { bootstrap: true });
    expect([log.config(), log.lastConfigIndex()]).toEqual([config, 1]);
    log.appendOwn([{ term: term(1), index: index(2), type: 'confChange', data: encodeConfChange({ change: { type: 'removeNode', node: nodeId('n3') }, config: next }) }, e(1, 3)]);
    expect(log.configAt(index(1))).toEqual(config);
    expect([log.config(), log.lastConfigIndex()]).toEqual([next, 2]);
    log.commitTo(index(3));
    log.stableTo(index(3), term(1));
    log.takeEntriesToApply();
    log.recordSnapshot(index(3), 1);
    log.compactTo(index(3));
    expect([log.config(), log.lastConfigIndex(), log.snapshot?.config]).toEqual([next, 3, next]);
  });

  it('without a snapshot or a configuration entry there is no membership', () => {
    expect(logWith([1, 1]).config()).toEqual({ voters: [], learners: [] });
  });

  it('a truncated configuration entry stops being in force', () => {
    const log = logWith([1], { bootstrap: true });
    const next: ClusterConfig = { voters: [nodeId('n1')], learners: [] };
    log.maybeAppend(index(1), term(1), [{ term: term(1), index: index(2), type: 'confChange', data: encodeConfChange({ change: { type: 'removeNode', node: nodeId('n2') }, config: next }) }]);
    expect(log.config()).toEqual(next);
    log.maybeAppend(index(1), term(1), [e(2, 2)]);
    expect([log.config(), log.lastConfigIndex()]).toEqual([config, 1]);
  });

  it('restore replaces the whole log with a received snapshot and blocks applying until it is handed out', () => {
    const log = logWith([1, 1, 1], { committed: 1 });
    const snapshotConfig: ClusterConfig = { voters: [nodeId('n1')], learners: [] };
    log.restore(snapshotAt(6, 3, snapshotConfig));
    expect([log.firstIndex(), log.lastIndex(), log.committed, log.applying, log.stable, log.config()]).toEqual([7, 6, 6, 6, 6, snapshotConfig]);
    expect(log.takeUnhandedEntries()).toEqual([]);
    expect(log.takePendingSnapshot()?.index).toBe(6);
    expect(log.takePendingSnapshot()).toBeNull();
    expect(() => log.restore(snapshotAt(6, 3))).toThrow(/at or below commit/);
  });
});

describe('slice', () => {
  it('bounds by count and by bytes, but always returns at least one entry', () => {
    const log = logWith([]);
    log.appendOwn([e(1, 1, 'aaaa'), e(1, 2, 'bbbb'), e(1, 3, 'cccc'), e(1, 4, 'dddd')]);
    expect(log.slice(index(1), index(4), 2, 1000).map((entry) => entry.index)).toEqual([1, 2]);
    expect(log.slice(index(1), index(4), 10, 9).map((entry) => entry.index)).toEqual([1, 2]);
    expect(log.slice(index(2), index(4), 10, 1).map((entry) => entry.index)).toEqual([2]);
    expect(log.slice(index(3), index(3), 10, 1000).map((entry) => entry.index)).toEqual([3]);
  });
});

describe('isUpToDate', () => {
  it('compares last terms first, then lengths (Raft paper, 5.4.1)', () => {
    const log = logWith([1, 2, 2]);
    expect(log.isUpToDate(index(1), term(3))).toBe(true);
    expect(log.isUpToDate(index(3), term(2))).toBe(true);
    expect(log.isUpToDate(index(2), term(2))).toBe(false);
    expect(log.isUpToDate(index(9), term(1))).toBe(false);
  });
});
