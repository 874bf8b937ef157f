// The in-memory Raft log of one node: the durable entries after the latest snapshot, plus the entries not yet
// handed out for persistence, the commit index and the apply cursor. The embedder's storage mirrors it.

import { invariant } from './errors.js';
import { index, term, type ClusterConfig, type Entry, type Index, type SnapshotMeta, type Term } from './types.js';
import { decodeConfChange } from './confchange.js';

interface ConfigAt {
  readonly index: Index;
  readonly config: ClusterConfig;
}

export class RaftLog {
  /** Index and term of the entry just before `entries[0]` (the compaction point; 0/0 for a new log). */
  private offsetIndex: Index;
  private offsetTerm: Term;
  private entries: Entry[];
  /** The latest snapshot this node holds (stored, or pending install). */
  snapshot: SnapshotMeta | null;
  /** A received snapshot that the embedder must install in the next Ready. */
  pendingSnapshot: SnapshotMeta | null = null;
  /** Configuration in force at offsetIndex (none before the bootstrap entry), and the configuration entries after it. */
  private baseConfig: ClusterConfig;
  private configEntries: ConfigAt[] = [];

  committed: Index;
  /** Entries up to here have been handed to the embedder to apply. */
  applying: Index;
  /** Entries up to here are known to be durable. */
  stable: Index;
  /** The first entry not yet handed out in a Ready for persistence. */
  private unhandedFrom: Index;

  constructor(options: {
    snapshot: SnapshotMeta | null;
    entries: readonly Entry[];
    committed: Index;
    applied: Index;
  }) {
    const { snapshot, entries } = options;
    this.snapshot = snapshot;
    this.offsetIndex = snapshot ? snapshot.index : index(0);
    this.offsetTerm = snapshot ? snapshot.term : term(0);
    this.baseConfig = snapshot ? snapshot.config : { voters: [], learners: [] };
    this.entries = [];
    for (const [position, entry] of entries.entries()) {
      invariant(entry.index === this.offsetIndex + position + 1, () => `restored entries not contiguous at ${entry.index}`);
      this.entries.push(entry);
      this.noteConfigEntry(entry);
    }
    this.stable = this.lastIndex();
    this.unhandedFrom = index(this.lastIndex() + 1);
    invariant(options.committed <= this.lastIndex(), () => `restored commit ${options.committed} beyond last index ${this.lastIndex()}`);
    this.committed = index(Math.max(options.committed, this.offsetIndex));
    invariant(options.applied <= this.committed || options.applied === this.offsetIndex, () => `restored applied ${options.applied} beyond commit ${this.committed}`);
    this.applying = index(Math.max(options.applied, this.offsetIndex));
  }

  firstIndex(): Index {
    return index(this.offsetIndex + 1);
  }

  lastIndex(): Index {
    return index(this.offsetIndex + this.entries.length);
  }

  lastTerm(): Term {
    return this.termAt(this.lastIndex()) as Term;
  }

  /** The term of the entry at `at`, or undefined when it was compacted away or does not exist yet. */
  termAt(at: Index): Term | undefined {
    if (at === this.offsetIndex) return this.offsetTerm;
    if (at < this.offsetIndex || at > this.lastIndex()) return undefined;
    return (this.entries[at - this.offsetIndex - 1] as Entry).term;
  }

  matchTerm(at: Index, expected: Term): boolean {
    return this.termAt(at) === expected;
  }

