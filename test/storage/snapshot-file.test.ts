// Snapshot files: what is written reads back identically, block by block, with its size and checksum; and every
// kind of damage is refused as ErrCorrupt naming the file: any flipped byte, any truncation, trailing bytes, a
// wrong magic or version, frames out of order, an end count that does not match, a whole-file checksum that
// does not match the recorded one, a frame larger than maxSnapshotBlockBytes.

import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/storage/errors.js';
import { readSnapshotFile, verifySnapshotFile, writeSnapshotFile, type SnapshotFrame } from '../../src/storage/snapshot-file.js';
import { bytes, CONFIG, removeTempDirs, tempDir } from './helpers.js';

let dir: string;
let counter = 0;
const nextPath = (): string => join(dir, `s${counter++}.snap`);

beforeAll(async () => {
  dir = await tempDir('conclave-snapfile-');
});
afterAll(removeTempDirs);

type Pair = readonly [Uint8Array, Uint8Array];

async function* batchesOf(pairs: readonly Pair[], sizes: readonly number[]): AsyncGenerator<Pair[]> {
  let at = 0;
  let s = 0;
  while (at < pairs.length) {
    const size = Math.max(1, sizes[s++ % Math.max(1, sizes.length)] ?? 1);
    yield pairs.slice(at, at + size);
    at += size;
  }
}

async function readAll(path: string, options: Parameters<typeof readSnapshotFile>[1] = {}): Promise<SnapshotFrame[]> {
  const frames: SnapshotFrame[] = [];
  for await (const frame of readSnapshotFile(path, options)) frames.push(frame);
  return frames;
}

/** A frame as the writer makes it: [length][CRC-32][msgpack payload]. */
function frame(payload: unknown): Buffer {
  const body = Buffer.from(encode(payload));
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.writeUInt32BE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

function fileOf(frames: readonly Buffer[], magic = 'CNCLSNAP', version = 1): Buffer {
  const preamble = Buffer.alloc(12);
  preamble.write(magic, 0, 'latin1');
  preamble.writeUInt32BE(version, 8);
  return Buffer.concat([preamble, ...frames]);
}

async function expectCorrupt(path: string, pattern: RegExp, options: Parameters<typeof readSnapshotFile>[1] = {}): Promise<StorageError> {
  let caught: unknown;
  try {
    await verifySnapshotFile(path, options);
  } catch (error) {
    caught = error;
  }
  expect(caught, `${path} was accepted`).toBeInstanceOf(StorageError);
  const error = caught as StorageError;
  expect(error.code).toBe('ErrCorrupt');
  expect(error.message).toContain(path);
  expect(error.message).toMatch(pattern);
  return error;
}

const pairArb = fc.tuple(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 40 }));

/** CRC-32 and size of a whole file, as the snapshot record keeps them. */
async function fileChecksum(path: string): Promise<{ checksum: number; sizeBytes: number }> {
  const data = await readFile(path);
  return { checksum: crc32(data), sizeBytes: data.length };
}

