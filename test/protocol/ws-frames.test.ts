// The WebSocket API's frames: every request and response of the table round-trips through a frame in both
// encodings, with the same decoders as the JSON gateway; whatever bytes come in, decoding never throws and gives
// either a frame or a refusal (an ID to answer under, or a close code); watch responses made from shared pieces
// read back as the same response in msgpack and in JSON.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConclaveError, ERRORS, type ErrorCode } from '../../src/protocol/errors.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, type Wire } from '../../src/protocol/json.js';
import { decodeWatchResponseMessage, type WatchResponseFields } from '../../src/protocol/json-watch.js';
import { decodeWire, encodeWire } from '../../src/protocol/msgpack-wire.js';
import type { WatchEvent } from '../../src/protocol/watch.js';
import { JSON_WATCH_RESPONSES, MSGPACK_WATCH_RESPONSES } from '../../src/protocol/watch-encodings.js';
import { decodeClientFrame, decodeServerFrame, encodeClientFrame, encodeServerFrame, messageFrameEnds, WS_CLOSE } from '../../src/protocol/ws-frames.js';
import { header, keyValue, METHODS, requests, responses } from './arbitraries.js';

const WIRES: readonly Wire[] = ['json', 'msgpack'];
const CLOSE_CODES = new Set<number>(Object.values(WS_CLOSE));
const frameBytes = (encoded: Uint8Array | string) => (typeof encoded === 'string' ? Buffer.from(encoded) : encoded);
const isBinary = (wire: Wire) => wire === 'msgpack';

/** A decoded frame is a frame, or a refusal that says how to answer it: never an exception. */
function expectWellFormedOutcome(wire: Wire, data: Uint8Array | string, binary: boolean): void {
  const decoded = decodeClientFrame(wire, data, binary);
  if (decoded.ok) return;
  expect(decoded.error).toBeInstanceOf(ConclaveError);
  if (decoded.id === undefined) expect(CLOSE_CODES.has(decoded.closeCode)).toBe(true);
  else expect(decoded.id).toBeGreaterThanOrEqual(0);
}

