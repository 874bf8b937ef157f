// An in-memory StateWriter for the state machine's tests: a sorted array of entries in byte order. A range is a
// copy taken at the call, resolved later (after `rangeGate`, when a test holds it), as the real backend's view is.

import type { StateEntry, StateRangeOptions, StateWriter } from '../../src/state/backend.js';
import { compareBytes } from '../../src/state/kv-layout.js';

export { compareBytes };

export const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
export const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

export interface OpCounts {
  gets: number;
  ranges: number;
  puts: number;
  deletes: number;
}

export class MemoryBackend implements StateWriter {
  private entries: StateEntry[] = [];
  readonly counts: OpCounts = { gets: 0, ranges: 0, puts: 0, deletes: 0 };
  /** When set, every range resolves only after this promise does (for tests that interleave reads and applies). */
  rangeGate: (() => Promise<void>) | null = null;

  get size(): number {
    return this.entries.length;
  }

  /** Index of the first entry >= key. */
  private lowerBound(key: Uint8Array): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareBytes((this.entries[mid] as StateEntry).key, key) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.counts.gets++;
    const at = this.lowerBound(key);
    const entry = this.entries[at];
    return entry !== undefined && compareBytes(entry.key, key) === 0 ? entry.value : undefined;
  }

  range(options: StateRangeOptions): Promise<StateEntry[]> {
    this.counts.ranges++;
    const { start, end, limit, reverse = false } = options;
    const from = this.lowerBound(start);
    const to = end === undefined ? this.entries.length : this.lowerBound(end);
    let rows = from < to ? this.entries.slice(from, to) : [];
    if (reverse) rows.reverse();
    if (limit !== undefined) rows = rows.slice(0, limit);
    const gate = this.rangeGate;
    return gate === null ? Promise.resolve(rows) : gate().then(() => rows);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.counts.puts++;
    const entry = { key: key.slice(), value: value.slice() };
    const at = this.lowerBound(key);
    const found = this.entries[at];
    if (found !== undefined && compareBytes(found.key, key) === 0) this.entries[at] = entry;
    else this.entries.splice(at, 0, entry);
  }

  delete(key: Uint8Array): void {
    this.counts.deletes++;
    const at = this.lowerBound(key);
    const found = this.entries[at];
    if (found !== undefined && compareBytes(found.key, key) === 0) this.entries.splice(at, 1);
  }

  /** Every entry, as latin1 strings, in key order. */
  dump(): [string, string][] {
    return this.entries.map(({ key, value }) => [latin1(key), latin1(value)]);
  }

  resetCounts(): void {
    Object.assign(this.counts, { gets: 0, ranges: 0, puts: 0, deletes: 0 });
  }
}
