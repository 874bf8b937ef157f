// Scalar fields as jsonpb reads and writes them: bytes as base64, 64-bit integers as decimal strings (numbers
// accepted on input), member IDs as decimal uint64 strings over our 16 hex digits, enums by name (numbers
// accepted on input). Reading throws ErrInvalidField naming the field; writing omits default values
// (EmitDefaults false) and checks what it is given, since the client encodes what its caller passed.
// The same readers take the WebSocket API's msgpack messages, where bytes are bin and integers are integers
// (a JSON value never is a Uint8Array or a bigint, so the gateway's JSON is read exactly as before); a writer
// with a binary context writes them that way.

import { kvLimits } from '../limits.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { ConclaveError } from './errors.js';
import { describeJson, encodingError, invalidField, itemPath, type EncodeContext, type Field, type Json, type JsonObject } from './json-value.js';

const DECIMAL = /^-?(?:0|[1-9][0-9]*)$/;
const HEX_ID = /^[0-9a-f]{16}$/;
const UINT64_MAX = (1n << 64n) - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

export function bytesOf(field: Field | undefined): Uint8Array {
  if (field === undefined) return new Uint8Array(0);
  // A copy: a decoded bin is a view of its whole frame, which a key held by a watch would otherwise keep alive.
  if (field.value instanceof Uint8Array) return new Uint8Array(field.value);
  if (typeof field.value !== 'string') throw invalidField(field.path, `expected a base64 string, got ${describeJson(field.value)}`);
  const bytes = decodeBase64(field.value);
  if (bytes === undefined) throw invalidField(field.path, 'not valid base64');
  return bytes;
}

export function keyTooLarge(path: string, length: number): ConclaveError {
  return new ConclaveError('ErrKeyTooLarge', `${path}: ${length} bytes, above kvLimits.maxKeyBytes (${kvLimits.maxKeyBytes})`);
}

/** A key or range end of a request: bytes, at most kvLimits.maxKeyBytes of them. */
export function keyOf(field: Field | undefined): Uint8Array {
  const bytes = bytesOf(field);
  if (field !== undefined && bytes.length > kvLimits.maxKeyBytes) throw keyTooLarge(field.path, bytes.length);
  return bytes;
}

/** The exact integer a field holds, from a JSON number or a decimal string (jsonpb takes both for 64-bit fields). */
function integerOf(field: Field): bigint {
  const { value, path } = field;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw invalidField(path, `not an integer (${value})`);
    // Past 2^53 - 1 the number was already rounded when the JSON was parsed: its value is unknown.
    if (!Number.isSafeInteger(value)) throw invalidField(path, `a JSON number beyond 2^53-1 is not exact (${value}); send it as a decimal string`);
    return BigInt(value);
  }
  if (typeof value === 'string') {
    if (!DECIMAL.test(value)) throw invalidField(path, `not a decimal integer (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)})`);
    return BigInt(value);
  }
  throw invalidField(path, `expected an integer (a decimal string or a number), got ${describeJson(value)}`);
}

/** A revision, count, version or lease ID: never negative here, and at most 2^53-1 so that it fits a number. */
export function countOf(field: Field | undefined): number {
  if (field === undefined) return 0;
  const integer = integerOf(field);
  if (integer < 0n) throw invalidField(field.path, `negative (${integer})`);
  if (integer > SAFE_MAX) throw invalidField(field.path, `above 2^53-1 (${integer})`);
  return Number(integer);
}

/** A signed int64 (a lease's TTL in seconds, -1 for "no such lease"), within ±(2^53-1) so that it fits a number. */
export function signedOf(field: Field | undefined): number {
  if (field === undefined) return 0;
  const integer = integerOf(field);
  if (integer > SAFE_MAX || integer < -SAFE_MAX) throw invalidField(field.path, `beyond ±(2^53-1) (${integer})`);
  return Number(integer);
}

/** A member or cluster ID: a uint64 on the wire, 16 lowercase hex digits here. */
export function idOf(field: Field | undefined): string {
  if (field === undefined) return '0000000000000000';
  const integer = integerOf(field);
  if (integer < 0n) throw invalidField(field.path, `negative (${integer})`);
  if (integer > UINT64_MAX) throw invalidField(field.path, `above 2^64-1 (${integer})`);
  return integer.toString(16).padStart(16, '0');
}

export function boolOf(field: Field | undefined): boolean {
  if (field === undefined) return false;
  if (typeof field.value !== 'boolean') throw invalidField(field.path, `expected true or false, got ${describeJson(field.value)}`);
  return field.value;
}

export function stringOf(field: Field | undefined): string {
  if (field === undefined) return '';
  if (typeof field.value !== 'string') throw invalidField(field.path, `expected a string, got ${describeJson(field.value)}`);
  return field.value;
}

/** A proto enum: our names in the order of the proto's numbers, and the proto's names. */
export interface ProtoEnum<T extends string> {
  readonly type: string;
  readonly values: readonly T[];
  readonly names: readonly string[];
}

