// The key-value store's layout in the backend: the keys of its records (their values are in kv-records.ts). Four
// prefixes are its own; other state modules use other first bytes ('M' the member list in members.ts, 'q' the
// deduplication table of client request IDs in dedup.ts).
//
//   'k' <key>                          -> current record of every live key (nothing for deleted ones): its version
//                                         without the value. Small, so a read at the current revision ranges over
//                                         these alone to count, filter and sort, and fetches the values of the keys
//                                         it returns only.
//   'r' <revision u64 BE> <sub u32 BE> -> event record, one per write, in revision order (what watches replay). The
//                                         value of a key's version lives here only (written once per put), with a
//                                         pointer to the key's record before it (none after a deletion), so that
//                                         compaction finds that record without a search.
//   'h' <escaped key> 00 01 <revision u64 BE> <sub u32 BE>
//                                      -> history record: the per-key index of versions (and tombstones) that reads
//                                         at past revisions walk. Escaping (00 -> 00 FF, then the terminator 00 01)
//                                         keeps the order of keys and puts a key's versions, in revision order, right
//                                         after it and before any longer key.
//   'v'                                -> meta: the revision and the compact revision.
//   'L' <lease u64 BE>                 -> a live lease: its TTL and last checkpointed remaining time (lease-table.ts).
//   'A' <lease u64 BE> <key>           -> empty: the key is attached to the lease (written with the key's record,
//                                         so that a revoke finds its keys with one range, in key order).
//   'S' <lease u64 BE> <prefix>       -> the sequence digits of the key a onePerLease sequential put made for the
//                                         lease under the prefix, while it lives on it (kv-sequential.ts).
//
// Revisions are below 2^53 (u64 on disk), sub-revisions below 2^32.

import type { KeyRange } from '../protocol/kv.js';

const CURRENT = 0x6b; // 'k'
const CURRENT_END = 0x6c;
const EVENT = 0x72; // 'r'
const HISTORY = 0x68; // 'h'
const HISTORY_END = 0x69;

const LEASE = 0x4c; // 'L'
const ATTACHMENT = 0x41; // 'A'

export const META_KEY: Uint8Array = Uint8Array.of(0x76); // 'v'
export const EMPTY: Uint8Array = new Uint8Array(0);
const TWO_32 = 4294967296;

/** Where a request's key range lies: one key, or [start, end) with end null for "to the end of the key space". */
export type Span = { readonly single: true; readonly key: Uint8Array } | { readonly single: false; readonly start: Uint8Array; readonly end: Uint8Array | null };

export function spanOf(range: KeyRange): Span {
  const end = range.rangeEnd;
  if (end === undefined || end.length === 0) return { single: true, key: range.key };
  if (end.length === 1 && end[0] === 0) return { single: false, start: range.key, end: null };
  return { single: false, start: range.key, end };
}

/** Whether `key` lies in the span. */
export function spanContains(span: Span, key: Uint8Array): boolean {
  if (span.single) return compareBytes(span.key, key) === 0;
  return compareBytes(key, span.start) >= 0 && (span.end === null || compareBytes(key, span.end) < 0);
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** A key as a string of one char per byte: a Map key that compares equal exactly when the bytes do. */
export function keyName(key: Uint8Array): string {
  let name = '';
  for (let i = 0; i < key.length; i += 8192) name += String.fromCharCode(...key.subarray(i, i + 8192));
  return name;
}

function prefixed(prefix: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out[0] = prefix;
  out.set(key, 1);
  return out;
}

// ---- current keys ----

export const currentKey = (key: Uint8Array): Uint8Array => prefixed(CURRENT, key);

/** The backend range of current records for a span (not single). */
export function currentBounds(span: Span & { single: false }): { start: Uint8Array; end: Uint8Array } {
  return { start: prefixed(CURRENT, span.start), end: span.end === null ? Uint8Array.of(CURRENT_END) : prefixed(CURRENT, span.end) };
}

// ---- lease keys ----

function writeU64(out: Uint8Array, at: number, value: number): void {
  const high = Math.floor(value / TWO_32);
  const low = value >>> 0;
  out[at] = high >>> 24;
  out[at + 1] = (high >>> 16) & 0xff;
  out[at + 2] = (high >>> 8) & 0xff;
  out[at + 3] = high & 0xff;
  out[at + 4] = low >>> 24;
  out[at + 5] = (low >>> 16) & 0xff;
  out[at + 6] = (low >>> 8) & 0xff;
  out[at + 7] = low & 0xff;
}

export function leaseKey(lease: number): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = LEASE;
  writeU64(out, 1, lease);
  return out;
}

/** The backend range of every lease record. */
export const LEASE_BOUNDS = { start: Uint8Array.of(LEASE), end: Uint8Array.of(LEASE + 1) } as const;

export function leaseOfKey(bytes: Uint8Array): number {
  return readU32(bytes, 1) * TWO_32 + readU32(bytes, 5);
}

export function attachmentKey(lease: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + key.length);
  out[0] = ATTACHMENT;
  writeU64(out, 1, lease);
  out.set(key, 9);
  return out;
}

