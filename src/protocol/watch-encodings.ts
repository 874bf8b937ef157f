// Watch responses made from shared pieces, in each encoding that carries them: a member writes one response per
// watcher per revision, so an event is encoded once for every stream of an encoding (the hub hands all of them
// the same event object) and a revision's header once per stream; only the few fields between them are made
// per response. The gateway's JSON lines (`{"result":WatchResponse}` and a newline), and the WebSocket API's
// bare WatchResponse in JSON or msgpack (its frame envelope goes around the pieces).

import type { ResponseHeader } from './kv.js';
import { encodeHeader } from './json-header.js';
import { binaryInteger } from './json-scalars.js';
import { ENCODING_RESPONSE, MSGPACK_RESPONSE } from './json-value.js';
import { encodeResponseFields, encodeWatchEvent, encodeWatchEventText, type WatchResponseFields } from './json-watch.js';
import { arrayHeader, encodeWire, mapEntries, mapHeader } from './msgpack-wire.js';
import type { WatchEvent } from './watch.js';

export interface WatchResponseEncoding {
  /** One event's bytes, made once per event (cached for as long as the event object lives). */
  event(event: WatchEvent): Buffer;
  /** What every response of one revision shares: its header. */
  opening(header: ResponseHeader): Buffer;
  /** One response as pieces to be written in order: the shared opening and events, and the fields between. */
  pieces(opening: Buffer, fields: WatchResponseFields, events: readonly Buffer[]): Buffer[];
}

function cached(encode: (event: WatchEvent) => Buffer): (event: WatchEvent) => Buffer {
  const bytes = new WeakMap<WatchEvent, Buffer>();
  return (event) => {
    let encoded = bytes.get(event);
    if (encoded === undefined) bytes.set(event, (encoded = encode(event)));
    return encoded;
  };
}

const jsonEvent = cached((event) => Buffer.from(encodeWatchEventText(event)));
const COMMA = Buffer.from(',');
const EVENTS_OPEN = Buffer.from(',"events":[');

/** The JSON of a WatchResponse, with `before` in front of it and `after` behind (the line's wrapper). */
function jsonEncoding(before: string, after: string): WatchResponseEncoding {
  const close = Buffer.from(`}${after}`);
  const eventsClose = Buffer.from(`]}${after}`);
  return {
    event: jsonEvent,
    opening: (header) => Buffer.from(`${before}{"header":${JSON.stringify(encodeHeader(header, ENCODING_RESPONSE))}`),
    pieces(opening, fields, events) {
      const middle = encodeResponseFields(fields);
      const pieces = middle.length === 0 ? [opening] : [opening, middle];
      if (events.length === 0) {
        pieces.push(close);
        return pieces;
      }
      pieces.push(EVENTS_OPEN);
      events.forEach((event, i) => {
        if (i > 0) pieces.push(COMMA);
        pieces.push(event);
      });
      pieces.push(eventsClose);
      return pieces;
    },
  };
}

/** `POST /v3/watch` and etcd's websocket proxy: one `{"result":WatchResponse}` line each (the newline included). */
export const JSON_LINE_WATCH_RESPONSES = jsonEncoding('{"result":', '}\n');
/** A bare WatchResponse in JSON, as the WebSocket API's JSON frames carry it. */
export const JSON_WATCH_RESPONSES = jsonEncoding('', '');

const bufferOf = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const EVENTS_KEY = bufferOf(encodeWire('events'));

/** A WatchResponse as a msgpack map, as the WebSocket API's msgpack frames carry it: the map's entry count leads. */
export const MSGPACK_WATCH_RESPONSES: WatchResponseEncoding = {
  event: cached((event) => bufferOf(encodeWire(encodeWatchEvent(event, MSGPACK_RESPONSE)))),
  opening: (header) => bufferOf(mapEntries({ header: encodeHeader(header, MSGPACK_RESPONSE) })),
  pieces(opening, fields, events) {
    const middle: Record<string, unknown> = {};
    if (fields.watchId !== 0) middle['watch_id'] = fields.watchId < 0 ? fields.watchId : binaryInteger(fields.watchId);
    if (fields.created === true) middle['created'] = true;
    if (fields.canceled === true) middle['canceled'] = true;
    if (fields.compactRevision !== undefined && fields.compactRevision !== 0) middle['compact_revision'] = binaryInteger(fields.compactRevision);
    if (fields.cancelReason !== undefined && fields.cancelReason !== '') middle['cancel_reason'] = fields.cancelReason;
    if (fields.fragment === true) middle['fragment'] = true;
    const middleCount = Object.keys(middle).length;
    const pieces = [bufferOf(mapHeader(1 + middleCount + (events.length > 0 ? 1 : 0))), opening];
    if (middleCount > 0) pieces.push(bufferOf(mapEntries(middle)));
    if (events.length > 0) pieces.push(EVENTS_KEY, bufferOf(arrayHeader(events.length)), ...events);
    return pieces;
  },
};
