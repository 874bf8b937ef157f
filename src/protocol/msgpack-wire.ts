// msgpack as the WebSocket API's frames use it: 64-bit integers as such (a bigint in, a bigint out for the
// 64-bit formats), and the few hand-made headers that let a frame be assembled from pieces encoded once
// (a map or array header in front of entries or items made elsewhere).

import { Decoder, Encoder } from '@msgpack/msgpack';

const encoder = new Encoder({ useBigInt64: true });
const decoder = new Decoder({ useBigInt64: true });

/** A fresh copy of `value` in msgpack. */
export const encodeWire = (value: unknown): Uint8Array => encoder.encode(value);

/** Throws (a DecodeError or a RangeError) on bytes that are not exactly one msgpack value. */
export const decodeWire = (bytes: Uint8Array): unknown => decoder.decode(bytes);

function header(count: number, fix: number, of16: number, of32: number): Uint8Array {
  if (count < 16) return Uint8Array.of(fix | count);
  if (count < 0x10000) return Uint8Array.of(of16, count >>> 8, count & 0xff);
  return Uint8Array.of(of32, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff);
}

/** The header of a map of `count` entries (the entries follow: key, value, key, value...). */
export const mapHeader = (count: number): Uint8Array => header(count, 0x80, 0xde, 0xdf);

/** The header of an array of `count` items. */
export const arrayHeader = (count: number): Uint8Array => header(count, 0x90, 0xdc, 0xdd);

/** The entries of a small map (under 16 entries), without its header: to be spliced into a larger map. */
export function mapEntries(entries: Record<string, unknown>): Uint8Array {
  const count = Object.keys(entries).length;
  if (count >= 16) throw new Error(`mapEntries takes under 16 entries, got ${count}`);
  return encodeWire(entries).subarray(1);
}