describe.each(WIRES)('frames in %s', (wire) => {
  it('carry every request of the table to the same request', () => {
    for (const method of METHODS) {
      fc.assert(
        fc.property(requests[method], fc.nat({ max: 0xffff_ffff }), (request, id) => {
          const data = encodeClientFrame(wire, { type: 'call', id, method, request: encodeRequest(method, request as never, wire) });
          const decoded = decodeClientFrame(wire, frameBytes(data), isBinary(wire));
          if (!decoded.ok || decoded.frame.type !== 'call') throw new Error(`not a call: ${JSON.stringify(decoded)}`);
          expect(decoded.frame).toMatchObject({ id, method });
          expect(decodeRequest(method, decoded.frame.request)).toEqual(request);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('carry every response of the table to the same header and response', () => {
    for (const method of METHODS) {
      fc.assert(
        fc.property(header, responses[method], fc.nat({ max: 0xffff_ffff }), (head, response, id) => {
          const data = encodeServerFrame(wire, { type: 'response', id, response: encodeResponse(method, head, response as never, wire) });
          const decoded = decodeServerFrame(wire, frameBytes(data), isBinary(wire));
          if (!decoded.ok || decoded.frame.type !== 'response') throw new Error(`not a response: ${JSON.stringify(decoded)}`);
          expect(decodeResponse(method, decoded.frame.response)).toEqual({ header: head, response });
        }),
        { numRuns: 60 },
      );
    }
  });

  it('carry errors with their code and detail', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      for (const error of [new ConclaveError(code), new ConclaveError(code, 'key: 20000 bytes')]) {
        const decoded = decodeServerFrame(wire, frameBytes(encodeServerFrame(wire, { type: 'error', id: 3, error })), isBinary(wire));
        if (!decoded.ok || decoded.frame.type !== 'error') throw new Error('not an error frame');
        expect([decoded.frame.error.code, decoded.frame.error.message]).toEqual([error.code, error.message]);
      }
    }
  });

  it('never throw on arbitrary bytes or text, of either kind', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 64 })), fc.boolean(), (data, binary) => expectWellFormedOutcome(wire, data, binary)),
      { numRuns: 500 },
    );
  });

  it('never throw on arbitrary values, and refuse them under their ID when they have one', () => {
    const envelope = fc.record(
      {
        id: fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.integer(), fc.string(), fc.constant(null)),
        type: fc.oneof(fc.constantFrom('call', 'open', 'send', 'close', 'response'), fc.string()),
        method: fc.oneof(fc.constantFrom(...METHODS, 'watch'), fc.string(), fc.integer()),
        request: fc.jsonValue(),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(envelope, fc.jsonValue()), (value) => {
        const data = wire === 'json' ? JSON.stringify(value) ?? 'null' : encodeWire(value);
        expectWellFormedOutcome(wire, data, isBinary(wire));
        const decoded = decodeClientFrame(wire, data, isBinary(wire));
        // A frame taken is then read by the method's decoder, which only ever throws ConclaveErrors.
        if (decoded.ok && decoded.frame.type === 'call' && (METHODS as readonly string[]).includes(decoded.frame.method)) {
          try {
            decodeRequest(decoded.frame.method as (typeof METHODS)[number], decoded.frame.request);
          } catch (error) {
            expect(error).toBeInstanceOf(ConclaveError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throw on a valid frame with bytes flipped, cut or appended', () => {
    const valid = frameBytes(encodeClientFrame(wire, { type: 'call', id: 7, method: 'put', request: encodeRequest('put', { key: new Uint8Array([1, 2]), value: new Uint8Array([3]) }, wire) }));
    fc.assert(
      fc.property(fc.nat({ max: valid.length - 1 }), fc.nat({ max: 255 }), fc.nat({ max: valid.length }), fc.uint8Array({ maxLength: 4 }), (at, byte, cut, tail) => {
        const flipped = Uint8Array.from(valid);
        flipped[at] = byte;
        expectWellFormedOutcome(wire, flipped, isBinary(wire));
        expectWellFormedOutcome(wire, valid.subarray(0, cut), isBinary(wire));
        expectWellFormedOutcome(wire, Buffer.concat([valid, tail]), isBinary(wire));
      }),
      { numRuns: 500 },
    );
  });
});

describe('what decoding refuses', () => {
  it('a frame of the other encoding closes with 1003; one that is not a value with 1007; one without an ID with 1002', () => {
    expect(decodeClientFrame('json', encodeWire({ id: 1 }), true)).toMatchObject({ ok: false, id: undefined, closeCode: WS_CLOSE.unsupportedData });
    expect(decodeClientFrame('msgpack', '{"id":1}', false)).toMatchObject({ ok: false, id: undefined, closeCode: WS_CLOSE.unsupportedData });
    expect(decodeClientFrame('json', '{"id":', false)).toMatchObject({ ok: false, id: undefined, closeCode: WS_CLOSE.invalidPayload });
    expect(decodeClientFrame('msgpack', Uint8Array.of(0x81), true)).toMatchObject({ ok: false, id: undefined, closeCode: WS_CLOSE.invalidPayload });
    expect(decodeClientFrame('json', '{"type":"close"}', false)).toMatchObject({ ok: false, id: undefined, closeCode: WS_CLOSE.protocolError });
    expect(decodeClientFrame('json', '{"id":-1,"type":"close"}', false)).toMatchObject({ ok: false, id: undefined });
  });

  it('an unknown envelope field, a missing method or request, under the frame’s ID', () => {
    expect(decodeClientFrame('json', '{"id":4,"type":"close","x":1}', false)).toMatchObject({ ok: false, id: 4, error: { code: 'ErrUnknownField', detail: 'x' } });
    expect(decodeClientFrame('json', '{"id":4,"type":"call"}', false)).toMatchObject({ ok: false, id: 4, error: { code: 'ErrInvalidField' } });
    expect(decodeClientFrame('json', '{"id":4,"type":"send"}', false)).toMatchObject({ ok: false, id: 4, error: { code: 'ErrInvalidField' } });
    expect(decodeClientFrame('msgpack', encodeWire({ id: 4, type: 'call', method: 'put', request: { key: 'not bin' } }), true)).toMatchObject({ ok: true });
  });

  it('msgpack requests as strictly as JSON: a wrong type or an unknown field names its path', () => {
    const frame = (request: unknown) => {
      const decoded = decodeClientFrame('msgpack', encodeWire({ id: 1, type: 'call', method: 'txn', request }), true);
      if (!decoded.ok || decoded.frame.type !== 'call') throw new Error('not a call');
      return () => decodeRequest('txn', decoded.frame.type === 'call' ? decoded.frame.request : undefined);
    };
    expect(frame({ success: [{ request_put: { key: true } }] })).toThrow(expect.objectContaining({ code: 'ErrInvalidField', detail: expect.stringContaining('success[0].request_put.key') }));
    expect(frame({ success: [{ request_put: { key: Uint8Array.of(1), lease: 1.5 } }] })).toThrow(expect.objectContaining({ code: 'ErrInvalidField' }));
    expect(frame({ success: [{ request_put: { key: Uint8Array.of(1), nope: 1 } }] })).toThrow(expect.objectContaining({ code: 'ErrUnknownField', detail: 'success[0].request_put.nope' }));
    expect(frame({ compare: [{ key: Uint8Array.of(1), target: 'MOD', mod_revision: 2n ** 60n }] })).toThrow(expect.objectContaining({ code: 'ErrInvalidField', detail: expect.stringContaining('above 2^53-1') }));
  });

  it('a bin is copied out of its frame, so that a key kept does not keep the frame', () => {
    const data = encodeWire({ id: 1, type: 'call', method: 'put', request: { key: Uint8Array.of(9, 9), value: new Uint8Array(1000) } });
    const decoded = decodeClientFrame('msgpack', data, true);
    if (!decoded.ok || decoded.frame.type !== 'call') throw new Error('not a call');
    const request = decodeRequest('put', decoded.frame.request);
    expect(request.key.buffer.byteLength).toBe(2);
  });
});

describe('watch responses from shared pieces', () => {
  const event: fc.Arbitrary<WatchEvent> = fc.record({ type: fc.constantFrom('PUT' as const, 'DELETE' as const), kv: keyValue, prevKv: keyValue }, { requiredKeys: ['type', 'kv'] });
  const fields: fc.Arbitrary<WatchResponseFields> = fc.record(
    {
      watchId: fc.integer({ min: -1, max: 2 ** 40 }),
      created: fc.boolean(),
      canceled: fc.boolean(),
      compactRevision: fc.nat(),
      cancelReason: fc.string(),
      fragment: fc.boolean(),
    },
    { requiredKeys: ['watchId'] },
  );

  it('read back as the same WatchResponse in msgpack and in JSON, inside a message frame', () => {
    fc.assert(
      fc.property(header, fields, fc.array(event, { maxLength: 20 }), fc.nat({ max: 0xffff_ffff }), (head, f, events, id) => {
        const decodedIn = (wire: Wire) => {
          const encoding = wire === 'json' ? JSON_WATCH_RESPONSES : MSGPACK_WATCH_RESPONSES;
          const pieces = encoding.pieces(encoding.opening(head), f, events.map((e) => encoding.event(e)));
          const ends = messageFrameEnds(wire, id);
          const data = Buffer.concat([ends.opening, ...pieces, ...(ends.closing === undefined ? [] : [ends.closing])]);
          const decoded = decodeServerFrame(wire, data, isBinary(wire));
          if (!decoded.ok || decoded.frame.type !== 'message') throw new Error(`not a message: ${JSON.stringify(decoded)}`);
          expect(decoded.frame.id).toBe(id);
          return decodeWatchResponseMessage(decoded.frame.response, 'response');
        };
        const fromJson = decodedIn('json');
        expect(decodedIn('msgpack')).toEqual(fromJson);
        expect(fromJson.header).toEqual(head);
        expect(fromJson.events).toEqual(events.map((e) => (e.prevKv === undefined ? e : { ...e })));
      }),
      { numRuns: 200 },
    );
  });

  it('encode an event once per encoding', () => {
    const e: WatchEvent = { type: 'PUT', kv: { key: Uint8Array.of(1), createRevision: 2, modRevision: 2, version: 1, value: Uint8Array.of(2), lease: 0 } };
    expect(MSGPACK_WATCH_RESPONSES.event(e)).toBe(MSGPACK_WATCH_RESPONSES.event(e));
    expect(JSON_WATCH_RESPONSES.event(e)).toBe(JSON_WATCH_RESPONSES.event(e));
    expect(decodeWire(new Uint8Array(MSGPACK_WATCH_RESPONSES.event(e)))).toEqual({ kv: { key: Uint8Array.of(1), create_revision: 2, mod_revision: 2, version: 1, value: Uint8Array.of(2) } });
  });
});
