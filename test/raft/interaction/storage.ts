// The durable half of an interaction-env node: what survives `crash`. It is written only by the Ready loop
// (step 2 of the contract on `Ready`) and checks that what the core hands it is well-formed.

import { index, NO_NODE, term, type Entry, type HardState, type IncomingSnapshotChunk, type RestoredState, type SnapshotMeta } from '../../../src/raft/types.js';

export class ContractViolation extends Error {
  constructor(message: string) {
    super(`Ready contract violated: ${message}`);
    this.name = 'ContractViolation';
  }
}

export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The state machine of the transcripts: the list of proposed values, in log order. */
export function encodeValues(values: readonly string[]): Uint8Array {
  return encoder.encode(JSON.stringify(values));
}

export function decodeValues(data: Uint8Array): string[] {
  return JSON.parse(decoder.decode(data)) as string[];
}

export class MemoryStorage {
  hardState: HardState = { term: term(0), vote: NO_NODE, commit: index(0) };
  snapshot: StoredSnapshot | null = null;
  /** The chunks of an incoming snapshot received so far. */
  partial: StoredSnapshot | null = null;
  /** Contiguous; may still include entries the snapshot covers until `compact`. */
  entries: Entry[] = [];

  snapshotIndex(): number {
    return this.snapshot?.meta.index ?? 0;
  }

  lastIndex(): number {
    const last = this.entries[this.entries.length - 1];
    return last ? last.index : this.snapshotIndex();
  }

  entryAt(at: number): Entry | undefined {
    const first = this.entries[0];
    return first ? this.entries[at - first.index] : undefined;
  }

  /** Entries replace any stored entries at the same or higher indexes. */
  writeEntries(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index <= this.snapshotIndex()) throw new ContractViolation(`entry ${first.index} at or below the stored snapshot ${this.snapshotIndex()}`);
    if (first.index > this.lastIndex() + 1) throw new ContractViolation(`entries from ${first.index} leave a gap after ${this.lastIndex()}`);
    const kept = this.entries.filter((entry) => entry.index < first.index);
    const next = [...kept, ...entries];
    next.forEach((entry, position) => {
      const previous = next[position - 1];
      if (previous && entry.index !== previous.index + 1) throw new ContractViolation(`stored entries not contiguous at ${entry.index}`);
      if (previous && entry.term < previous.term) throw new ContractViolation(`term goes down at ${entry.index}`);
    });
    this.entries = next;
  }

  writeChunk(chunk: IncomingSnapshotChunk): void {
    const { snapshot: meta, offset, data } = chunk;
    if (offset === 0) {
      this.partial = { meta, data: data.slice() };
      return;
    }
    const partial = this.partial;
    if (partial === null || partial.meta.index !== meta.index || partial.meta.term !== meta.term) {
      throw new ContractViolation(`chunk at offset ${offset} of snapshot ${meta.term}/${meta.index} without its beginning`);
    }
    if (partial.data.length !== offset) throw new ContractViolation(`chunk at offset ${offset} but ${partial.data.length} bytes are stored`);
    const joined = new Uint8Array(offset + data.length);
    joined.set(partial.data);
    joined.set(data, offset);
    this.partial = { meta, data: joined };
  }

  /** Installs the completely received snapshot: it replaces the state machine and the whole log. */
  install(meta: SnapshotMeta): StoredSnapshot {
    const partial = this.partial;
    if (partial === null || partial.meta.index !== meta.index || partial.meta.term !== meta.term) {
      throw new ContractViolation(`install of snapshot ${meta.term}/${meta.index} that was not received`);
    }
    if (partial.data.length !== meta.sizeBytes) throw new ContractViolation(`install of snapshot with ${partial.data.length} of ${meta.sizeBytes} bytes`);
    this.snapshot = partial;
    this.partial = null;
    this.entries = [];
    return partial;
  }

  compact(at: number): void {
    if (at > this.snapshotIndex()) throw new ContractViolation(`compaction to ${at} beyond the stored snapshot ${this.snapshotIndex()}`);
    this.entries = this.entries.filter((entry) => entry.index > at);
  }

  restoredState(): RestoredState {
    const meta = this.snapshot?.meta ?? null;
    const base = meta?.index ?? 0;
    return {
      hardState: this.hardState,
      snapshot: meta,
      entries: this.entries.filter((entry) => entry.index > base),
      // The state machine is volatile: it restarts from the snapshot and re-applies the committed entries.
      applied: index(base),
    };
  }
}
