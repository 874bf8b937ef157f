// The lease messages in JSON, as etcd 3.4's gateway prints them: `ID` and `TTL` (the proto's own names),
// `grantedTTL`, `keys` as base64. IDs are int64 strings (ours stay within 1..2^53-1), TTLs signed int64 strings.

import type {
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesRequest,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
} from './lease.js';
import { boolOf, bytesOf, countOf, JsonWriter, listOf, signedOf } from './json-scalars.js';
import { encodeBase64 } from './base64.js';
import { assertObject, describeJson, encodingError, FieldReader, type EncodeContext, type JsonObject } from './json-value.js';

/** The requests that carry only a lease ID (revoke, keepalive). */
export function decodeLeaseIdRequest(value: unknown, path: string, message: string): LeaseRevokeRequest & LeaseKeepAliveRequest {
  const r = FieldReader.of(value, path, true, message);
  const id = countOf(r.read('ID'));
  r.finish();
  return { id };
}

export function encodeLeaseIdRequest(request: LeaseRevokeRequest | LeaseKeepAliveRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'lease ID request');
  return new JsonWriter(path, context).count('ID', request.id).json;
}

export function decodeLeaseGrantRequest(value: unknown, path: string): LeaseGrantRequest {
  const r = FieldReader.of(value, path, true, 'LeaseGrantRequest');
  const ttl = signedOf(r.read('TTL'));
  const id = countOf(r.read('ID'));
  r.finish();
  return id === 0 ? { ttl } : { ttl, id };
}

export function encodeLeaseGrantRequest(request: LeaseGrantRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'LeaseGrantRequest');
  return new JsonWriter(path, context).signed('TTL', request.ttl).count('ID', request.id).json;
}

export function decodeLeaseTimeToLiveRequest(value: unknown, path: string): LeaseTimeToLiveRequest {
  const r = FieldReader.of(value, path, true, 'LeaseTimeToLiveRequest');
  const id = countOf(r.read('ID'));
  const keys = boolOf(r.read('keys'));
  r.finish();
  return keys ? { id, keys } : { id };
}

export function encodeLeaseTimeToLiveRequest(request: LeaseTimeToLiveRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'LeaseTimeToLiveRequest');
  return new JsonWriter(path, context).count('ID', request.id).bool('keys', request.keys).json;
}

export function decodeLeaseLeasesRequest(value: unknown, path: string): LeaseLeasesRequest {
  FieldReader.of(value, path, true, 'LeaseLeasesRequest').finish();
  return {};
}

export function encodeLeaseLeasesRequest(request: LeaseLeasesRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'LeaseLeasesRequest');
  return {};
}

// Responses (after the header, which the caller writes and reads).

/** Grant and keepalive answer with the same two fields. */
export function encodeLeaseTtlResponse(writer: JsonWriter, response: LeaseGrantResponse | LeaseKeepAliveResponse): void {
  writer.count('ID', response.id).signed('TTL', response.ttl);
}

export function decodeLeaseTtlResponse(r: FieldReader): LeaseGrantResponse & LeaseKeepAliveResponse {
  return { id: countOf(r.read('ID')), ttl: signedOf(r.read('TTL')) };
}

export function encodeLeaseTimeToLiveResponse(writer: JsonWriter, response: LeaseTimeToLiveResponse): void {
  writer
    .count('ID', response.id)
    .signed('TTL', response.ttl)
    .signed('grantedTTL', response.grantedTtl)
    .list('keys', response.keys, (key, path) => {
      if (!(key instanceof Uint8Array)) throw encodingError(writer.context, path, `expected a Uint8Array, got ${describeJson(key)}`);
      return encodeBase64(key);
    });
}

export function decodeLeaseTimeToLiveResponse(r: FieldReader): LeaseTimeToLiveResponse {
  return {
    id: countOf(r.read('ID')),
    ttl: signedOf(r.read('TTL')),
    grantedTtl: signedOf(r.read('grantedTTL')),
    keys: listOf(r.read('keys'), (value, path) => bytesOf({ value, path })),
  };
}

export function encodeLeaseLeasesResponse(writer: JsonWriter, response: LeaseLeasesResponse): void {
  writer.list('leases', response.leases, (lease, path) => new JsonWriter(path, writer.context).count('ID', lease.id).json);
}

export function decodeLeaseLeasesResponse(r: FieldReader): LeaseLeasesResponse {
  return {
    leases: listOf(r.read('leases'), (value, path) => {
      const lease = FieldReader.of(value, path, false, 'LeaseStatus');
      return { id: countOf(lease.read('ID')) };
    }),
  };
}
