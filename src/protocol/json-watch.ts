// Watch requests and responses in the JSON of etcd 3.4's gateway (`POST /v3/watch`): each request is a
// WatchRequest (`{"create_request":{...}}`, `{"cancel_request":{"watch_id":"1"}}` or `{"progress_request":{}}`), and
// each response one line `{"result":{WatchResponse}}`, defaults left out as jsonpb does (a PUT event has no
// "type", watch 0 no "watch_id"). How responses are made from shared pieces is in watch-encodings.ts.

import type { KeyValue, ResponseHeader } from './kv.js';
import { decodeKeyValue, encodeKeyValue } from './json-kv-responses.js';
import { decodeHeader } from './json-header.js';
import { boolOf, countOf, enumOf, keyOf, listOf, stringOf, JsonWriter, type ProtoEnum } from './json-scalars.js';
import { ENCODING_RESPONSE, FieldReader, invalidField, type EncodeContext, type Field, type JsonObject } from './json-value.js';
import type { EventType, WatchCreateRequest, WatchEvent, WatchFilter } from './watch.js';

export const EVENT_TYPE: ProtoEnum<EventType> = { type: 'Event.EventType', values: ['PUT', 'DELETE'], names: ['PUT', 'DELETE'] };
export const WATCH_FILTER: ProtoEnum<WatchFilter> = { type: 'WatchCreateRequest.FilterType', values: ['NOPUT', 'NODELETE'], names: ['NOPUT', 'NODELETE'] };

export type WatchRequest =
  | { readonly createRequest: WatchCreateRequest }
  | { readonly cancelRequest: { readonly watchId: number } }
  | { readonly progressRequest: Record<string, never> };

/** What one watch response says besides its header and events (etcdserverpb.WatchResponse). */
export interface WatchResponseFields {
  /** -1 for a progress response to a progress request (one for the whole stream), as etcd 3.4 sends. */
  readonly watchId: number;
  readonly created?: boolean;
  readonly canceled?: boolean;
  readonly compactRevision?: number;
  readonly cancelReason?: string;
  readonly fragment?: boolean;
}

export interface WatchResponse extends WatchResponseFields {
  readonly header: ResponseHeader;
  readonly events: readonly WatchEvent[];
}

const ONE_OF = ['create_request', 'cancel_request', 'progress_request'] as const;

export function decodeWatchRequest(value: unknown): WatchRequest {
  const r = FieldReader.of(value, '', true, 'WatchRequest');
  const fields = ONE_OF.map((name) => [name, r.read(name)] as const).filter(([, field]) => field !== undefined);
  r.finish();
  if (fields.length !== 1) throw invalidField('body', `a WatchRequest holds exactly one of ${ONE_OF.join(', ')}`);
  const [name, field] = fields[0] as readonly [(typeof ONE_OF)[number], Field];
  if (name === 'create_request') return { createRequest: decodeCreate(field) };
  if (name === 'cancel_request') {
    const c = FieldReader.of(field.value, field.path, true, 'WatchCancelRequest');
    const watchId = countOf(c.read('watch_id'));
    c.finish();
    return { cancelRequest: { watchId } };
  }
  FieldReader.of(field.value, field.path, true, 'WatchProgressRequest').finish();
  return { progressRequest: {} };
}

function decodeCreate(field: Field): WatchCreateRequest {
  const r = FieldReader.of(field.value, field.path, true, 'WatchCreateRequest');
  const key = keyOf(r.read('key'));
  const rangeEnd = keyOf(r.read('range_end'));
  const startRevision = countOf(r.read('start_revision'));
  const progressNotify = boolOf(r.read('progress_notify'));
  const filters = listOf(r.read('filters'), (value, path) => enumOf({ value, path }, WATCH_FILTER));
  const prevKv = boolOf(r.read('prev_kv'));
  const watchId = countOf(r.read('watch_id'));
  const fragment = boolOf(r.read('fragment'));
  r.finish();
  return {
    key,
    ...(rangeEnd.length > 0 ? { rangeEnd } : {}),
    ...(startRevision !== 0 ? { startRevision } : {}),
    ...(progressNotify ? { progressNotify } : {}),
    ...(filters.length > 0 ? { filters } : {}),
    ...(prevKv ? { prevKv } : {}),
    ...(watchId !== 0 ? { watchId } : {}),
    ...(fragment ? { fragment } : {}),
  };
}

