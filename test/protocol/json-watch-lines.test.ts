// The response lines a member writes for one delivery to many watches of a stream: made together (by doubling a
// first line and writing each line's digits), they must be byte for byte the lines made one by one.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeWatchResponse, encodeEventLines, encodeResponseClose, encodeResponseFields } from '../../src/protocol/json-watch.js';
import { JSON_LINE_WATCH_RESPONSES } from '../../src/protocol/watch-encodings.js';

const opening = JSON_LINE_WATCH_RESPONSES.opening({ clusterId: '00000000000000a1', memberId: '00000000000000b2', revision: 42, raftTerm: 3 });
const event = JSON_LINE_WATCH_RESPONSES.event({ type: 'PUT', kv: { key: Buffer.from('k/1'), createRevision: 40, modRevision: 42, version: 2, value: Buffer.from('v'), lease: 0 } });
const close = encodeResponseClose([event, event]);

const oneByOne = (watchIds: readonly number[]) => Buffer.concat(watchIds.flatMap((watchId) => [opening, encodeResponseFields({ watchId }), close]));

describe('encodeEventLines', () => {
  it('makes the lines one by one would, for IDs of every width, in their order', () => {
    const ids = [0, 1, 9, 10, 11, 99, 100, 7, 0, 123456, 9007199254740991, 5, 5];
    expect(encodeEventLines(opening, ids, close).equals(oneByOne(ids))).toBe(true);
    const lines = encodeEventLines(opening, ids, close).toString().split('\n').slice(0, -1);
    expect(lines.map((line) => (decodeWatchResponse(JSON.parse(line)) as { watchId: number }).watchId)).toEqual(ids);
  });

  it('property: equal to the lines made one by one', () => {
    const id = fc.oneof(fc.nat({ max: 20 }), fc.nat({ max: 20_000 }), fc.maxSafeNat());
    fc.assert(
      fc.property(fc.array(id, { maxLength: 60 }), fc.boolean(), (ids, withEvents) => {
        const end = withEvents ? close : encodeResponseClose([]);
        const made = encodeEventLines(opening, ids, end);
        expect(made.equals(Buffer.concat(ids.flatMap((watchId) => [opening, encodeResponseFields({ watchId }), end])))).toBe(true);
      }),
    );
  });
});