describe('round trip', () => {
  it('reads back the header, every pair in order, the count, the size and the checksum that were written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(pairArb, { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 300 }),
        fc.record({ index: fc.nat(1_000_000), term: fc.nat(1000), config: fc.record({ voters: fc.array(fc.string(), { maxLength: 5 }), learners: fc.array(fc.string(), { maxLength: 3 }) }) }),
        async (pairs, sizes, blockBytes, header) => {
          const path = nextPath();
          const written = await writeSnapshotFile(path, header, batchesOf(pairs, sizes), { snapshotBlockBytes: blockBytes });
          expect(written.pairs).toBe(pairs.length);
          expect(written.sizeBytes).toBe((await stat(path)).size);
          expect(await fileChecksum(path)).toEqual({ checksum: written.checksum, sizeBytes: written.sizeBytes });

          const frames = await readAll(path, { expectedChecksum: written.checksum });
          expect(frames[0]).toEqual({ kind: 'header', header });
          const blocks = frames.filter((f): f is Extract<SnapshotFrame, { kind: 'pairs' }> => f.kind === 'pairs');
          const readPairs = blocks.flatMap((block) => block.pairs.map(([key, value]) => [Buffer.from(key).toString('hex'), Buffer.from(value).toString('hex')]));
          expect(readPairs).toEqual(pairs.map(([key, value]) => [Buffer.from(key).toString('hex'), Buffer.from(value).toString('hex')]));
          // Blocks of about snapshotBlockBytes: every block but the last reached it, and only its last pair took it there.
          for (const [position, block] of blocks.entries()) {
            const sizesOf = block.pairs.map(([key, value]) => key.length + value.length);
            const total = sizesOf.reduce((a, b) => a + b, 0);
            if (position < blocks.length - 1) expect(total).toBeGreaterThanOrEqual(blockBytes);
            expect(total - (sizesOf[sizesOf.length - 1] ?? 0)).toBeLessThan(blockBytes);
          }
          expect(frames[frames.length - 1]).toEqual({ kind: 'end', pairs: pairs.length, checksum: written.checksum, sizeBytes: written.sizeBytes });
          expect(await verifySnapshotFile(path, { expectedChecksum: written.checksum })).toEqual({
            header,
            pairs: pairs.length,
            checksum: written.checksum,
            sizeBytes: written.sizeBytes,
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an empty backend makes a valid snapshot of no pairs', async () => {
    const path = nextPath();
    const written = await writeSnapshotFile(path, { index: 7, term: 2, config: CONFIG }, batchesOf([], []));
    expect((await readAll(path)).map((f) => f.kind)).toEqual(['header', 'end']);
    expect(await verifySnapshotFile(path, { expectedChecksum: written.checksum })).toMatchObject({ header: { index: 7, term: 2 }, pairs: 0 });
  });
});

describe('damage', () => {
  let good: Buffer;
  let goodChecksum: number;

  beforeAll(async () => {
    const path = nextPath();
    const pairs: Pair[] = [];
    for (let k = 0; k < 12; k++) pairs.push([bytes(`key-${k}`), bytes(`value-${k}`.repeat(2))]);
    const written = await writeSnapshotFile(path, { index: 42, term: 3, config: CONFIG }, batchesOf(pairs, [5]), { snapshotBlockBytes: 60 });
    good = await readFile(path);
    goodChecksum = written.checksum;
    // Several frames of pairs, so that the damage below lands in the header, in blocks and in the end frame.
    expect((await readAll(path)).filter((f) => f.kind === 'pairs').length).toBeGreaterThanOrEqual(3);
  });

  it('every flipped byte, anywhere in the file, is refused (checked frame by frame, without the recorded checksum)', async () => {
    const path = nextPath();
    for (const mask of [0x01, 0x80]) {
      for (let at = 0; at < good.length; at++) {
        const damaged = Buffer.from(good);
        damaged[at] = (damaged[at] as number) ^ mask;
        await writeFile(path, damaged);
        await expectCorrupt(path, /offset \d+/);
      }
    }
  });

  it('a file cut short anywhere is refused as truncated', async () => {
    const path = nextPath();
    for (let length = 0; length < good.length; length++) {
      await writeFile(path, good.subarray(0, length));
      await expectCorrupt(path, length < 12 ? /not a Conclave snapshot file/ : /truncated/);
    }
  });

  it('bytes after the end frame are refused', async () => {
    const path = nextPath();
    await writeFile(path, Buffer.concat([good, Buffer.from([0])]));
    await expectCorrupt(path, /bytes after the end frame/);
    await writeFile(path, Buffer.concat([good, frame({ kind: 'end', pairs: 12 })]));
    await expectCorrupt(path, /bytes after the end frame/);
  });

  it('a wrong magic or version is refused', async () => {
    const path = nextPath();
    await writeFile(path, Buffer.concat([bytes('NOTASNAP'), good.subarray(8)]));
    await expectCorrupt(path, /offset 0: not a Conclave snapshot file/);
    await writeFile(path, fileOf([frame({ kind: 'header', index: 1, term: 1, voters: ['n1'], learners: [] }), frame({ kind: 'end', pairs: 0 })], 'CNCLSNAP', 2));
    await expectCorrupt(path, /snapshot format 2/);
  });

  it('an end frame whose count does not match the pairs is refused', async () => {
    const path = nextPath();
    const header = frame({ kind: 'header', index: 5, term: 1, voters: ['n1'], learners: [] });
    const block = frame({ kind: 'pairs', kv: [bytes('a'), bytes('1'), bytes('b'), bytes('2')] });
    await writeFile(path, fileOf([header, block, frame({ kind: 'end', pairs: 2 })]));
    expect((await verifySnapshotFile(path)).pairs).toBe(2);
    await writeFile(path, fileOf([header, block, frame({ kind: 'end', pairs: 3 })]));
    await expectCorrupt(path, /end frame counts 3 pairs, the file holds 2/);
    await writeFile(path, fileOf([header, block, block, frame({ kind: 'end', pairs: 2 })]));
    await expectCorrupt(path, /end frame counts 2 pairs, the file holds 4/);
  });

  it('frames out of order, of unknown kinds, or malformed are refused', async () => {
    const path = nextPath();
    const header = frame({ kind: 'header', index: 5, term: 1, voters: ['n1'], learners: [] });
    const end = frame({ kind: 'end', pairs: 0 });
    await writeFile(path, fileOf([end]));
    await expectCorrupt(path, /the first frame is not a header/);
    await writeFile(path, fileOf([header, frame({ kind: 'extra' }), end]));
    await expectCorrupt(path, /unexpected frame extra/);
    await writeFile(path, fileOf([header, frame({ kind: 'pairs', kv: [bytes('odd')] }), end]));
    await expectCorrupt(path, /malformed block of pairs/);
    await writeFile(path, fileOf([header, frame('not a record'), end]));
    await expectCorrupt(path, /frame is not a record/);
    await writeFile(path, fileOf([header]));
    await expectCorrupt(path, /file ends before the end frame/);
  });

  it('a whole file that is valid frame by frame but not the recorded one is refused by its checksum', async () => {
    const path = nextPath();
    await writeFile(path, good);
    await verifySnapshotFile(path, { expectedChecksum: goodChecksum });
    await expectCorrupt(path, /whole file: checksum mismatch/, { expectedChecksum: (goodChecksum ^ 1) >>> 0 });
    // Another snapshot, itself intact, in the place of the recorded one.
    await writeSnapshotFile(path, { index: 42, term: 3, config: CONFIG }, batchesOf([[bytes('key-0'), bytes('other')]], [1]));
    await expectCorrupt(path, /whole file: checksum mismatch/, { expectedChecksum: goodChecksum });
  });

  it('a frame larger than maxSnapshotBlockBytes is refused before it is read', async () => {
    const path = nextPath();
    const pairs: Pair[] = [[bytes('big'), Buffer.alloc(2000, 0x61)]];
    await writeSnapshotFile(path, { index: 1, term: 1, config: CONFIG }, batchesOf(pairs, [1]));
    await verifySnapshotFile(path, { limits: { maxSnapshotBlockBytes: 4096 } });
    await expectCorrupt(path, /frame of \d+ bytes exceeds maxSnapshotBlockBytes \(1000\)/, { limits: { maxSnapshotBlockBytes: 1000 } });
    // A length field claiming 4 GiB: refused from the frame header alone.
    const head = Buffer.alloc(8);
    head.writeUInt32BE(0xffffffff, 0);
    await writeFile(path, fileOf([frame({ kind: 'header', index: 1, term: 1, voters: ['n1'], learners: [] }), head]));
    await expectCorrupt(path, /exceeds maxSnapshotBlockBytes/);
  });
});
