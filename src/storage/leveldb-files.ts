// LevelDB's files, checked before LevelDB opens them. LevelDB as classic-level opens it verifies neither the
// checksums of its tables on reads (verify_checksums is off) nor those of its own log on recovery
// (paranoid_checks is off: a damaged record is dropped, with the rest of its block, and the database opens
// without it), and classic-level exposes neither option. A flipped bit would then come back as a lost write, a
// missing or renamed key, an empty database, or an assertion that aborts the process. So start-up reads every
// log record and table block it has not checked before and checks it against LevelDB's own CRC-32C, refusing
// damage with ErrCorrupt naming the file and the offset. Only the files LevelDB would read are checked: the
// manifest CURRENT names, the tables it lists as live, the logs it would replay (not what a crash left for
// LevelDB to delete).
//
// Tables never change once written, so each is checked once: NodeStorage keeps the list of checked tables
// beside the database and checks new ones in the background while it runs (after each snapshot and at close),
// so that a start reads LevelDB's logs and the few tables written since, not the whole database.
//
// Accepted, as LevelDB accepts it: a log whose last record (or header) is cut short by the end of the file, the
// write a crash interrupted; nothing in it was acknowledged. (A damaged length field of the very last record
// looks the same, and loses that record: the one damage this cannot tell from a torn write.) CRC-32C in
// JavaScript runs at a few hundred MB/s.

import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { corrupt } from './errors.js';

/** Tables already checked, as `<number>:<size>`: a table never changes once written, so it is checked once. */
export type VerifiedTables = ReadonlySet<string>;

export interface CheckOptions {
  /** Tables checked before: skipped. */
  readonly verified?: VerifiedTables;
  /**
   * While LevelDB runs: check only tables (its logs are being appended to), and skip a listed table that is
   * gone (LevelDB deletes tables it has compacted away).
   */
  readonly whileOpen?: boolean;
}

/**
 * Checks the files of the LevelDB database at `dbPath` that LevelDB would read: its manifest (named by
 * CURRENT), every table the manifest lists as live (and that its size is the recorded one) that is not in
 * `verified`, and every log it would replay. Files a crash left behind and LevelDB ignores (an unfinished
 * table, an obsolete log) are not read. A directory without a CURRENT file is no database yet (LevelDB creates
 * one, or reports what is wrong). Returns the live tables, all checked now.
 */
export async function checkDatabaseFiles(dbPath: string, options: CheckOptions = {}): Promise<Set<string>> {
  const checked = new Set<string>();
  let current: string;
  try {
    current = await readFile(join(dbPath, 'CURRENT'), 'latin1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return checked;
    throw error;
  }
  const manifestName = current.endsWith('\n') ? current.slice(0, -1) : '';
  if (!/^MANIFEST-\d+$/.test(manifestName)) return checked; // LevelDB refuses it with its own message
  const manifestPath = join(dbPath, manifestName);
  const manifest = await readIfPresent(manifestPath);
  if (manifest === null) return checked; // likewise (or, while open, a manifest just replaced)
  const live = readManifest(manifestPath, manifest);
  const names = await readdir(dbPath);
  for (const [number, size] of live.tables) {
    const id = `${number}:${size}`;
    if (options.verified?.has(id) === true) {
      checked.add(id);
      continue;
    }
    const base = String(number).padStart(6, '0');
    const name = names.includes(`${base}.ldb`) ? `${base}.ldb` : names.includes(`${base}.sst`) ? `${base}.sst` : null;
    if (name === null) {
      if (options.whileOpen === true) continue;
      throw corrupt(join(dbPath, `${base}.ldb`), 'table', `missing (listed as live by ${manifestName})`);
    }
    const path = join(dbPath, name);
    const data = await readIfPresent(path);
    if (data === null && options.whileOpen === true) continue;
    if (data === null) throw corrupt(path, 'table', `missing (listed as live by ${manifestName})`);
    if (data.length !== size) throw corrupt(path, 'table', `${data.length} bytes on disk, ${size} recorded in ${manifestName}`);
    checkTable(path, data);
    checked.add(id);
  }
  if (options.whileOpen === true) return checked;
  for (const name of names.sort()) {
    const match = /^(\d+)\.log$/.exec(name);
    if (match === null) continue;
    const number = Number(match[1]);
    if (number < live.logNumber && number !== live.prevLogNumber) continue; // already in a table; LevelDB deletes it
    const path = join(dbPath, name);
    const data = await readIfPresent(path);
    if (data !== null) forEachLogRecord(path, data);
  }
  return checked;
}

/** The record of verified tables kept beside the database; missing or unreadable, nothing counts as verified. */
export async function readVerifiedTables(path: string): Promise<Set<string>> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
    if (Array.isArray(parsed) && parsed.every((id) => typeof id === 'string')) return new Set(parsed as string[]);
  } catch {
    // Absent or damaged: every table is checked again, which is only slower.
  }
  return new Set();
}

