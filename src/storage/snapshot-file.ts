// The snapshot file: a self-checking stream of the backend's key-value pairs as of one applied index.
//
//   magic "CNCLSNAP" | version u32 BE
//   frames: [payload length u32 BE][CRC-32 of payload u32 BE][payload: msgpack]
//     first   { kind: 'header', index, term, voters, learners }
//     then    { kind: 'pairs', kv: [key, value, key, value, ...] }   (blocks of about snapshotBlockBytes)
//     last    { kind: 'end', pairs }                                  (the count of pairs, nothing after it)
//
// Written in one pass with back-pressure (each block is awaited before the next is read), read in one pass
// (never one buffer of the whole state). The CRC-32 of the whole file is kept beside it in the snapshot record.

import { decode, encode } from '@msgpack/msgpack';
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { storageLimits, type StorageLimits } from '../limits.js';
import { corrupt } from './errors.js';

const MAGIC = Buffer.from('CNCLSNAP');
const VERSION = 1;
const PREAMBLE_BYTES = MAGIC.length + 4;
const FRAME_HEADER_BYTES = 8;

export interface SnapshotHeader {
  readonly index: number;
  readonly term: number;
  /** The cluster configuration as of `index`. */
  readonly config: { readonly voters: readonly string[]; readonly learners: readonly string[] };
}

export interface WrittenSnapshot {
  readonly sizeBytes: number;
  /** CRC-32 of the whole file. */
  readonly checksum: number;
  readonly pairs: number;
}

export type SnapshotFrame =
  | { readonly kind: 'header'; readonly header: SnapshotHeader }
  | { readonly kind: 'pairs'; readonly pairs: readonly (readonly [Uint8Array, Uint8Array])[] }
  | { readonly kind: 'end'; readonly pairs: number; readonly checksum: number; readonly sizeBytes: number };

/** Writes a snapshot to `path` (created, or truncated) and fsyncs it. `batches` yields pairs in key order. */
export async function writeSnapshotFile(
  path: string,
  header: SnapshotHeader,
  batches: AsyncIterable<readonly (readonly [Uint8Array, Uint8Array])[]>,
  limits: Partial<StorageLimits> = {},
): Promise<WrittenSnapshot> {
  const blockBytes = limits.snapshotBlockBytes ?? storageLimits.snapshotBlockBytes;
  const file = await open(path, 'w');
  let offset = 0;
  let checksum = 0;
  let pairs = 0;
  const write = async (bytes: Buffer) => {
    checksum = crc32(bytes, checksum);
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await file.write(bytes, written, bytes.length - written, offset + written);
      written += bytesWritten;
    }
    offset += bytes.length;
  };
  try {
    const preamble = Buffer.alloc(PREAMBLE_BYTES);
    MAGIC.copy(preamble);
    preamble.writeUInt32BE(VERSION, MAGIC.length);
    await write(preamble);
    await write(frame({ kind: 'header', index: header.index, term: header.term, voters: header.config.voters, learners: header.config.learners }));
    let block: Uint8Array[] = [];
    let bytes = 0;
    const flush = async () => {
      if (block.length === 0) return;
      await write(frame({ kind: 'pairs', kv: block }));
      block = [];
      bytes = 0;
    };
    for await (const batch of batches) {
      for (const [key, value] of batch) {
        block.push(key, value);
        bytes += key.length + value.length;
        pairs++;
        if (bytes >= blockBytes) await flush();
      }
    }
    await flush();
    await write(frame({ kind: 'end', pairs }));
    await file.sync();
  } finally {
    await file.close();
  }
  return { sizeBytes: offset, checksum, pairs };
}