/** A WatchRequest as a client sends it; throws ErrInvalidField (ErrKeyTooLarge) on what a member would refuse to read. */
export function encodeWatchRequest(request: WatchRequest, context: EncodeContext): JsonObject {
  if ('createRequest' in request) {
    const create = request.createRequest;
    const writer = new JsonWriter('create_request', context)
      .key('key', create.key)
      .key('range_end', create.rangeEnd)
      .count('start_revision', create.startRevision)
      .bool('progress_notify', create.progressNotify)
      .list('filters', create.filters, (filter) => WATCH_FILTER.names[WATCH_FILTER.values.indexOf(filter)] ?? filter)
      .bool('prev_kv', create.prevKv)
      .count('watch_id', create.watchId)
      .bool('fragment', create.fragment);
    return { create_request: writer.json };
  }
  if ('cancelRequest' in request) return { cancel_request: new JsonWriter('cancel_request', context).count('watch_id', request.cancelRequest.watchId, true).json };
  return { progress_request: {} };
}

/** One event (mvccpb.Event) as a message, in JSON or (a binary context) for msgpack. */
export function encodeWatchEvent(event: WatchEvent, context: EncodeContext): JsonObject {
  const writer = new JsonWriter('event', context).enum('type', event.type, EVENT_TYPE);
  writer.message('kv', encodeKeyValue(event.kv, 'event.kv', context));
  if (event.prevKv !== undefined) writer.message('prev_kv', encodeKeyValue(event.prevKv, 'event.prev_kv', context));
  return writer.json;
}

/** One event's JSON text: made once, spliced into every response that carries the event. */
export function encodeWatchEventText(event: WatchEvent): string {
  return JSON.stringify(encodeWatchEvent(event, ENCODING_RESPONSE));
}

const EVENTS_OPEN = Buffer.from(',"events":[');
const LINE_CLOSE = Buffer.from('}}\n');
const EVENTS_LINE_CLOSE = Buffer.from(']}}\n');

const WATCH_ID_OPEN = Buffer.from(',"watch_id":"');
const WATCH_ID_FIELD_EXTRA_BYTES = WATCH_ID_OPEN.length + 1;