export function enumOf<T extends string>(field: Field | undefined, protoEnum: ProtoEnum<T>): T {
  const first = protoEnum.values[0];
  if (first === undefined) throw new Error(`enum ${protoEnum.type} has no values`);
  if (field === undefined) return first;
  const { value, path } = field;
  const expected = `expected one of ${protoEnum.names.join(', ')}`;
  let index = -1;
  if (typeof value === 'string') index = protoEnum.names.indexOf(value);
  else if (typeof value === 'number') index = Number.isInteger(value) ? value : -1;
  else throw invalidField(path, `expected a ${protoEnum.type} name, got ${describeJson(value)}`);
  const result = protoEnum.values[index];
  if (result === undefined) throw invalidField(path, `unknown ${protoEnum.type} ${JSON.stringify(value)} (${expected})`);
  return result;
}

/** A repeated field; a null element is refused (jsonpb would read it as a default element). */
export function listOf<T>(field: Field | undefined, each: (value: unknown, path: string) => T): T[] {
  if (field === undefined) return [];
  if (!Array.isArray(field.value)) throw invalidField(field.path, `expected an array, got ${describeJson(field.value)}`);
  return field.value.map((value: unknown, index) => {
    const path = itemPath(field.path, index);
    if (value === null) throw invalidField(path, 'null in a list');
    return each(value, path);
  });
}

export function stringListOf(field: Field | undefined): string[] {
  return listOf(field, (value, path) => stringOf({ value, path }));
}

/**
 * An integer for msgpack: from 2^32 on a bigint, which the frame encoder writes as a 64-bit integer (it would
 * write a large number as a float).
 */
export function binaryInteger(value: number): number | bigint {
  return value < 2 ** 32 ? value : BigInt(value);
}

/** Writes the fields of one message in proto order, leaving out those equal to their default. */
export class JsonWriter {
  readonly json: JsonObject = {};

  constructor(
    readonly path: string,
    readonly context: EncodeContext,
  ) {}

  private fail(name: string, problem: string): never {
    throw encodingError(this.context, this.path === '' ? name : `${this.path}.${name}`, problem);
  }

  fieldPath(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  /** `always` for a member of a oneof, which jsonpb writes once set, even when it holds its default. */
  bytes(name: string, value: Uint8Array | undefined, always = false): this {
    if (value === undefined) return this;
    if (!(value instanceof Uint8Array)) this.fail(name, `expected a Uint8Array, got ${describeJson(value)}`);
    if (value.length > 0 || always) this.json[name] = this.context.binary === true ? value : encodeBase64(value);
    return this;
  }

  key(name: string, value: Uint8Array | undefined): this {
    if (value instanceof Uint8Array && value.length > kvLimits.maxKeyBytes) throw keyTooLarge(this.fieldPath(name), value.length);
    return this.bytes(name, value);
  }

  count(name: string, value: number | undefined, always = false): this {
    if (value === undefined) return this;
    if (!Number.isSafeInteger(value) || value < 0) this.fail(name, `expected an integer from 0 to 2^53-1, got ${String(value)}`);
    if (value !== 0 || always) this.json[name] = this.context.binary === true ? binaryInteger(value) : String(value);
    return this;
  }

  signed(name: string, value: number | undefined): this {
    if (value === undefined) return this;
    if (!Number.isSafeInteger(value)) this.fail(name, `expected an integer within ±(2^53-1), got ${String(value)}`);
    if (value !== 0) this.json[name] = String(value);
    return this;
  }

  id(name: string, value: string | undefined): this {
    if (value === undefined) return this;
    if (typeof value !== 'string' || !HEX_ID.test(value)) this.fail(name, `expected 16 lowercase hex digits, got ${JSON.stringify(value)}`);
    const integer = BigInt(`0x${value}`);
    if (integer !== 0n) this.json[name] = this.context.binary === true ? integer : integer.toString(10);
    return this;
  }

  bool(name: string, value: boolean | undefined): this {
    if (value === undefined) return this;
    if (typeof value !== 'boolean') this.fail(name, `expected a boolean, got ${describeJson(value)}`);
    if (value) this.json[name] = true;
    return this;
  }

  string(name: string, value: string | undefined): this {
    if (value === undefined) return this;
    if (typeof value !== 'string') this.fail(name, `expected a string, got ${describeJson(value)}`);
    if (value !== '') this.json[name] = value;
    return this;
  }

  enum<T extends string>(name: string, value: T | undefined, protoEnum: ProtoEnum<T>): this {
    if (value === undefined) return this;
    const index = protoEnum.values.indexOf(value);
    if (index < 0) this.fail(name, `expected one of ${protoEnum.values.join(', ')}, got ${JSON.stringify(value)}`);
    if (index !== 0) this.json[name] = protoEnum.names[index] ?? null;
    return this;
  }

  list<T>(name: string, values: readonly T[] | undefined, each: (value: T, path: string) => Json): this {
    if (values === undefined) return this;
    if (!Array.isArray(values)) this.fail(name, `expected an array, got ${describeJson(values)}`);
    if (values.length > 0) this.json[name] = values.map((value, index) => each(value, itemPath(this.fieldPath(name), index)));
    return this;
  }

  strings(name: string, values: readonly string[] | undefined): this {
    return this.list(name, values, (value, path) => {
      if (typeof value !== 'string') throw encodingError(this.context, path, `expected a string, got ${describeJson(value)}`);
      return value;
    });
  }

  /** A message field: written whenever set, even when all its fields are defaults (`{}`). */
  message(name: string, value: Json): this {
    this.json[name] = value;
    return this;
  }
}