function frame(payload: unknown): Buffer {
  const body = encode(payload);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt32BE(crc32(body), 4);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Reads a snapshot file frame by frame, checking every frame, the order of frames, the pair count, that nothing
 * follows the end, and (when given) the CRC-32 of the whole file. Any damage throws ErrCorrupt naming the file
 * and the byte offset.
 */
export async function* readSnapshotFile(path: string, options: { expectedChecksum?: number; limits?: Partial<StorageLimits> } = {}): AsyncGenerator<SnapshotFrame> {
  const maxBlock = options.limits?.maxSnapshotBlockBytes ?? storageLimits.maxSnapshotBlockBytes;
  const file = await open(path, 'r');
  try {
    const reader = new SequentialReader(file);
    const preamble = await reader.read(PREAMBLE_BYTES);
    if (preamble === null || !preamble.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt(path, 'offset 0', 'not a Conclave snapshot file');
    const version = preamble.readUInt32BE(MAGIC.length);
    if (version !== VERSION) throw corrupt(path, 'offset 8', `snapshot format ${version}, this version reads ${VERSION}`);
    let state: 'header' | 'pairs' | 'done' = 'header';
    let pairs = 0;
    while (state !== 'done') {
      const at = reader.offset;
      const head = await reader.read(FRAME_HEADER_BYTES);
      if (head === null) throw corrupt(path, `offset ${at}`, 'file ends before the end frame (truncated)');
      const length = head.readUInt32BE(0);
      if (length > maxBlock) throw corrupt(path, `offset ${at}`, `frame of ${length} bytes exceeds maxSnapshotBlockBytes (${maxBlock})`);
      const body = await reader.read(length);
      if (body === null) throw corrupt(path, `offset ${at}`, 'file ends inside a frame (truncated)');
      if (crc32(body) !== head.readUInt32BE(4)) throw corrupt(path, `offset ${at}`, 'frame checksum mismatch');
      const payload = decodeFrame(body, path, at);
      if (state === 'header') {
        const { voters, learners } = payload;
        if (payload.kind !== 'header' || !isCount(payload.index) || !isCount(payload.term) || !isNames(voters) || !isNames(learners)) {
          throw corrupt(path, `offset ${at}`, 'the first frame is not a header');
        }
        state = 'pairs';
        yield { kind: 'header', header: { index: payload.index, term: payload.term, config: { voters, learners } } };
      } else if (payload.kind === 'pairs') {
        const kv = payload.kv;
        if (!Array.isArray(kv) || kv.length % 2 !== 0 || !kv.every((b) => b instanceof Uint8Array)) throw corrupt(path, `offset ${at}`, 'malformed block of pairs');
        const block: [Uint8Array, Uint8Array][] = [];
        for (let i = 0; i < kv.length; i += 2) block.push([kv[i] as Uint8Array, kv[i + 1] as Uint8Array]);
        pairs += block.length;
        yield { kind: 'pairs', pairs: block };
      } else if (payload.kind === 'end') {
        if (payload.pairs !== pairs) throw corrupt(path, `offset ${at}`, `end frame counts ${String(payload.pairs)} pairs, the file holds ${pairs}`);
        if ((await reader.read(1)) !== null) throw corrupt(path, `offset ${reader.offset - 1}`, 'bytes after the end frame');
        if (options.expectedChecksum !== undefined && reader.checksum !== options.expectedChecksum) {
          throw corrupt(path, 'whole file', `checksum mismatch (recorded ${options.expectedChecksum.toString(16)}, computed ${reader.checksum.toString(16)})`);
        }
        state = 'done';
        yield { kind: 'end', pairs, checksum: reader.checksum, sizeBytes: reader.offset };
      } else {
        throw corrupt(path, `offset ${at}`, `unexpected frame ${String(payload.kind)}`);
      }
    }
  } finally {
    await file.close();
  }
}

/** Reads a whole snapshot file to check it; returns its header, pair count, size and checksum. */
export async function verifySnapshotFile(
  path: string,
  options: { expectedChecksum?: number; limits?: Partial<StorageLimits> } = {},
): Promise<{ header: SnapshotHeader; pairs: number; checksum: number; sizeBytes: number }> {
  let header: SnapshotHeader | null = null;
  for await (const frame of readSnapshotFile(path, options)) {
    if (frame.kind === 'header') header = frame.header;
    else if (frame.kind === 'end') return { header: header as SnapshotHeader, pairs: frame.pairs, checksum: frame.checksum, sizeBytes: frame.sizeBytes };
  }
  throw corrupt(path, 'whole file', 'no end frame');
}

interface FramePayload {
  kind?: unknown;
  index?: unknown;
  term?: unknown;
  voters?: unknown;
  learners?: unknown;
  kv?: unknown;
  pairs?: unknown;
}

function decodeFrame(body: Buffer, path: string, at: number): FramePayload {
  let payload: unknown;
  try {
    payload = decode(body);
  } catch (error) {
    throw corrupt(path, `offset ${at}`, `undecodable frame (${(error as Error).message})`);
  }
  if (payload === null || typeof payload !== 'object') throw corrupt(path, `offset ${at}`, 'frame is not a record');
  return payload as FramePayload;
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isNames = (value: unknown): value is string[] => Array.isArray(value) && value.every((name) => typeof name === 'string');

/** Reads a file front to back in pieces, keeping a running CRC-32 of what it returned. */
class SequentialReader {
  offset = 0;
  checksum = 0;
  private buffered: Buffer = Buffer.alloc(0);
  private fileOffset = 0;
  private eof = false;

  constructor(private readonly file: FileHandle) {}

  /** Exactly `length` bytes, or null when the file ends before them. */
  async read(length: number): Promise<Buffer | null> {
    while (this.buffered.length < length && !this.eof) {
      const piece = Buffer.allocUnsafe(Math.max(1024 * 1024, length - this.buffered.length));
      const { bytesRead } = await this.file.read(piece, 0, piece.length, this.fileOffset);
      if (bytesRead === 0) this.eof = true;
      this.fileOffset += bytesRead;
      this.buffered = this.buffered.length === 0 ? piece.subarray(0, bytesRead) : Buffer.concat([this.buffered, piece.subarray(0, bytesRead)]);
    }
    if (this.buffered.length < length) return null;
    const out = this.buffered.subarray(0, length);
    this.buffered = this.buffered.subarray(length);
    this.offset += length;
    this.checksum = crc32(out, this.checksum);
    return out;
  }
}
