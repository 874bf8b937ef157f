// The keys and records of the store's layout: history keys keep the order of (key, revision, sub) and fall inside the
// bounds of exactly the spans holding their key; revision keys sort by revision; records are plain msgpack.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { crc32c } from '../../src/state/kv-hash.js';
import { compareBytes, eventKey, eventRevision, historyBounds, historyKey, historyRevision, keyHistoryBounds, parseHistoryKey, spanOf } from '../../src/state/kv-layout.js';
import { decodeCurrent, decodeEvent, decodeMeta, encodeCurrent, encodeHistoryPut, encodeMeta, encodePutEvent, encodeTombstoneEvent } from '../../src/state/kv-records.js';

const key = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.uint8Array({ minLength: 1, maxLength: 4 }).map((k) => k.map((b) => (b % 3 === 0 ? 0 : b))));
const revision = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat());
const sub = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffffffff }));
const sign = (n: number) => Math.sign(n);
const inside = (k: Uint8Array, bounds: { start: Uint8Array; end: Uint8Array }) => compareBytes(bounds.start, k) <= 0 && compareBytes(k, bounds.end) < 0;

describe('history keys', () => {
  it('sort by key, then revision, then sub, and parse back', () => {
    fc.assert(
      fc.property(key, revision, sub, key, revision, sub, (k1, r1, s1, k2, r2, s2) => {
        const expected = sign(compareBytes(k1, k2)) || sign(r1 - r2) || sign(s1 - s2);
        expect(sign(compareBytes(historyKey(k1, r1, s1), historyKey(k2, r2, s2)))).toBe(expected);
        expect(parseHistoryKey(historyKey(k1, r1, s1))).toEqual({ key: k1, revision: r1, sub: s1 });
        expect(historyRevision(historyKey(k1, r1, s1))).toEqual({ revision: r1, sub: s1 });
      }),
      { numRuns: 2000 },
    );
  });

  it('fall inside the bounds of a span exactly when their key is in the span', () => {
    fc.assert(
      fc.property(key, revision, sub, key, fc.oneof(fc.constant(undefined), fc.constant(Uint8Array.of(0)), key), (k, r, s, start, end) => {
        const span = spanOf(end === undefined ? { key: start } : { key: start, rangeEnd: end });
        const inSpan = span.single ? compareBytes(k, span.key) === 0 : compareBytes(span.start, k) <= 0 && (span.end === null || compareBytes(k, span.end) < 0);
        expect(inside(historyKey(k, r, s), historyBounds(span))).toBe(inSpan);
      }),
      { numRuns: 2000 },
    );
  });

  it('of one key lie within its bounds, and those of no other key do', () => {
    fc.assert(
      fc.property(key, revision, sub, key, (k, r, s, other) => {
        expect(inside(historyKey(k, r, s), keyHistoryBounds(k))).toBe(true);
        expect(inside(historyKey(other, r, s), keyHistoryBounds(k))).toBe(compareBytes(other, k) === 0);
      }),
    );
  });
});

describe('event keys', () => {
  it('sort by revision then sub, and parse back', () => {
    fc.assert(
      fc.property(revision, sub, revision, sub, (r1, s1, r2, s2) => {
        expect(sign(compareBytes(eventKey(r1, s1), eventKey(r2, s2)))).toBe(sign(r1 - r2) || sign(s1 - s2));
        expect(eventRevision(eventKey(r1, s1))).toEqual({ revision: r1, sub: s1 });
      }),
      { numRuns: 1000 },
    );
  });
});

describe('records', () => {
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constant(new Uint8Array(700).fill(3)));
  const count = fc.oneof(fc.nat(200), fc.nat(70_000), fc.nat(), fc.maxSafeNat());

  it('are the msgpack arrays the layout says, read back alike', () => {
    fc.assert(
      fc.property(bytes, bytes, count, count, count, count, count, (k, v, a, b, c, d, e) => {
        expect(decode(encodeCurrent(a, b, c, d, e))).toEqual([a, b, c, d, e]);
        expect(decodeCurrent(k, encode([a, b, c, d, e]))).toEqual({ key: k, createRevision: a, modRevision: b, sub: c, version: d, lease: e });
        expect(decode(encodePutEvent(k, v, a, b, c, d, e))).toEqual([k, v, a, b, c, d, e]);
        expect(decodeEvent(encodePutEvent(k, v, a, b, c, d, e))).toEqual({ type: 'put', key: k, value: v, createRevision: a, version: b, lease: c, prevRevision: d, prevSub: e });
        expect(decodeEvent(encodeTombstoneEvent(k, a, b))).toEqual({ type: 'delete', key: k, prevRevision: a, prevSub: b });
        expect(decode(encodeHistoryPut(a, b, c))).toEqual([a, b, c]);
        expect(decodeMeta(encodeMeta({ revision: a, compactRevision: b }))).toEqual({ revision: a, compactRevision: b });
      }),
      { numRuns: 300 },
    );
  });

  it('hold values beyond 64 KiB (msgpack bin32)', () => {
    const big = new Uint8Array(70_000).map((_, i) => i % 251);
    const event = decodeEvent(encodePutEvent(Uint8Array.of(1), big, 2, 3, 4, 5, 6));
    expect(event.type === 'put' && Buffer.from(event.value).equals(Buffer.from(big))).toBe(true);
    const generic = decode(encodePutEvent(Uint8Array.of(1), big, 2, 3, 4, 5, 6)) as [Uint8Array, Uint8Array];
    expect(Buffer.from(generic[1]).equals(Buffer.from(big))).toBe(true);
  });

  it('refuse bytes that are not one', () => {
    expect(() => decodeCurrent(new Uint8Array(0), Uint8Array.of(0x01))).toThrow(RangeError);
    expect(() => decodeEvent(encode(['text', 1, 2]))).toThrow(RangeError);
  });
});

describe('crc32c', () => {
  it('gives the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });
});
