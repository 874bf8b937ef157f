// Base64 as etcd's gateway reads it (Go's base64.StdEncoding): held to Node's Buffer on canonical text, and
// to Go's rules on the rest (padding required, standard alphabet only, CR and LF skipped, spare bits ignored).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64, encodeBase64Portable } from '../../src/protocol/base64.js';

const bytesOf = (text: string): number[] | undefined => {
  const bytes = decodeBase64(text);
  return bytes === undefined ? undefined : [...bytes];
};

describe('encoding', () => {
  it('matches Buffer, with and without it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const expected = Buffer.from(bytes).toString('base64');
        expect(encodeBase64Portable(bytes)).toBe(expected);
        expect(encodeBase64(bytes)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes a view into a larger buffer, not the whole buffer', () => {
    const whole = new Uint8Array([1, 2, 3, 4, 5, 6]);
    expect(encodeBase64(whole.subarray(2, 5))).toBe(Buffer.from([3, 4, 5]).toString('base64'));
    expect(encodeBase64Portable(whole.subarray(2, 5))).toBe(Buffer.from([3, 4, 5]).toString('base64'));
  });
});

describe('decoding', () => {
  it('gives back what was encoded, as a plain Uint8Array', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const decoded = decodeBase64(encodeBase64(bytes));
        expect(decoded).toBeInstanceOf(Uint8Array);
        expect(decoded && Buffer.from(decoded).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['', []],
    ['Zg==', [0x66]],
    ['Zm8=', [0x66, 0x6f]],
    ['Zm9v', [0x66, 0x6f, 0x6f]],
    ['AA==', [0]],
    ['+/+/', [0xfb, 0xff, 0xbf]],
    // Go ignores CR and LF anywhere, as MIME line breaks.
    ['Zm9v\r\nYmFy', [0x66, 0x6f, 0x6f, 0x62, 0x61, 0x72]],
    ['Zg=\n=', [0x66]],
    ['\nZm9v\n', [0x66, 0x6f, 0x6f]],
    // Go's StdEncoding is not strict: bits after the last whole byte are dropped.
    ['Zh==', [0x66]],
    ['Zm9=', [0x66, 0x6f]],
  ])('reads %j', (text, expected) => {
    expect(bytesOf(text)).toEqual(expected);
  });

  it.each([
    ['Zg', 'padding missing'],
    ['Zm8', 'padding missing'],
    ['Z', 'a lone character'],
    ['Zg=', 'half the padding'],
    ['Z===', 'three padding characters'],
    ['====', 'padding only'],
    ['Zg==Zg==', 'padding in the middle'],
    ['Zm9v=', 'padding after a whole quantum'],
    ['_-8=', 'the URL-safe alphabet'],
    ['Zm9 v', 'a space'],
    ['Zm9\tv', 'a tab'],
    ['Zm9v\u00e9AAA', 'a character outside ASCII'],
    ['Zm9v!AAA', 'punctuation'],
  ])('refuses %j (%s)', (text) => {
    expect(decodeBase64(text)).toBeUndefined();
  });

  it('never accepts text that Buffer would read differently, when it accepts it at all', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n'.split('');
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }), (chars) => {
        const text = chars.join('');
        const decoded = decodeBase64(text);
        const canonical = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text.replace(/\n/g, ''));
        expect(decoded !== undefined).toBe(canonical);
        if (decoded !== undefined) expect(Buffer.from(decoded).equals(Buffer.from(text, 'base64'))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
