// A node's durable storage. Survives crashes; written only when a Ready's batch completes, atomically.
// Besides storing, it keeps a hash of each durable log prefix so that Log Matching can be checked
// across nodes in O(entries written).

import { type Entry, type HardState, index, nodeId, type RestoredState, type SnapshotMeta, term } from '../../src/raft/types.js';
import { type Checker, EMPTY_PREFIX, UNKNOWN_PREFIX } from './checker.js';
import { mix } from './prng.js';

export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly bytes: Uint8Array;
}

interface PartialSnapshot {
  readonly meta: SnapshotMeta;
  readonly bytes: Uint8Array;
  readonly mask: Uint8Array;
  covered: number;
}

const metaKey = (m: SnapshotMeta): string => `${m.index}/${m.term}/${m.sizeBytes}`;

export class Disk {
  hardState: HardState | null = null;
  snapshot: StoredSnapshot | null = null;
  /** Index just before entries[0] (the compaction point). */
  base = 0;
  /** Hash of the log prefix through `base` (UNKNOWN_PREFIX when not known). */
  basePrefix = EMPTY_PREFIX;
  entries: Entry[] = [];
  prefix: number[] = [];
  private readonly partials = new Map<string, PartialSnapshot>();

  constructor(
    private readonly name: string,
    private readonly checker: Checker,
  ) {}

  get lastIndex(): number {
    return this.base + this.entries.length;
  }

  get snapshotIndex(): number {
    return this.snapshot === null ? 0 : this.snapshot.meta.index;
  }

  isEmpty(): boolean {
    return this.hardState === null && this.snapshot === null && this.entries.length === 0;
  }

  termAt(i: number): number | undefined {
    if (i > this.base && i <= this.lastIndex) return (this.entries[i - this.base - 1] as Entry).term;
    if (this.snapshot !== null && i === this.snapshot.meta.index) return this.snapshot.meta.term;
    if (i === 0) return 0;
    return undefined;
  }

  restored(): RestoredState | undefined {
    if (this.isEmpty()) return undefined;
    const snapIndex = this.snapshotIndex;
    return {
      hardState: this.hardState ?? { term: term(0), vote: nodeId(''), commit: index(0) },
      snapshot: this.snapshot === null ? null : this.snapshot.meta,
      entries: this.entries.filter((e) => e.index > snapIndex),
      applied: index(snapIndex),
    };
  }

  // ---- writes (the parts of one atomic batch) ---------------------------------------------------

  writeChunk(meta: SnapshotMeta, offset: number, data: Uint8Array): void {
    const c: Checker = this.checker;
    if (offset < 0 || offset + data.length > meta.sizeBytes) {
      c.fail('contract', `${this.name}: snapshot chunk [${offset}, ${offset + data.length}) outside a snapshot of ${meta.sizeBytes} bytes`);
    }
    const key = metaKey(meta);
    let p = this.partials.get(key);
    if (p === undefined) {
      if (this.partials.size >= 4) {
        const oldest = this.partials.keys().next().value as string;
        this.partials.delete(oldest);
      }
      p = { meta, bytes: new Uint8Array(meta.sizeBytes), mask: new Uint8Array(meta.sizeBytes), covered: 0 };
      this.partials.set(key, p);
    }
    p.bytes.set(data, offset);
    for (let i = offset; i < offset + data.length; i++) {
      if (p.mask[i] === 0) {
        p.mask[i] = 1;
        p.covered++;
      }
    }
  }

  /** Completes the partial snapshot for `meta`; returns its bytes (the caller verifies and installs them). */
  installSnapshot(meta: SnapshotMeta): Uint8Array {
    const c: Checker = this.checker;
    const p = this.partials.get(metaKey(meta));
    if (p === undefined || p.covered !== meta.sizeBytes) {
      c.fail(
        'contract',
        `${this.name}: Ready.snapshot (${meta.index}, term ${meta.term}) but only ${p?.covered ?? 0}/${meta.sizeBytes} of its bytes were written`,
      );
    }
    for (const [k, q] of this.partials) if (q.meta.index <= meta.index) this.partials.delete(k);
    // Installing replaces the whole log (as the core does): entries after the snapshot arrive anew.
    const i = meta.index;
    this.entries = [];
    this.prefix = [];
    this.basePrefix = c.prefixOf(i, meta.term);
    this.base = i;
    this.snapshot = { meta, bytes: p.bytes };
    return p.bytes;
  }

