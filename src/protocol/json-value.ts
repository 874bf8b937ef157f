// The plumbing of the JSON codec: the JSON value type, paths for error details, and reading and writing the
// fields of one protobuf message as etcd's gateway (grpc-gateway with jsonpb, OrigName) names them.

import { ConclaveError, type ErrorCode } from './errors.js';

/**
 * A message as the codec reads and writes it. In JSON it holds JSON values only; in the WebSocket API's msgpack
 * frames (the same messages) bytes are bin (`Uint8Array`) and 64-bit integers beyond 2^32 are `bigint`.
 */
export type Json = null | boolean | number | string | bigint | Uint8Array | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The path of a field inside a message, as error details show it: `success[0].request_put.key`. */
export function fieldPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

export function itemPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** A malformed value: always ErrInvalidField, with a detail that starts with the field's path. */
export function invalidField(path: string, problem: string): ConclaveError {
  return new ConclaveError('ErrInvalidField', path === '' ? problem : `${path}: ${problem}`);
}

export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
    case 'bigint':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** protoc's JSON name of a field (what jsonpb also accepts on input): `range_end` is `rangeEnd`, `peerURLs` stays. */
function jsonNameOf(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, next: string) => next.toUpperCase());
}

const jsonNames = new Map<string, string>();
function cachedJsonName(protoName: string): string {
  let name = jsonNames.get(protoName);
  if (name === undefined) {
    name = jsonNameOf(protoName);
    jsonNames.set(protoName, name);
  }
  return name;
}

/** One field present in the input (never null: jsonpb reads a null field as absent). */
export interface Field {
  readonly value: unknown;
  readonly path: string;
}

/**
 * The fields of one message in the input. Requests are read strictly (a field this codec does not know is
 * ErrUnknownField, though grpc-gateway would drop it: a misspelt `range_end` must not silently read a single
 * key); responses skip unknown fields, as a protobuf reader does with fields of a newer server.
 */
export class FieldReader {
  private readonly taken = new Set<string>();

  private constructor(
    private readonly object: Record<string, unknown>,
    readonly path: string,
    private readonly strict: boolean,
  ) {}

  static of(value: unknown, path: string, strict: boolean, message: string): FieldReader {
    if (!isJsonObject(value)) throw invalidField(path === '' ? 'body' : path, `expected a JSON object (${message}), got ${describeJson(value)}`);
    return new FieldReader(value, path, strict);
  }

  /** The field under its proto name or its JSON name; undefined when absent or null. Both at once is refused. */
  read(protoName: string): Field | undefined {
    const jsonName = cachedJsonName(protoName);
    const hasProto = Object.hasOwn(this.object, protoName);
    const hasJson = jsonName !== protoName && Object.hasOwn(this.object, jsonName);
    this.taken.add(protoName);
    this.taken.add(jsonName);
    if (hasProto && hasJson) {
      throw invalidField(fieldPath(this.path, protoName), `given twice, as ${protoName} and as ${jsonName}`);
    }
    const name = hasJson ? jsonName : protoName;
    if (!hasProto && !hasJson) return undefined;
    const value = this.object[name];
    if (value === null) return undefined;
    return { value, path: fieldPath(this.path, name) };
  }

  /** Call after every known field was read: refuses (strict) any field left over. */
  finish(): void {
    if (!this.strict) return;
    for (const name of Object.keys(this.object)) {
      if (!this.taken.has(name)) throw new ConclaveError('ErrUnknownField', fieldPath(this.path, name));
    }
  }
}

/**
 * Where encoding errors go (a bad request from the caller is ErrInvalidField, a bad response a bug: ErrInternal),
 * and whether the message is written for msgpack (bytes as bin, integers as integers) instead of JSON.
 */
export interface EncodeContext {
  readonly code: ErrorCode;
  readonly binary?: boolean;
}

export const ENCODING_REQUEST: EncodeContext = { code: 'ErrInvalidField' };
export const ENCODING_RESPONSE: EncodeContext = { code: 'ErrInternal' };
export const MSGPACK_REQUEST: EncodeContext = { code: 'ErrInvalidField', binary: true };
export const MSGPACK_RESPONSE: EncodeContext = { code: 'ErrInternal', binary: true };

/** The two encodings of the same messages: the gateway's JSON, and msgpack on the WebSocket API. */
export type Wire = 'json' | 'msgpack';

export function requestContext(wire: Wire): EncodeContext {
  return wire === 'json' ? ENCODING_REQUEST : MSGPACK_REQUEST;
}

export function responseContext(wire: Wire): EncodeContext {
  return wire === 'json' ? ENCODING_RESPONSE : MSGPACK_RESPONSE;
}

export function encodingError(context: EncodeContext, path: string, problem: string): ConclaveError {
  return new ConclaveError(context.code, `${path}: ${problem}`);
}

/** What an encoder is given must be an object (the caller may pass anything at run time). */
export function assertObject(value: unknown, path: string, context: EncodeContext, message: string): void {
  if (typeof value !== 'object' || value === null) throw encodingError(context, path === '' ? 'request' : path, `expected a ${message}, got ${describeJson(value)}`);
}

/** A response with no fields of its own beside the header (unlock, proclaim, resign, lease revoke, compaction...). */
export function encodeEmptyResponse(): void {}

export function decodeEmptyResponse(): Record<string, never> {
  return {};
}