/** The backend range of the attachments of one lease. */
export function attachmentBounds(lease: number): { start: Uint8Array; end: Uint8Array } {
  const start = attachmentKey(lease, EMPTY);
  const end = attachmentKey(lease + 1, EMPTY);
  return { start, end };
}

/** The backend range of every attachment. */
export const ATTACHMENT_BOUNDS = { start: Uint8Array.of(ATTACHMENT), end: Uint8Array.of(ATTACHMENT + 1) } as const;

export const attachedKeyOf = (bytes: Uint8Array): Uint8Array => bytes.subarray(9);

// ---- event keys ----

export function eventKey(revision: number, sub: number): Uint8Array {
  const out = new Uint8Array(13);
  out[0] = EVENT;
  writeRevision(out, 1, revision, sub);
  return out;
}

/** The first event key of `revision` (sub 0): ranges of whole revisions start here. */
export const revisionStart = (revision: number): Uint8Array => eventKey(revision, 0);

export function eventRevision(bytes: Uint8Array): { revision: number; sub: number } {
  return readRevision(bytes, 1);
}

// ---- history keys ----

function escapedLength(key: Uint8Array): number {
  let zeros = 0;
  for (let i = 0; i < key.length; i++) if (key[i] === 0) zeros++;
  return key.length + zeros;
}

/** Writes 'h' and the escaped key (no terminator) at 0; returns the offset after it. */
function writeEscaped(out: Uint8Array, key: Uint8Array): number {
  out[0] = HISTORY;
  let at = 1;
  for (let i = 0; i < key.length; i++) {
    const byte = key[i] as number;
    out[at++] = byte;
    if (byte === 0) out[at++] = 0xff;
  }
  return at;
}

export function historyKey(key: Uint8Array, revision: number, sub: number): Uint8Array {
  const out = new Uint8Array(1 + escapedLength(key) + 2 + 12);
  let at = writeEscaped(out, key);
  out[at++] = 0;
  out[at++] = 1;
  writeRevision(out, at, revision, sub);
  return out;
}

/** 'h' + escaped key, without terminator: every history key of `key` and of keys above it starts at or after this. */
function historyFloor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + escapedLength(key));
  writeEscaped(out, key);
  return out;
}

/** The backend range of one key's history records: its escaped key with the terminator, up to the next terminator value. */
export function keyHistoryBounds(key: Uint8Array): { start: Uint8Array; end: Uint8Array } {
  const start = new Uint8Array(1 + escapedLength(key) + 2);
  const at = writeEscaped(start, key);
  start[at] = 0;
  start[at + 1] = 1;
  const end = start.slice();
  end[at + 1] = 2;
  return { start, end };
}

/** The backend range of the history records of every key in a span. */
export function historyBounds(span: Span): { start: Uint8Array; end: Uint8Array } {
  if (span.single) return keyHistoryBounds(span.key);
  return { start: historyFloor(span.start), end: span.end === null ? Uint8Array.of(HISTORY_END) : historyFloor(span.end) };
}

export interface HistoryRef {
  readonly key: Uint8Array;
  readonly revision: number;
  readonly sub: number;
}

export function parseHistoryKey(bytes: Uint8Array): HistoryRef {
  let zeros = 0;
  let at = 1;
  for (;;) {
    const byte = bytes[at];
    if (byte === undefined) throw new RangeError('history key without terminator');
    if (byte === 0) {
      if (bytes[at + 1] === 1) break;
      zeros++;
      at += 2;
    } else {
      at++;
    }
  }
  const escapedEnd = at;
  const key = new Uint8Array(escapedEnd - 1 - zeros);
  let out = 0;
  for (let i = 1; i < escapedEnd; i++) {
    const byte = bytes[i] as number;
    key[out++] = byte;
    if (byte === 0) i++;
  }
  const { revision, sub } = readRevision(bytes, escapedEnd + 2);
  return { key, revision, sub };
}

/** Revision and sub of a history key, read from its tail (no need to unescape the key). */
export function historyRevision(bytes: Uint8Array): { revision: number; sub: number } {
  return readRevision(bytes, bytes.length - 12);
}

// ---- revisions on disk ----

function writeRevision(out: Uint8Array, at: number, revision: number, sub: number): void {
  writeU64(out, at, revision);
  out[at + 8] = sub >>> 24;
  out[at + 9] = (sub >>> 16) & 0xff;
  out[at + 10] = (sub >>> 8) & 0xff;
  out[at + 11] = sub & 0xff;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) >>> 0) + ((bytes[at + 1] as number) << 16) + ((bytes[at + 2] as number) << 8) + (bytes[at + 3] as number);
}

function readRevision(bytes: Uint8Array, at: number): { revision: number; sub: number } {
  return { revision: readU32(bytes, at) * TWO_32 + readU32(bytes, at + 4), sub: readU32(bytes, at + 8) };
}

/** The smallest key after `key` (key + 00): where the next page of a scan starts. */
export function successor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key, 0);
  return out;
}
