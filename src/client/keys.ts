// Keys and key ranges as callers like to write them (strings or bytes, a prefix, "from this key on"), turned
// into the protocol's byte ranges with etcd clientv3's rules.

import { ConclaveError } from '../protocol/errors.js';
import { FROM_KEY_END, prefixEnd, type KeyRange } from '../protocol/kv.js';

export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();

export function toBytes(value: Bytes): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

export { FROM_KEY_END, prefixEnd };

export interface RangeShape {
  /** Explicit end of the range, exclusive. */
  readonly rangeEnd?: Bytes;
  /** Every key that starts with the key. */
  readonly prefix?: boolean;
  /** Every key greater than or equal to the key. */
  readonly fromKey?: boolean;
}

/** The protocol range for `key` shaped by `shape`; at most one of rangeEnd, prefix and fromKey may be given. */
export function keyRange(key: Bytes, shape: RangeShape = {}): KeyRange {
  const given = [shape.rangeEnd !== undefined, shape.prefix === true, shape.fromKey === true].filter(Boolean).length;
  if (given > 1) throw new ConclaveError('ErrInvalidField', 'give at most one of rangeEnd, prefix and fromKey');
  const bytes = toBytes(key);
  if (shape.rangeEnd !== undefined) return { key: bytes, rangeEnd: toBytes(shape.rangeEnd) };
  // An empty key has no prefix to bound, and etcd reads both shapes as the whole key space.
  if ((shape.prefix === true || shape.fromKey === true) && bytes.length === 0) return { key: FROM_KEY_END, rangeEnd: FROM_KEY_END };
  if (shape.prefix === true) return { key: bytes, rangeEnd: prefixEnd(bytes) };
  if (shape.fromKey === true) return { key: bytes, rangeEnd: FROM_KEY_END };
  return { key: bytes };
}
