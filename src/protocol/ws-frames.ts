// The frames of Conclave's WebSocket API (docs/api.md, "WebSocket API"). One connection carries any number of calls
// and streams at once, each under an ID the client picks. A frame is one object, the same in both encodings
// (msgpack in binary frames, JSON in text frames, chosen at connect time):
//
//   client -> member   {type:"call", id, method, request}     one call of the method table (src/protocol/api.ts)
//                      {type:"open", id, method, request?}    opens a stream (watch), optionally with its first message
//                      {type:"send", id, request}             one more message on an open stream
//                      {type:"close", id}                     ends a stream
//   member -> client   {type:"response", id, response}        a call's answer (the gateway's response, header included)
//                      {type:"message", id, response}         one message of a stream
//                      {type:"error", id, error:{code,message}}  a call failed (it ends), or a stream's message could not be taken (the stream goes on)
//                      {type:"closed", id, error?}             a stream ended (after a close, or on the member's side)
//
// Requests and responses are the JSON gateway's messages (src/protocol/json.ts), in msgpack with bytes as bin
// and integers as integers. The envelope is read as strictly as a request: an unknown field is ErrUnknownField.

import { ConclaveError, ERRORS, isErrorCode } from './errors.js';
import { parseJsonBody } from './json-errors.js';
import { describeJson, FieldReader, invalidField, type Field, type Json, type Wire } from './json-value.js';
import { decodeWire, encodeWire } from './msgpack-wire.js';

/** The WebSocket API's path; the encoding is the subprotocol (WS_SUBPROTOCOLS) or `?encoding=json|msgpack`. */
export const WS_API_PATH = '/v3/conclave';

export const WS_SUBPROTOCOLS: { readonly [W in Wire]: string } = { msgpack: 'conclave.msgpack', json: 'conclave.json' };

/** How a connection ends, as its close code says. */
export const WS_CLOSE = {
  normal: 1000,
  /** The member is stopping. */
  goingAway: 1001,
  /** A frame without a usable ID, or with the ID of a call or stream still in progress. */
  protocolError: 1002,
  /** A text frame on a msgpack connection, a binary frame on a JSON one. */
  unsupportedData: 1003,
  /** A frame that is not one JSON or msgpack value. */
  invalidPayload: 1007,
  /** A frame over wsApiLimits.maxOversizedFrameBytes, or over maxFrameBytes with no ID to answer. */
  messageTooBig: 1009,
  internalError: 1011,
  /** The client let more than wsApiLimits.maxBufferedBytes queue up unread. */
  tooSlow: 4001,
} as const;

/** IDs are chosen by the client, from 0 to 2^32-1; an ID is free again once its call or stream has ended. */
export const MAX_FRAME_ID = 0xffff_ffff;

export type ClientFrame =
  | { readonly type: 'call'; readonly id: number; readonly method: string; readonly request: unknown }
  | { readonly type: 'open'; readonly id: number; readonly method: string; readonly request?: unknown }
  | { readonly type: 'send'; readonly id: number; readonly request: unknown }
  | { readonly type: 'close'; readonly id: number };

export type ServerFrame =
  | { readonly type: 'response' | 'message'; readonly id: number; readonly response: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: ConclaveError }
  | { readonly type: 'closed'; readonly id: number; readonly error?: ConclaveError };

/**
 * A frame that could not be taken. With an ID it is answered with an error frame under that ID and the
 * connection goes on; without one the connection closes with `closeCode`.
 */
export interface FrameRefusal {
  readonly id: number | undefined;
  readonly error: ConclaveError;
  readonly closeCode: number;
}

export type Decoded<F> = { readonly ok: true; readonly frame: F } | ({ readonly ok: false } & FrameRefusal);

const CLIENT_TYPES = ['call', 'open', 'send', 'close'] as const;
const SERVER_TYPES = ['response', 'message', 'error', 'closed'] as const;

const refusal = (id: number | undefined, error: ConclaveError, closeCode: number = WS_CLOSE.protocolError) => ({ ok: false, id, error, closeCode }) as const;