/** Decimal digits of a watch ID as its field shows them (0: none, the field is left out). */
function watchIdDigits(watchId: number): number {
  let digits = 0;
  for (let rest = watchId; rest >= 1; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/**
 * The response lines of one delivery to several watches of a stream, which differ only by watch ID: `opening`,
 * `,"watch_id":"<id>"` (none for watch 0) and `close` each, in the order of `watchIds` (non-negative integers).
 * The bytes equal those of encodeResponseFields({ watchId }) between the two, line by line; they are made by
 * writing one line, copying it by doubling over a run of IDs of one width, and writing each line's digits, into
 * memory from `allocate` (which the caller may reuse once the lines are written out).
 */
export function encodeEventLines(opening: Buffer, watchIds: readonly number[], close: Buffer, allocate: (bytes: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const fixedBytes = opening.length + close.length;
  let total = 0;
  for (const watchId of watchIds) {
    const digits = watchIdDigits(watchId);
    total += fixedBytes + (digits === 0 ? 0 : WATCH_ID_FIELD_EXTRA_BYTES + digits);
  }
  const out = allocate(total);
  const digitsAt = opening.length + WATCH_ID_OPEN.length;
  let at = 0;
  for (let first = 0; first < watchIds.length; ) {
    const digits = watchIdDigits(watchIds[first] as number);
    let end = first + 1;
    while (end < watchIds.length && watchIdDigits(watchIds[end] as number) === digits) end++;
    const lineBytes = fixedBytes + (digits === 0 ? 0 : WATCH_ID_FIELD_EXTRA_BYTES + digits);
    opening.copy(out, at);
    if (digits > 0) {
      WATCH_ID_OPEN.copy(out, at + opening.length);
      out[at + digitsAt + digits] = 0x22;
    }
    close.copy(out, at + lineBytes - close.length);
    const count = end - first;
    for (let made = 1; made < count; ) {
      const copied = Math.min(made, count - made);
      out.copyWithin(at + made * lineBytes, at, at + copied * lineBytes);
      made += copied;
    }
    if (digits > 0) {
      for (let i = first; i < end; i++) {
        let rest = watchIds[i] as number;
        for (let p = at + (i - first) * lineBytes + digitsAt + digits - 1; p >= at + (i - first) * lineBytes + digitsAt; p--) {
          out[p] = 0x30 + (rest % 10);
          rest = Math.floor(rest / 10);
        }
      }
    }
    at += count * lineBytes;
    first = end;
  }
  return out;
}

/** The fields of a response between its header and its events (`,"watch_id":"7"` for most lines; empty for watch 0). */
export function encodeResponseFields(fields: WatchResponseFields): Buffer {
  let middle = '';
  if (fields.watchId !== 0) middle += `,"watch_id":"${fields.watchId}"`;
  if (fields.created === true) middle += ',"created":true';
  if (fields.canceled === true) middle += ',"canceled":true';
  if (fields.compactRevision !== undefined && fields.compactRevision !== 0) middle += `,"compact_revision":"${fields.compactRevision}"`;
  if (fields.cancelReason !== undefined && fields.cancelReason !== '') middle += `,"cancel_reason":${JSON.stringify(fields.cancelReason)}`;
  if (fields.fragment === true) middle += ',"fragment":true';
  return Buffer.from(middle);
}

/**
 * The end of a response line: its events (encodeWatchEventBytes each), the closing braces and the newline. A line
 * is the revision's opening (encodeResponseOpening), its fields (encodeResponseFields) and this, which every
 * watcher that gets the same events shares.
 */
export function encodeResponseClose(events: readonly Buffer[]): Buffer {
  if (events.length === 0) return LINE_CLOSE;
  let bytes = EVENTS_OPEN.length + EVENTS_LINE_CLOSE.length + events.length - 1;
  for (const event of events) bytes += event.length;
  const close = Buffer.allocUnsafe(bytes);
  let at = EVENTS_OPEN.copy(close, 0);
  events.forEach((event, i) => {
    if (i > 0) close[at++] = 0x2c;
    at += event.copy(close, at);
  });
  EVENTS_LINE_CLOSE.copy(close, at);
  return close;
}

/** Reads one response line's parsed JSON (`{"result":...}`); an `{"error":...}` line is returned as such. */
export function decodeWatchResponse(value: unknown): WatchResponse | { readonly error: unknown } {
  const top = FieldReader.of(value, '', false, 'watch response line');
  const error = top.read('error');
  if (error !== undefined) return { error: error.value };
  const resultField = top.read('result');
  if (resultField === undefined) throw invalidField('body', 'a watch response line holds "result" or "error"');
  return decodeWatchResponseMessage(resultField.value, resultField.path);
}

/** One WatchResponse message (in JSON, or as msgpack decoded it). */
export function decodeWatchResponseMessage(value: unknown, path: string): WatchResponse {
  const r = FieldReader.of(value, path, false, 'WatchResponse');
  const watchIdField = r.read('watch_id');
  const response: WatchResponse = {
    header: decodeHeader(r.read('header')),
    watchId: signedOf(watchIdField),
    created: boolOf(r.read('created')),
    canceled: boolOf(r.read('canceled')),
    compactRevision: countOf(r.read('compact_revision')),
    cancelReason: r.read('cancel_reason') === undefined ? '' : stringOf(r.read('cancel_reason')),
    fragment: boolOf(r.read('fragment')),
    events: listOf(r.read('events'), (event, path) => decodeEvent(event, path)),
  };
  return response;
}

function decodeEvent(value: unknown, path: string): WatchEvent {
  const r = FieldReader.of(value, path, false, 'Event');
  const type = enumOf(r.read('type'), EVENT_TYPE);
  const kvField = r.read('kv');
  const prevField = r.read('prev_kv');
  const kv: KeyValue = kvField === undefined ? emptyKv() : decodeKeyValue(kvField.value, kvField.path);
  return prevField === undefined ? { type, kv } : { type, kv, prevKv: decodeKeyValue(prevField.value, prevField.path) };
}

/** watch_id of a response: an int64 that may be -1. */
function signedOf(field: Field | undefined): number {
  if (field === undefined) return 0;
  const { value, path } = field;
  const text = typeof value === 'number' || typeof value === 'bigint' ? String(value) : value;
  if (typeof text !== 'string' || !/^-?(?:0|[1-9][0-9]{0,15})$/.test(text)) throw invalidField(path, 'expected a watch ID');
  return Number(text);
}

const emptyKv = (): KeyValue => ({ key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0 });
