// One msgpack Encoder and Decoder for the process: @msgpack/msgpack's encode() and decode() build a new one on
// every call (its constructor was 2% of a leader's CPU under load). Both are reentrancy-safe (a nested call gets
// a clone) and deterministic.

import { Decoder, Encoder } from '@msgpack/msgpack';

const encoder = new Encoder();
const decoder = new Decoder();

/** A fresh copy of `value` in msgpack. */
export const encodeMsgpack = (value: unknown): Uint8Array => encoder.encode(value);

/** `value` in msgpack as a view of the shared encoder's buffer: valid only until the next encode. */
export const encodeMsgpackShared = (value: unknown): Uint8Array => encoder.encodeSharedRef(value);

export const decodeMsgpack = (bytes: Uint8Array): unknown => decoder.decode(bytes);