/** The value a frame holds, or why it holds none; the frame's kind must be its connection's encoding. */
function parseFrame(wire: Wire, data: Uint8Array | string, isBinary: boolean): { ok: true; value: unknown } | { ok: false; error: ConclaveError; closeCode: number } {
  if (isBinary !== (wire === 'msgpack')) {
    const expected = wire === 'msgpack' ? 'binary frames of msgpack' : 'text frames of JSON';
    return { ok: false, error: new ConclaveError('ErrInvalidFrame', `a ${isBinary ? 'binary' : 'text'} frame on a ${wire} connection, which takes ${expected}`), closeCode: WS_CLOSE.unsupportedData };
  }
  try {
    if (wire === 'json') return { ok: true, value: parseJsonBody(typeof data === 'string' ? data : new TextDecoder().decode(data)) };
    return { ok: true, value: decodeWire(typeof data === 'string' ? new TextEncoder().encode(data) : data) };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: new ConclaveError('ErrInvalidFrame', `not one ${wire} value: ${detail}`), closeCode: WS_CLOSE.invalidPayload };
  }
}

function idOf(field: Field | undefined): number | undefined {
  if (field === undefined) return undefined;
  const value = typeof field.value === 'bigint' ? Number(field.value) : field.value;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_FRAME_ID ? value : undefined;
}

function requiredString(reader: FieldReader, name: string): string {
  const field = reader.read(name);
  if (field === undefined) throw invalidField(name, 'missing');
  if (typeof field.value !== 'string') throw invalidField(field.path, `expected a string, got ${describeJson(field.value)}`);
  return field.value;
}

function typeOf<T extends string>(reader: FieldReader, types: readonly T[]): T {
  const type = requiredString(reader, 'type');
  if (!(types as readonly string[]).includes(type)) throw invalidField('type', `expected one of ${types.join(', ')}, got ${JSON.stringify(type.slice(0, 40))}`);
  return type as T;
}

/** Reads the envelope: its ID first, so that whatever else is wrong with the frame can be answered under it. */
function readEnvelope<F>(wire: Wire, data: Uint8Array | string, isBinary: boolean, strict: boolean, read: (reader: FieldReader, id: number) => F): Decoded<F> {
  const parsed = parseFrame(wire, data, isBinary);
  if (!parsed.ok) return refusal(undefined, parsed.error, parsed.closeCode);
  let reader: FieldReader;
  try {
    reader = FieldReader.of(parsed.value, '', strict, 'frame');
  } catch (error) {
    return refusal(undefined, error as ConclaveError);
  }
  const id = idOf(reader.read('id'));
  if (id === undefined) return refusal(undefined, new ConclaveError('ErrInvalidFrame', `a frame needs an id from 0 to ${MAX_FRAME_ID}`));
  try {
    const frame = read(reader, id);
    reader.finish();
    return { ok: true, frame };
  } catch (error) {
    return refusal(id, error instanceof ConclaveError ? error : new ConclaveError('ErrInvalidFrame', String(error)));
  }
}

/** The member's side: one frame from a client. Never throws. */
export function decodeClientFrame(wire: Wire, data: Uint8Array | string, isBinary: boolean): Decoded<ClientFrame> {
  return readEnvelope(wire, data, isBinary, true, (reader, id): ClientFrame => {
    const type = typeOf(reader, CLIENT_TYPES);
    switch (type) {
      case 'call':
      case 'open': {
        const method = requiredString(reader, 'method');
        const request = reader.read('request');
        if (type === 'call') return { type, id, method, request: request?.value ?? {} };
        return request === undefined ? { type, id, method } : { type, id, method, request: request.value };
      }
      case 'send': {
        const request = reader.read('request');
        if (request === undefined) throw invalidField('request', 'missing');
        return { type, id, request: request.value };
      }
      case 'close':
        return { type, id };
    }
  });
}

/** The ID of a frame too large to be taken, to answer it under; undefined when it has none (or is not one value). */
export function frameIdOf(wire: Wire, data: Uint8Array | string, isBinary: boolean): number | undefined {
  const parsed = parseFrame(wire, data, isBinary);
  if (!parsed.ok) return undefined;
  try {
    return idOf(FieldReader.of(parsed.value, '', false, 'frame').read('id'));
  } catch {
    return undefined;
  }
}

