// The key layout of the member's LevelDB database. One database holds the Raft log and the backend, so that one
// atomic, fsynced batch carries a Ready's entries, its hard state and the applied changes together.
//
//   m <name>                 metadata records (hard state, log start, latest snapshot, backend generation, format)
//   e <index: u64 BE>        Raft log entries, in index order
//   b <generation: u32 BE> <key>   the backend's key space; a received snapshot is loaded under a new
//                            generation and switched to atomically

export const META = {
  format: Buffer.from('mformat'),
  hardState: Buffer.from('mhardstate'),
  /** The compaction point: index and term of the entry before the first stored one. */
  logStart: Buffer.from('mlogstart'),
  /** Entries through this index are deleted (the deletions after a compaction run in the background). */
  deletedThrough: Buffer.from('mdeleted'),
  /** The latest snapshot: its metadata and file name. */
  snapshot: Buffer.from('msnapshot'),
  /** The backend generation in use and the index/term applied to it. */
  backend: Buffer.from('mbackend'),
} as const;

const ENTRY_TAG = 0x65; // 'e'
const BACKEND_TAG = 0x62; // 'b'

export function entryKey(at: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = ENTRY_TAG;
  key.writeBigUInt64BE(BigInt(at), 1);
  return key;
}

/** The index an entry key names, or -1 if the key is not an entry key. */
export function entryIndexOf(key: Uint8Array): number {
  if (key.length !== 9 || key[0] !== ENTRY_TAG) return -1;
  return Number(Buffer.from(key.buffer, key.byteOffset, key.length).readBigUInt64BE(1));
}

/** Bounds of all entry keys: [ENTRY_KEYS_START, ENTRY_KEYS_END). */
export const ENTRY_KEYS_START = Buffer.from([ENTRY_TAG]);
export const ENTRY_KEYS_END = Buffer.from([ENTRY_TAG + 1]);

export function backendPrefix(generation: number): Buffer {
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = BACKEND_TAG;
  prefix.writeUInt32BE(generation, 1);
  return prefix;
}

/** The first key after every key that starts with `prefix` (prefix must not be all 0xff). */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  throw new RangeError('prefixEnd of an all-0xff prefix');
}

/** Bounds of all backend keys of every generation. */
export const BACKEND_KEYS_START = Buffer.from([BACKEND_TAG]);
export const BACKEND_KEYS_END = Buffer.from([BACKEND_TAG + 1]);
