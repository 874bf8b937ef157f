// Newline-delimited text read in chunks, wherever the chunks break.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineReader } from '../../src/util/lines.js';

describe('LineReader', () => {
  it('gives the same lines however the text is cut into chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '{', '"') }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (lines, cuts) => {
        const text = lines.map((line) => `${line}\n`).join('');
        const reader = new LineReader(1000);
        const read: string[] = [];
        let at = 0;
        for (const cut of [...cuts.map((c) => (text.length === 0 ? 0 : c % text.length)).sort((a, b) => a - b), text.length]) {
          read.push(...reader.push(text.slice(at, Math.max(at, cut))));
          at = Math.max(at, cut);
        }
        expect(read).toEqual(lines);
      }),
    );
  });

  it('refuses a line past its bound', () => {
    const reader = new LineReader(4);
    expect(reader.push('abc')).toEqual([]);
    expect(() => reader.push('de')).toThrow(RangeError);
  });
});
