// What bench:storage writes and checks, shared by the benchmark (test/bench/storage.ts) and its restart child
// (test/bench/storage-restart.ts): the keys and their values, the entry format of the benchmark's key-value
// state machine, and that state machine.
//
// Values are pseudo-random (incompressible: LevelDB compresses with Snappy, so constant bytes would flatter the
// on-disk size) and a pure function of (key number, version), so that a reader can check every value it reads.

import type { Entry } from '../../src/raft/types.js';
import type { StateMachine } from '../../src/server/raft-loop.js';
import type { BackendWriter } from '../../src/storage/backend.js';

/** The key of key number `n`: "key/" and 8 decimal digits (12 bytes). */
export function keyFor(n: number): Buffer {
  return Buffer.from(`key/${String(n).padStart(8, '0')}`, 'latin1');
}

/** Fills `into` with the value of key number `n` at `version` (xorshift32 seeded from both). */
export function fillValue(into: Uint8Array, n: number, version: number): Uint8Array {
  let state = (Math.imul(n + 1, 0x9e3779b1) ^ Math.imul(version + 1, 0x85ebca77)) | 0;
  if (state === 0) state = 0x6d2b79f5;
  let i = 0;
  for (; i + 4 <= into.length; i += 4) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    into[i] = state & 0xff;
    into[i + 1] = (state >>> 8) & 0xff;
    into[i + 2] = (state >>> 16) & 0xff;
    into[i + 3] = (state >>> 24) & 0xff;
  }
  for (; i < into.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    into[i] = state & 0xff;
  }
  return into;
}

export function valueFor(n: number, version: number, bytes: number): Buffer {
  return fillValue(Buffer.allocUnsafe(bytes), n, version) as Buffer;
}

/**
 * The restart data set: `keys` keys loaded in a scattered order (key number `permute(i)` is the i-th one
 * written, as random-key puts would), then a tail of `tail` committed but unapplied entries that each overwrite
 * one key with version 1. The tail overwrites key numbers 0, stride, 2*stride, ...
 */
export class DataSet {
  readonly stride: number;
  private readonly multiplier: number;

  constructor(
    readonly keys: number,
    readonly tail: number,
    readonly valueBytes: number,
  ) {
    this.stride = tail === 0 ? keys : Math.max(1, Math.floor(keys / tail));
    if (tail > keys) throw new RangeError(`tail of ${tail} entries overwrites more keys than the ${keys} loaded`);
    let multiplier = 2_654_435_761 % Math.max(1, keys);
    while (gcd(multiplier, keys) !== 1) multiplier++;
    this.multiplier = multiplier;
  }

  /** Key number of the i-th key loaded (a permutation of 0..keys-1). */
  permute(i: number): number {
    return (i * this.multiplier) % this.keys;
  }

  /** Key number overwritten by the j-th tail entry. */
  tailKey(j: number): number {
    return j * this.stride;
  }

  /** The version of key number `n` once the tail is applied. */
  versionOf(n: number): number {
    return n % this.stride === 0 && n / this.stride < this.tail ? 1 : 0;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

// ---- The benchmark's state machine: an entry is a list of puts ----
//
//   repeated: key length (u16 BE), key, value length (u32 BE), value

export function encodePuts(pairs: readonly (readonly [Uint8Array, Uint8Array])[]): Uint8Array {
  let size = 0;
  for (const [key, value] of pairs) size += 6 + key.length + value.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [key, value] of pairs) {
    out.writeUInt16BE(key.length, at);
    out.set(key, at + 2);
    at += 2 + key.length;
    out.writeUInt32BE(value.length, at);
    out.set(value, at + 4);
    at += 4 + value.length;
  }
  return out;
}

export function decodePuts(data: Uint8Array, each: (key: Uint8Array, value: Uint8Array) => void): number {
  const view = Buffer.from(data.buffer, data.byteOffset, data.length);
  let at = 0;
  let count = 0;
  while (at < view.length) {
    const keyLength = view.readUInt16BE(at);
    const key = view.subarray(at + 2, at + 2 + keyLength);
    at += 2 + keyLength;
    const valueLength = view.readUInt32BE(at);
    const value = view.subarray(at + 4, at + 4 + valueLength);
    at += 4 + valueLength;
    if (value.length !== valueLength) throw new Error(`truncated put in entry data (${data.length} bytes)`);
    each(key, value);
    count++;
  }
  return count;
}

/** Applies each normal entry's puts to the backend; returns the number of puts. */
export class PutStateMachine implements StateMachine {
  puts = 0;

  apply(entry: Entry, backend: BackendWriter): number {
    if (entry.type !== 'normal' || entry.data.length === 0) return 0;
    const count = decodePuts(entry.data, (key, value) => backend.put(key, value));
    this.puts += count;
    return count;
  }
}

/** A seeded PRNG in [0, 1) (mulberry32), for reproducible key choices and election timeouts. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MiB = 1024 * 1024;
export const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;
