// Every value the storage writes is a record: a CRC-32 of the payload, then the payload (msgpack). A record that
// does not match its checksum is reported, never decoded.

import { decodeMsgpack as decode, encodeMsgpackShared } from '../util/msgpack.js';
import { crc32 } from 'node:zlib';
import { corrupt } from './errors.js';

const CHECKSUM_BYTES = 4;

export function encodeRecord(value: unknown): Buffer {
  // Copied into the record at once: the shared view is valid until the next encode.
  const payload = encodeMsgpackShared(value);
  const record = Buffer.allocUnsafe(CHECKSUM_BYTES + payload.length);
  record.set(payload, CHECKSUM_BYTES);
  record.writeUInt32BE(crc32(payload), 0);
  return record;
}

/** Decodes a record written by encodeRecord; `where` and `what` name it in the error (e.g. the WAL directory, "entry 12"). */
export function decodeRecord(record: Uint8Array, where: string, what: string): unknown {
  if (record.length < CHECKSUM_BYTES) throw corrupt(where, what, `record of ${record.length} bytes is shorter than its checksum`);
  const view = Buffer.from(record.buffer, record.byteOffset, record.length);
  const payload = view.subarray(CHECKSUM_BYTES);
  const expected = view.readUInt32BE(0);
  const actual = crc32(payload);
  if (actual !== expected) throw corrupt(where, what, `checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)})`);
  try {
    return decode(payload);
  } catch (error) {
    throw corrupt(where, what, `undecodable payload (${(error as Error).message})`);
  }
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');
