// The sequential-put and lock messages in JSON. Lock and unlock are etcd 3.4's v3lock gateway messages
// (LockRequest {name, lease}, LockResponse {header, key}, UnlockRequest {key}); Conclave adds `timeout_ms` to the
// request (a try-lock) and `fence` to the response (the fencing token, the key's create revision). A sequential
// put is Conclave's own: {prefix, value, lease, one_per_lease} -> {key, create_revision, created}.

import type { LockRequest, LockResponse, PutSequentialRequest, PutSequentialResponse, UnlockRequest } from './lock.js';
import { boolOf, bytesOf, countOf, JsonWriter, keyOf } from './json-scalars.js';
import { assertObject, FieldReader, type EncodeContext, type JsonObject } from './json-value.js';

/** Leaves out the optional fields that hold their default, as the state's decoder does. */
function withoutDefaults<T extends object>(object: T): T {
  for (const name of Object.keys(object) as (keyof T)[]) {
    const value = object[name];
    if (value === undefined || value === 0 || value === false) delete object[name];
  }
  return object;
}

export function decodePutSequentialRequest(value: unknown, path: string): PutSequentialRequest {
  const r = FieldReader.of(value, path, true, 'PutSequentialRequest');
  const request = withoutDefaults({
    prefix: keyOf(r.read('prefix')),
    value: bytesOf(r.read('value')),
    lease: countOf(r.read('lease')) as number | undefined,
    onePerLease: boolOf(r.read('one_per_lease')) as boolean | undefined,
  });
  r.finish();
  return request;
}

export function encodePutSequentialRequest(request: PutSequentialRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'PutSequentialRequest');
  return new JsonWriter(path, context).key('prefix', request.prefix).bytes('value', request.value).count('lease', request.lease).bool('one_per_lease', request.onePerLease).json;
}

export function encodePutSequentialResponse(writer: JsonWriter, response: PutSequentialResponse): void {
  writer.bytes('key', response.key).count('create_revision', response.createRevision).bool('created', response.created);
}

export function decodePutSequentialResponse(r: FieldReader): PutSequentialResponse {
  return { key: bytesOf(r.read('key')), createRevision: countOf(r.read('create_revision')), created: boolOf(r.read('created')) };
}

export function decodeLockRequest(value: unknown, path: string): LockRequest {
  const r = FieldReader.of(value, path, true, 'LockRequest');
  const request = withoutDefaults({ name: keyOf(r.read('name')), lease: countOf(r.read('lease')), timeoutMs: countOf(r.read('timeout_ms')) as number | undefined });
  r.finish();
  return { ...request, lease: request.lease ?? 0 };
}

export function encodeLockRequest(request: LockRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'LockRequest');
  return new JsonWriter(path, context).key('name', request.name).count('lease', request.lease).count('timeout_ms', request.timeoutMs).json;
}

export function encodeLockResponse(writer: JsonWriter, response: LockResponse): void {
  writer.bytes('key', response.key).count('fence', response.fence);
}

export function decodeLockResponse(r: FieldReader): LockResponse {
  return { key: bytesOf(r.read('key')), fence: countOf(r.read('fence')) };
}

export function decodeUnlockRequest(value: unknown, path: string): UnlockRequest {
  const r = FieldReader.of(value, path, true, 'UnlockRequest');
  const key = keyOf(r.read('key'));
  r.finish();
  return { key };
}

export function encodeUnlockRequest(request: UnlockRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'UnlockRequest');
  return new JsonWriter(path, context).key('key', request.key).json;
}

/** Unlock, proclaim and resign answer with the header alone. */
