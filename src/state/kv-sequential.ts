// Sequential puts: a key named `prefix` + the command's revision, zero-padded to 20 digits so that keys sort in
// sequence order. The revision is the sequence because it is already what a sequence must be: assigned by the log
// order (the same on every member), strictly increasing across commands (so across deletions, restarts and
// snapshots), and unique (a sequential put is a command of its own, never one op of a txn). It keeps no counter per
// prefix, so prefixes that are used once and forgotten (a lock name) leave nothing behind. The key's create
// revision equals its sequence number; a lock's fencing token is that number.
//
// onePerLease (a lock or campaign sent again finds its own waiter) is served by a point read, so that the apply
// never waits on a scan: the record 'S' <lease u64 BE> <prefix> holds the 20 digits of the key a onePerLease put
// made for that lease and prefix. It lives as long as that key does on that lease: the writes that delete the key
// or move it to another lease drop it (dropSequenceHint, called by kv-write.ts), so a lease's records go with it.

import { ConclaveError } from '../protocol/errors.js';
import type { PutSequentialRequest, PutSequentialResponse } from '../protocol/lock.js';
import type { StateWriter } from './backend.js';
import { attachmentKey, currentKey } from './kv-layout.js';
import { decodeCurrent } from './kv-records.js';
import type { WriteContext } from './kv-write.js';

export const SEQUENCE_DIGITS = 20;
const HINT = 0x53; // 'S'

export function sequentialKey(prefix: Uint8Array, sequence: number): Uint8Array {
  const digits = String(sequence).padStart(SEQUENCE_DIGITS, '0');
  const key = new Uint8Array(prefix.length + SEQUENCE_DIGITS);
  key.set(prefix, 0);
  for (let i = 0; i < SEQUENCE_DIGITS; i++) key[prefix.length + i] = digits.charCodeAt(i);
  return key;
}

/** The range every key a sequential put under `prefix` can make lies in: the prefix and 20 digits. */
export function sequentialRange(prefix: Uint8Array): { key: Uint8Array; rangeEnd: Uint8Array } {
  const rangeEnd = new Uint8Array(prefix.length + SEQUENCE_DIGITS + 1);
  rangeEnd.set(prefix, 0);
  rangeEnd.fill(0x39, prefix.length, prefix.length + SEQUENCE_DIGITS); // '9'
  return { key: sequentialKey(prefix, 0), rangeEnd };
}

/** The sequence number of a key made by sequentialKey, or null when its last 20 bytes are not digits. */
export function sequenceOf(key: Uint8Array): number | null {
  if (key.length < SEQUENCE_DIGITS) return null;
  let sequence = 0;
  for (let i = key.length - SEQUENCE_DIGITS; i < key.length; i++) {
    const digit = (key[i] as number) - 0x30;
    if (digit < 0 || digit > 9) return null;
    sequence = sequence * 10 + digit;
  }
  return sequence;
}

function hintKey(lease: number, prefix: Uint8Array): Uint8Array {
  const key = attachmentKey(lease, prefix);
  key[0] = HINT;
  return key;
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** `key` stops being on `lease` (deleted, or moved to another lease): drops the record that names it, if one does. */
export function dropSequenceHint(writer: StateWriter, lease: number, key: Uint8Array): void {
  if (key.length < SEQUENCE_DIGITS || sequenceOf(key) === null) return;
  const split = key.length - SEQUENCE_DIGITS;
  const record = hintKey(lease, key.subarray(0, split));
  const digits = writer.get(record);
  if (digits !== undefined && equalBytes(digits, key.subarray(split))) writer.delete(record);
}

/** The lease (if any) is checked to exist by the caller. */
export function putSequential(context: WriteContext, request: PutSequentialRequest): PutSequentialResponse | ConclaveError {
  const lease = request.lease ?? 0;
  const onePerLease = request.onePerLease === true && lease !== 0;
  if (onePerLease) {
    const digits = context.writer.get(hintKey(lease, request.prefix));
    if (digits !== undefined) {
      const existing = new Uint8Array(request.prefix.length + digits.length);
      existing.set(request.prefix, 0);
      existing.set(digits, request.prefix.length);
      const bytes = context.writer.get(currentKey(existing));
      if (bytes === undefined) throw new Error(`sequence record of lease ${lease} names a key that does not exist`);
      return { key: existing, createRevision: decodeCurrent(existing, bytes).createRevision, created: false };
    }
  }
  const key = sequentialKey(request.prefix, context.revision);
  const put = context.put({ key, value: request.value, lease });
  if (put instanceof ConclaveError) return put;
  if (onePerLease) context.writer.put(hintKey(lease, request.prefix), key.slice(request.prefix.length));
  return { key, createRevision: context.revision, created: true };
}