/** Replaces the record of verified tables (not fsynced: losing it only means checking the tables again). */
export async function writeVerifiedTables(path: string, tables: ReadonlySet<string>): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify([...tables]));
  await rename(`${path}.tmp`, path);
}

async function readIfPresent(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

// ---- the manifest: a log of version edits (tag varint, then the tag's fields) ----

interface LiveFiles {
  /** Table file number -> size in bytes. */
  readonly tables: Map<number, number>;
  readonly logNumber: number;
  readonly prevLogNumber: number;
}

function readManifest(path: string, data: Buffer): LiveFiles {
  const tables = new Map<number, number>();
  let logNumber = 0;
  let prevLogNumber = 0;
  forEachLogRecord(path, data, (edit, offset) => {
    const where = `version edit at offset ${offset}`;
    const cursor = { at: 0 };
    const varint = () => readVarint(path, edit, cursor, edit.length, where);
    const slice = () => {
      const length = varint();
      if (cursor.at + length > edit.length) throw corrupt(path, where, 'field runs past the record');
      cursor.at += length;
    };
    const added: [number, number][] = [];
    while (cursor.at < edit.length) {
      const tag = varint();
      if (tag === 1) slice(); // comparator name
      else if (tag === 2) logNumber = varint();
      else if (tag === 9) prevLogNumber = varint();
      else if (tag === 3 || tag === 4) varint(); // next file number, last sequence
      else if (tag === 5) {
        varint(); // compaction pointer: level, key
        slice();
      } else if (tag === 6) {
        varint(); // deleted file: level, number
        tables.delete(varint());
      } else if (tag === 7) {
        varint(); // level
        const number = varint();
        const size = varint();
        slice(); // smallest key
        slice(); // largest key
        added.push([number, size]);
      } else throw corrupt(path, where, `unknown tag ${tag}`);
    }
    // LevelDB applies an edit's deletions before its additions (a file moved to another level is both).
    for (const [number, size] of added) tables.set(number, size);
  });
  return { tables, logNumber, prevLogNumber };
}

// ---- logs (the write-ahead log and the manifest): 32 KiB blocks of records ----
//      [masked CRC-32C u32 LE][length u16 LE][type u8][payload], a logical record in one or more fragments

const LOG_BLOCK = 32768;
const LOG_HEADER = 7;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;

/** Checks every record of a log; hands each logical record to `onRecord` when given. */
function forEachLogRecord(path: string, data: Buffer, onRecord?: (record: Buffer, offset: number) => void): void {
  let fragments: Buffer[] = [];
  let recordAt = 0;
  let inRecord = false;
  for (let block = 0; block < data.length; block += LOG_BLOCK) {
    const blockEnd = block + LOG_BLOCK;
    let at = block;
    // Fewer than a header's bytes left in a block are its zero padding (or, at the end, a torn header).
    while (Math.min(blockEnd, data.length) - at >= LOG_HEADER) {
      const length = data.readUInt16LE(at + 4);
      const type = data[at + 6] as number;
      if (type === 0 && length === 0) {
        // Zeros where a record would start: acceptable only as a zero-filled end of the file.
        for (let i = at; i < data.length; i++) if (data[i] !== 0) throw corrupt(path, `offset ${at}`, 'empty record header in the middle of the log');
        return;
      }
      const end = at + LOG_HEADER + length;
      if (end > blockEnd) throw corrupt(path, `offset ${at}`, `record of ${length} bytes runs past its block`);
      if (end > data.length) {
        // The last write, cut short by a crash; unless complete records follow (then its length is damaged, and
        // LevelDB would drop them all with it).
        if (completeRecordAfter(data, at + 1)) throw corrupt(path, `offset ${at}`, `record of ${length} bytes runs past the end of the log, but records follow it`);
        return;
      }
      if (maskedCrc32c(data, at + 6, end) !== data.readUInt32LE(at)) throw corrupt(path, `offset ${at}`, 'log record checksum mismatch');
      if (type < FULL || type > LAST) throw corrupt(path, `offset ${at}`, `unknown log record type ${type}`);
      if ((type === FULL || type === FIRST) === inRecord) throw corrupt(path, `offset ${at}`, 'log record fragments out of order');
      if (type === FULL || type === FIRST) recordAt = at;
      inRecord = type === FIRST || type === MIDDLE;
      if (onRecord !== undefined) {
        fragments.push(data.subarray(at + LOG_HEADER, end));
        if (!inRecord) {
          onRecord(fragments.length === 1 ? (fragments[0] as Buffer) : Buffer.concat(fragments), recordAt);
          fragments = [];
        }
      }
      at = end;
    }
  }
}

/** True when a whole record with a valid checksum starts somewhere at or after `from`. */
function completeRecordAfter(data: Buffer, from: number): boolean {
  for (let at = from; at + LOG_HEADER <= data.length; at++) {
    const type = data[at + 6] as number;
    if (type < FULL || type > LAST) continue;
    const end = at + LOG_HEADER + data.readUInt16LE(at + 4);
    const blockEnd = (Math.floor(at / LOG_BLOCK) + 1) * LOG_BLOCK;
    if (end <= data.length && end <= blockEnd && maskedCrc32c(data, at + 6, end) === data.readUInt32LE(at)) return true;
  }
  return false;
}

// ---- tables: blocks, each followed by [compression u8][masked CRC-32C u32 LE]; a 48-byte footer ----

const FOOTER_BYTES = 48;
const TRAILER_BYTES = 5;
const TABLE_MAGIC_LOW = 0x8b80fb57;
const TABLE_MAGIC_HIGH = 0xdb477524;

interface Handle {
  readonly offset: number;
  readonly size: number;
}

function checkTable(path: string, data: Buffer): void {
  if (data.length < FOOTER_BYTES) throw corrupt(path, 'footer', `table of ${data.length} bytes is shorter than its footer`);
  const footerAt = data.length - FOOTER_BYTES;
  if (data.readUInt32LE(footerAt + 40) !== TABLE_MAGIC_LOW || data.readUInt32LE(footerAt + 44) !== TABLE_MAGIC_HIGH) {
    throw corrupt(path, 'footer', 'not a LevelDB table (bad magic number)');
  }
  const cursor = { at: footerAt };
  const metaindex = readHandle(path, data, cursor, footerAt + 40);
  const index = readHandle(path, data, cursor, footerAt + 40);
  for (const handle of blockValues(path, readBlock(path, data, index, footerAt, true), index.offset)) {
    readBlock(path, data, decodeHandle(path, handle, index.offset), footerAt, false);
  }
  for (const handle of blockValues(path, readBlock(path, data, metaindex, footerAt, true), metaindex.offset)) {
    readBlock(path, data, decodeHandle(path, handle, metaindex.offset), footerAt, false);
  }
}

/** Checks a block's checksum; returns its contents, uncompressed when `contents` (the index blocks are parsed). */
function readBlock(path: string, data: Buffer, handle: Handle, limit: number, contents: boolean): Buffer {
  const end = handle.offset + handle.size;
  if (end + TRAILER_BYTES > limit) throw corrupt(path, `block at offset ${handle.offset}`, `${handle.size} bytes run past the blocks`);
  if (maskedCrc32c(data, handle.offset, end + 1) !== data.readUInt32LE(end + 1)) throw corrupt(path, `block at offset ${handle.offset}`, 'table block checksum mismatch');
  const compression = data[end] as number;
  if (compression > 1) throw corrupt(path, `block at offset ${handle.offset}`, `unknown compression ${compression}`);
  if (!contents) return data.subarray(handle.offset, end);
  const block = data.subarray(handle.offset, end);
  return compression === 1 ? snappyUncompress(path, block, handle.offset) : block;
}

/** The values of a block's entries ([shared varint][unshared varint][value length varint][key delta][value], then the restart array). */
function blockValues(path: string, block: Buffer, offset: number): Buffer[] {
  const where = `block at offset ${offset}`;
  if (block.length < 4) throw corrupt(path, where, 'block shorter than its restart count');
  const restarts = block.readUInt32LE(block.length - 4);
  const entriesEnd = block.length - 4 - 4 * restarts;
  if (entriesEnd < 0) throw corrupt(path, where, `restart count ${restarts} does not fit the block`);
  const values: Buffer[] = [];
  const cursor = { at: 0 };
  while (cursor.at < entriesEnd) {
    readVarint(path, block, cursor, entriesEnd, where); // bytes shared with the previous key
    const unshared = readVarint(path, block, cursor, entriesEnd, where);
    const valueLength = readVarint(path, block, cursor, entriesEnd, where);
    const valueAt = cursor.at + unshared;
    if (valueAt + valueLength > entriesEnd) throw corrupt(path, where, 'entry runs past the block');
    values.push(block.subarray(valueAt, valueAt + valueLength));
    cursor.at = valueAt + valueLength;
  }
  return values;
}

function decodeHandle(path: string, value: Buffer, offset: number): Handle {
  return readHandle(path, value, { at: 0 }, value.length, `block at offset ${offset}`);
}

function readHandle(path: string, data: Buffer, cursor: { at: number }, limit: number, where = 'footer'): Handle {
  const offset = readVarint(path, data, cursor, limit, where);
  const size = readVarint(path, data, cursor, limit, where);
  return { offset, size };
}

function readVarint(path: string, data: Buffer, cursor: { at: number }, limit: number, where: string): number {
  let value = 0;
  let scale = 1;
  for (let shift = 0; shift < 64; shift += 7) {
    if (cursor.at >= limit) throw corrupt(path, where, 'truncated varint');
    const byte = data[cursor.at++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) throw corrupt(path, where, 'varint out of range');
      return value;
    }
    scale *= 128;
  }
  throw corrupt(path, where, 'varint too long');
}