/** The client's side: one frame from the member (unknown fields skipped, as in responses). Never throws. */
export function decodeServerFrame(wire: Wire, data: Uint8Array | string, isBinary: boolean): Decoded<ServerFrame> {
  return readEnvelope(wire, data, isBinary, false, (reader, id): ServerFrame => {
    const type = typeOf(reader, SERVER_TYPES);
    switch (type) {
      case 'response':
      case 'message': {
        const response = reader.read('response');
        if (response === undefined) throw invalidField('response', 'missing');
        return { type, id, response: response.value };
      }
      case 'error':
        return { type, id, error: decodeFrameError(reader.read('error')) };
      case 'closed': {
        const error = reader.read('error');
        return error === undefined ? { type, id } : { type, id, error: decodeFrameError(error) };
      }
    }
  });
}

/** An error as frames carry it: our code, and the whole message (the code's message and the detail). */
export function encodeFrameError(error: ConclaveError): Json {
  return { code: error.code, message: error.message };
}

function decodeFrameError(field: Field | undefined): ConclaveError {
  if (field === undefined) throw invalidField('error', 'missing');
  const reader = FieldReader.of(field.value, field.path, false, 'error');
  const code = reader.read('code')?.value;
  const messageField = reader.read('message')?.value;
  const message = typeof messageField === 'string' ? messageField : '';
  if (!isErrorCode(code)) return new ConclaveError('ErrInternal', `${String(code)}: ${message}`);
  const prefix = `${ERRORS[code].message}: `;
  if (message.startsWith(prefix)) return new ConclaveError(code, message.slice(prefix.length));
  return message === ERRORS[code].message || message === '' ? new ConclaveError(code) : new ConclaveError(code, message);
}

/** One frame's bytes (msgpack) or text (JSON). `Json` values here are the codec's messages for the same encoding. */
export function encodeFrame(wire: Wire, frame: Record<string, Json>): Uint8Array | string {
  return wire === 'json' ? JSON.stringify(frame) : encodeWire(frame);
}

export function encodeServerFrame(wire: Wire, frame: ServerFrame): Uint8Array | string {
  switch (frame.type) {
    case 'response':
    case 'message':
      return encodeFrame(wire, { type: frame.type, id: frame.id, response: frame.response as Json });
    case 'error':
      return encodeFrame(wire, { type: 'error', id: frame.id, error: encodeFrameError(frame.error) });
    case 'closed':
      return encodeFrame(wire, frame.error === undefined ? { type: 'closed', id: frame.id } : { type: 'closed', id: frame.id, error: encodeFrameError(frame.error) });
  }
}

export function encodeClientFrame(wire: Wire, frame: ClientFrame): Uint8Array | string {
  const { type, id } = frame;
  switch (type) {
    case 'call':
      return encodeFrame(wire, { type, id, method: frame.method, request: frame.request as Json });
    case 'open':
      return encodeFrame(wire, frame.request === undefined ? { type, id, method: frame.method } : { type, id, method: frame.method, request: frame.request as Json });
    case 'send':
      return encodeFrame(wire, { type, id, request: frame.request as Json });
    case 'close':
      return encodeFrame(wire, { type, id });
  }
}

const JSON_MESSAGE_CLOSE = new TextEncoder().encode('}');

/**
 * The opening of a stream message frame whose response follows as pieces made elsewhere (a watch response
 * from shared bytes, watch-encodings.ts), and what closes it: `{"type":"message","id":N,"response":` ... `}` in
 * JSON, a map of three entries whose last value is the response in msgpack.
 */
export function messageFrameEnds(wire: Wire, id: number): { readonly opening: Uint8Array; readonly closing: Uint8Array | undefined } {
  if (wire === 'json') return { opening: new TextEncoder().encode(`{"type":"message","id":${id},"response":`), closing: JSON_MESSAGE_CLOSE };
  // A 3-entry map; encoding a placeholder response and dropping its byte keeps the key order exactly.
  const whole = encodeWire({ type: 'message', id, response: null });
  return { opening: whole.subarray(0, whole.length - 1), closing: undefined };
}
