// A turn's bytes handed on together, in order, whatever the mix of small (copied) and large (kept) pieces.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TurnBuffer } from '../../src/server/turn-buffer.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnBuffer', () => {
  it('hands on one turn of pieces at its end, in one call and in order; discard drops what is pending', async () => {
    const handed: Buffer[][] = [];
    const buffer = new TurnBuffer((chunks) => handed.push([...chunks]));
    buffer.append([Buffer.from('ab'), Buffer.from('c')]);
    buffer.append([Buffer.alloc(20_000, 'x'), Buffer.from('d')]);
    expect(buffer.pendingBytes).toBe(20_004);
    expect(handed).toEqual([]);
    await settle();
    expect(handed).toHaveLength(1);
    expect(Buffer.concat(handed[0]!).toString()).toBe(`abc${'x'.repeat(20_000)}d`);
    expect(buffer.pendingBytes).toBe(0);
    buffer.append([Buffer.from('gone')]);
    buffer.discard();
    await settle();
    expect(handed).toHaveLength(1);
  });

  it('property: what is handed on is what was appended, byte for byte, across chunk boundaries and turns', async () => {
    const piece = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 200_000 }).map((n) => new Uint8Array(n).fill(n % 251)));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.array(piece, { maxLength: 4 }), { maxLength: 30 }), { maxLength: 3 }), async (turns) => {
        const handed: Buffer[] = [];
        const buffer = new TurnBuffer((chunks) => handed.push(...chunks));
        const appended: Buffer[] = [];
        for (const turn of turns) {
          for (const pieces of turn) {
            const buffers = pieces.map((p) => Buffer.from(p));
            appended.push(...buffers);
            buffer.append(buffers);
          }
          await settle();
        }
        expect(Buffer.concat(handed).equals(Buffer.concat(appended))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
