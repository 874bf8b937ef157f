// Sequential puts: a key named `prefix` + the command's revision, zero-padded to 20 digits so that keys sort in
// sequence order. The revision is the sequence because it is already what a sequence must be: assigned by the log
// order (the same on every member), strictly increasing across commands (so across deletions, restarts and
// snapshots), and unique (a sequential put is a command of its own, never one op of a txn). It keeps no counter per
// prefix, so prefixes that are used once and forgotten (a lock name) leave nothing behind. The key's create
// revision equals its sequence number; a lock's fencing token is that number.

import { ConclaveError } from '../protocol/errors.js';
import type { PutSequentialRequest, PutSequentialResponse } from '../protocol/lock.js';
import { attachedKeyOf, attachmentKey, currentKey, successor } from './kv-layout.js';
import { decodeCurrent } from './kv-records.js';
import type { WriteContext } from './kv-write.js';

export const SEQUENCE_DIGITS = 20;

export function sequentialKey(prefix: Uint8Array, sequence: number): Uint8Array {
  const digits = String(sequence).padStart(SEQUENCE_DIGITS, '0');
  const key = new Uint8Array(prefix.length + SEQUENCE_DIGITS);
  key.set(prefix, 0);
  for (let i = 0; i < SEQUENCE_DIGITS; i++) key[prefix.length + i] = digits.charCodeAt(i);
  return key;
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

/**
 * The key under `prefix` attached to `lease` with a sequence suffix, if any: the lease's attachments from
 * prefix + '0' to prefix + ':' (the byte after '9'), one backend range, paged.
 */
async function keyOfLease(context: WriteContext, prefix: Uint8Array, lease: number, pageRows: number): Promise<Uint8Array | undefined> {
  const withByte = (byte: number): Uint8Array => {
    const bound = new Uint8Array(prefix.length + 1);
    bound.set(prefix, 0);
    bound[prefix.length] = byte;
    return attachmentKey(lease, bound);
  };
  let start = withByte(0x30);
  const end = withByte(0x3a);
  for (;;) {
    const rows = await context.writer.range({ start, end, limit: pageRows });
    for (const row of rows) {
      const key = attachedKeyOf(row.key);
      if (key.length === prefix.length + SEQUENCE_DIGITS && sequenceOf(key) !== null) return key.slice();
    }
    if (rows.length < pageRows) return undefined;
    start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
  }
}

/** The lease (if any) is checked to exist by the caller. */
export async function putSequential(context: WriteContext, request: PutSequentialRequest, pageRows: number): Promise<PutSequentialResponse | ConclaveError> {
  const lease = request.lease ?? 0;
  if (request.onePerLease === true && lease !== 0) {
    const existing = await keyOfLease(context, request.prefix, lease, pageRows);
    if (existing !== undefined) {
      const bytes = context.writer.get(currentKey(existing)) as Uint8Array;
      return { key: existing, createRevision: decodeCurrent(existing, bytes).createRevision, created: false };
    }
  }
  const key = sequentialKey(request.prefix, context.revision);
  const put = context.put({ key, value: request.value, lease });
  if (put instanceof ConclaveError) return put;
  return { key, createRevision: context.revision, created: true };
}
