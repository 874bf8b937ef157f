// Digests of the replicated state, so that members (and tests) can compare theirs.
//
// hashRecords is the store's MVCC state up to a revision (as etcd's HashKV, served at /debug/kvhash): CRC-32C over
// every event record and every history record at or below the revision, in key order, each as length-prefixed
// key and value. The current records follow from these and are left out: they change under a hash that pages
// through the backend while applies go on, whereas records at or below the revision do not. It sees the key-value
// pairs only: leases ('L', 'A'), sequence hints ('S'), Snowflake workers ('W'), segment counters ('G'), the
// deduplication table ('q') and the member list ('M') are outside it, and so is anything that changes the state
// without a new revision (a lease checkpoint, a worker allocation, a segment reserve).
//
// hashState is all of it: every record of the backend's key space, whichever module wrote it, in key order. The
// key space holds the state machine's records only (storage keeps its own bookkeeping, the applied index and the
// membership it goes with, outside it), so two members that applied the same entries have equal digests.

import type { StateReader } from './backend.js';
import { EMPTY, historyBounds, historyRevision, revisionStart, successor } from './kv-layout.js';

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

class Crc32c {
  private crc = 0xffffffff;

  bytes(data: Uint8Array): void {
    let crc = this.crc;
    for (let i = 0; i < data.length; i++) crc = (TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
    this.crc = crc;
  }

  u32(value: number): void {
    this.bytes(Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff));
  }

  /** One record, as length-prefixed key and value. */
  record(key: Uint8Array, value: Uint8Array): void {
    this.u32(key.length);
    this.bytes(key);
    this.u32(value.length);
    this.bytes(value);
  }

  get value(): number {
    return (this.crc ^ 0xffffffff) >>> 0;
  }
}

/** CRC-32C of `data` (exported for its test against the standard check value). */
export function crc32c(data: Uint8Array): number {
  const crc = new Crc32c();
  crc.bytes(data);
  return crc.value;
}

export async function hashRecords(reader: StateReader, revision: number, pageRows: number): Promise<number> {
  const crc = new Crc32c();
  await scan(reader, revisionStart(1), revisionStart(revision + 1), pageRows, (key, value) => crc.record(key, value));
  const history = historyBounds({ single: false, start: EMPTY, end: null });
  await scan(reader, history.start, history.end, pageRows, (key, value) => {
    if (historyRevision(key).revision <= revision) crc.record(key, value);
  });
  return crc.value;
}

/**
 * CRC-32C over every record of the backend, as length-prefixed key and value, in key order. Each page is a view of
 * its own, so take it when no entry is being applied (between applies, or on a view that does not change).
 */
export async function hashState(reader: StateReader, pageRows: number): Promise<number> {
  const crc = new Crc32c();
  await scan(reader, EMPTY, null, pageRows, (key, value) => crc.record(key, value));
  return crc.value;
}

/** hashState of the records a consistent view gives, as [key, value] pages in key order (the durable backend's). */
export async function hashStatePages(pages: AsyncIterable<readonly (readonly [Uint8Array, Uint8Array])[]>): Promise<number> {
  const crc = new Crc32c();
  for await (const page of pages) for (const [key, value] of page) crc.record(key, value);
  return crc.value;
}

/** `end` null: to the end of the backend. */
async function scan(reader: StateReader, first: Uint8Array, end: Uint8Array | null, pageRows: number, visit: (key: Uint8Array, value: Uint8Array) => void): Promise<void> {
  let start = first;
  for (;;) {
    const rows = await reader.range({ start, ...(end === null ? {} : { end }), limit: pageRows });
    for (const row of rows) visit(row.key, row.value);
    if (rows.length < pageRows) return;
    start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
  }
}