  isUpToDate(lastIndex: Index, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  entry(at: Index): Entry | undefined {
    if (at <= this.offsetIndex || at > this.lastIndex()) return undefined;
    return this.entries[at - this.offsetIndex - 1];
  }

  /** Entries in [from, to], at most maxCount and roughly maxBytes (always at least one). */
  slice(from: Index, to: Index, maxCount: number, maxBytes: number): Entry[] {
    invariant(from > this.offsetIndex, () => `slice from ${from} is compacted (first index ${this.firstIndex()})`);
    const result: Entry[] = [];
    let bytes = 0;
    for (let at = from; at <= to && result.length < maxCount; at++) {
      const entry = this.entries[at - this.offsetIndex - 1] as Entry;
      bytes += entry.data.length;
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  /** Appends entries that follow the last index (the leader's own proposals). */
  appendOwn(entries: readonly Entry[]): void {
    for (const entry of entries) {
      invariant(entry.index === this.lastIndex() + 1, () => `append of ${entry.index} after ${this.lastIndex()}`);
      this.entries.push(entry);
      this.noteConfigEntry(entry);
    }
  }

  /**
   * The consistency check and conflict resolution of AppendEntries. Returns the index of the last entry now
   * known to match the leader's log, or null when prevLogIndex/prevLogTerm does not match.
   */
  maybeAppend(prevLogIndex: Index, prevLogTerm: Term, entries: readonly Entry[]): Index | null {
    if (prevLogIndex < this.offsetIndex) {
      // Entries up to our snapshot are committed, hence identical to the leader's: skip them.
      const unseen = entries.filter((entry) => entry.index > this.offsetIndex);
      if (unseen.length === 0) return index(prevLogIndex + entries.length);
      invariant((unseen[0] as Entry).index === this.offsetIndex + 1, 'append entries not contiguous across our snapshot');
      entries = unseen;
      prevLogIndex = this.offsetIndex;
      prevLogTerm = this.offsetTerm;
    }
    if (!this.matchTerm(prevLogIndex, prevLogTerm)) return null;
    const lastNewIndex = index(prevLogIndex + entries.length);
    for (const [position, entry] of entries.entries()) {
      invariant(entry.index === prevLogIndex + position + 1, () => `append entries not contiguous at ${entry.index}`);
      const existing = this.termAt(entry.index);
      if (existing === entry.term) continue;
      if (existing !== undefined) this.truncateFrom(entry.index);
      this.appendOwn(entries.slice(position));
      break;
    }
    return lastNewIndex;
  }

  private truncateFrom(from: Index): void {
    invariant(from > this.committed, () => `truncating committed entry ${from} (commit ${this.committed})`);
    this.entries.length = from - this.offsetIndex - 1;
    while (this.configEntries.length > 0 && (this.configEntries[this.configEntries.length - 1] as ConfigAt).index >= from) {
      this.configEntries.pop();
    }
    this.unhandedFrom = index(Math.min(this.unhandedFrom, from));
    this.stable = index(Math.min(this.stable, from - 1));
  }

  /**
   * For fast backtracking: the largest index <= at whose term is <= termLimit, with its term.
   * Terms in a log never decrease, so every index above the answer is known to conflict.
   */
  findConflictByTerm(at: Index, termLimit: Term): { index: Index; term: Term } {
    // Below our compaction point the terms are unknown: the caller must fall back to a snapshot.
    if (at < this.offsetIndex) return { index: at, term: term(0) };
    let probe = Math.min(at, this.lastIndex());
    for (; probe > this.offsetIndex; probe--) {
      const found = this.termAt(index(probe)) as Term;
      if (found <= termLimit) return { index: index(probe), term: found };
    }
    return { index: this.offsetIndex, term: this.offsetTerm };
  }

  commitTo(to: Index): boolean {
    if (to <= this.committed) return false;
    invariant(to <= this.lastIndex(), () => `commit ${to} beyond last index ${this.lastIndex()}`);
    this.committed = to;
    return true;
  }

  hasUnhandedEntries(): boolean {
    return this.unhandedFrom <= this.lastIndex();
  }

  /** Entries to persist in the next Ready; marks them handed out. */
  takeUnhandedEntries(): Entry[] {
    if (!this.hasUnhandedEntries()) return [];
    const result = this.entries.slice(this.unhandedFrom - this.offsetIndex - 1);
    this.unhandedFrom = index(this.lastIndex() + 1);
    return result;
  }

  /** Called when the embedder reports the write of entries up to `at` (of term `atTerm`) durable. */
  stableTo(at: Index, atTerm: Term): void {
    // A write that raced with a truncation only made the prefix that still matches durable.
    if (this.termAt(at) === atTerm && at > this.stable) this.stable = at;
  }

  /** Committed entries are handed out for applying only once they are durable locally. */
  applicableTo(): Index {
    return index(Math.min(this.committed, this.stable));
  }

  hasEntriesToApply(): boolean {
    return this.applicableTo() > this.applying && this.pendingSnapshot === null;
  }

  takeEntriesToApply(): Entry[] {
    if (!this.hasEntriesToApply()) return [];
    const to = this.applicableTo();
    const result = this.entries.slice(this.applying - this.offsetIndex, to - this.offsetIndex);
    this.applying = to;
    return result;
  }

  /** The configuration in force after the entry at `at` (configurations take effect when appended). */
  configAt(at: Index): ClusterConfig {
    for (let position = this.configEntries.length - 1; position >= 0; position--) {
      const candidate = this.configEntries[position] as ConfigAt;
      if (candidate.index <= at) return candidate.config;
    }
    invariant(at >= this.offsetIndex, () => `config at compacted index ${at}`);
    return this.baseConfig;
  }

  /** The latest configuration in the log: the one in force now. */
  config(): ClusterConfig {
    return this.configAt(this.lastIndex());
  }

  /** The index of the latest configuration entry (0 when the configuration comes from bootstrap or a snapshot). */
  lastConfigIndex(): Index {
    const last = this.configEntries[this.configEntries.length - 1];
    return last ? last.index : this.offsetIndex;
  }

  private noteConfigEntry(entry: Entry): void {
    if (entry.type !== 'confChange') return;
    this.configEntries.push({ index: entry.index, config: decodeConfChange(entry.data).config });
  }

  /** The embedder stored a snapshot of the state machine as of `at`. */
  recordSnapshot(at: Index, sizeBytes: number): SnapshotMeta {
    invariant(at <= this.applying && at <= this.lastIndex(), () => `snapshot at ${at} beyond applied ${this.applying}`);
    const atTerm = this.termAt(at);
    invariant(atTerm !== undefined, () => `snapshot at compacted index ${at}`);
    const meta: SnapshotMeta = { index: at, term: atTerm, config: this.configAt(at), sizeBytes };
    this.snapshot = meta;
    return meta;
  }

  /** Discards entries up to `at`, which must be covered by the snapshot and durable. */
  compactTo(at: Index): void {
    if (at <= this.offsetIndex) return;
    invariant(this.snapshot !== null && at <= this.snapshot.index, () => `compaction to ${at} not covered by a snapshot`);
    invariant(at <= this.stable && at <= this.applying, () => `compaction to ${at} beyond stable ${this.stable}/applied ${this.applying}`);
    this.baseConfig = this.configAt(at);
    this.offsetTerm = this.termAt(at) as Term;
    this.entries = this.entries.slice(at - this.offsetIndex);
    this.offsetIndex = at;
    this.configEntries = this.configEntries.filter((candidate) => candidate.index > at);
  }

  /** Replaces the whole log with a received snapshot (the follower is behind it). */
  restore(snapshot: SnapshotMeta): void {
    invariant(snapshot.index > this.committed, () => `restoring snapshot ${snapshot.index} at or below commit ${this.committed}`);
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
    this.offsetIndex = snapshot.index;
    this.offsetTerm = snapshot.term;
    this.entries = [];
    this.baseConfig = snapshot.config;
    this.configEntries = [];
    this.committed = snapshot.index;
    this.applying = snapshot.index;
    this.stable = snapshot.index;
    this.unhandedFrom = index(snapshot.index + 1);
  }

  takePendingSnapshot(): SnapshotMeta | null {
    const pending = this.pendingSnapshot;
    this.pendingSnapshot = null;
    return pending;
  }
}