  /** Entries replace any stored entries at the same or higher indexes. */
  writeEntries(entries: readonly Entry[], durableCommit: number): void {
    const c: Checker = this.checker;
    let k = 0;
    // entries already covered by the snapshot are skipped
    while (k < entries.length && (entries[k] as Entry).index <= this.base) k++;
    if (k === entries.length) return;
    const first = (entries[k] as Entry).index;
    if (first > this.lastIndex + 1) {
      c.fail('contract', `${this.name}: Ready.entries start at ${first} but the durable log ends at ${this.lastIndex} (gap)`);
    }
    if (first <= this.base) {
      c.fail('contract', `${this.name}: Ready.entries start at ${first}, inside the compacted prefix (through ${this.base})`);
    }
    // Entries being replaced: a committed entry must never be replaced by a different one.
    const newLast = (entries[entries.length - 1] as Entry).index;
    for (let i = first; i <= this.lastIndex; i++) {
      const old = this.entries[i - this.base - 1] as Entry;
      const repl = i <= newLast ? entries[k + (i - first)] : undefined;
      if (repl !== undefined && repl.term === old.term) continue;
      if (i <= durableCommit) {
        c.fail('durability', `${this.name} replaces (${i}, term ${old.term}) at or below its durable commit index ${durableCommit}`);
      }
      if (i <= c.maxApplied && c.gTerm[i] === old.term) {
        c.fail('committed-entry-lost', `${this.name} replaces committed entry (${i}, term ${old.term}) with ${repl === undefined ? 'nothing' : `term ${repl.term}`}`);
      }
    }
    const cut = first - this.base - 1;
    this.entries.length = cut;
    this.prefix.length = cut;
    let prev = cut === 0 ? this.basePrefix : (this.prefix[cut - 1] as number);
    let expect = first;
    for (let j = k; j < entries.length; j++) {
      const e = entries[j] as Entry;
      if (e.index !== expect) c.fail('contract', `${this.name}: Ready.entries not contiguous (${e.index} after ${expect - 1})`);
      expect++;
      const h = c.checkEntry(e, `durable log of ${this.name}`);
      prev = prev === UNKNOWN_PREFIX ? UNKNOWN_PREFIX : mix(prev, h);
      c.checkPrefix(e.index, e.term, prev, `durable log of ${this.name}`);
      this.entries.push(e);
      this.prefix.push(prev);
    }
  }

  /** The embedder stored a snapshot of its own state machine. */
  saveLocalSnapshot(meta: SnapshotMeta, bytes: Uint8Array): void {
    this.snapshot = { meta, bytes };
  }

  /** Bytes [0, upto) of a partial snapshot at `snapshotIndex` are durable (or it is installed). */
  holdsSnapshotBytes(snapshotIndex: number, upto: number): boolean {
    if (this.snapshotIndex >= snapshotIndex) return true;
    for (const p of this.partials.values()) {
      if (p.meta.index !== snapshotIndex) continue;
      let i = 0;
      while (i < upto && p.mask[i] === 1) i++;
      if (i >= upto) return true;
    }
    return upto === 0;
  }

  /** Discards entries through `index` (<= snapshot index). */
  compact(index: number): void {
    if (index <= this.base) return;
    const upto = Math.min(index, this.lastIndex);
    const k = upto - this.base;
    if (k <= 0) return;
    this.basePrefix = this.prefix[k - 1] as number;
    this.entries = this.entries.slice(k);
    this.prefix = this.prefix.slice(k);
    this.base = upto;
  }
}