/** Snappy's raw format (LevelDB compresses blocks with it): a varint length, then literals and back-references. */
function snappyUncompress(path: string, input: Buffer, offset: number): Buffer {
  const where = `block at offset ${offset}`;
  const cursor = { at: 0 };
  const out = Buffer.alloc(readVarint(path, input, cursor, input.length, where));
  let o = 0;
  let at = cursor.at;
  const bad = (why: string) => corrupt(path, where, `snappy: ${why}`);
  while (at < input.length) {
    const tag = input[at++] as number;
    let length: number;
    let distance: number;
    if ((tag & 3) === 0) {
      length = tag >>> 2;
      if (length >= 60) {
        const extra = length - 59;
        if (at + extra > input.length) throw bad('truncated literal length');
        length = input.readUIntLE(at, extra);
        at += extra;
      }
      length += 1;
      if (at + length > input.length || o + length > out.length) throw bad('literal runs past the block');
      input.copy(out, o, at, at + length);
      at += length;
      o += length;
      continue;
    }
    if ((tag & 3) === 1) {
      if (at + 1 > input.length) throw bad('truncated copy');
      length = ((tag >>> 2) & 7) + 4;
      distance = ((tag >>> 5) << 8) | (input[at++] as number);
    } else {
      const width = (tag & 3) === 2 ? 2 : 4;
      if (at + width > input.length) throw bad('truncated copy');
      length = (tag >>> 2) + 1;
      distance = input.readUIntLE(at, width);
      at += width;
    }
    if (distance === 0 || distance > o || o + length > out.length) throw bad('copy outside the output');
    for (let i = 0; i < length; i++, o++) out[o] = out[o - distance] as number;
  }
  if (o !== out.length) throw bad(`${o} bytes, ${out.length} announced`);
  return out;
}

// ---- CRC-32C (Castagnoli), slicing by 8, masked as LevelDB stores it ----

const TABLES: Uint32Array[] = (() => {
  const first = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    first[n] = c >>> 0;
  }
  const tables = [first];
  for (let t = 1; t < 8; t++) {
    const previous = tables[t - 1] as Uint32Array;
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) table[n] = ((previous[n] as number) >>> 8) ^ (first[(previous[n] as number) & 0xff] as number);
    tables.push(table);
  }
  return tables;
})();

function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ ((data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24));
    c =
      (t7[a & 0xff] as number) ^
      (t6[(a >>> 8) & 0xff] as number) ^
      (t5[(a >>> 16) & 0xff] as number) ^
      (t4[a >>> 24] as number) ^
      (t3[data[i + 4] as number] as number) ^
      (t2[data[i + 5] as number] as number) ^
      (t1[data[i + 6] as number] as number) ^
      (t0[data[i + 7] as number] as number);
  }
  for (; i < end; i++) c = (t0[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** LevelDB stores CRCs rotated and offset (a CRC of data that embeds CRCs is then not trivially related). */
function maskedCrc32c(data: Uint8Array, start: number, end: number): number {
  const crc = crc32c(data, start, end);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}
