// The service registry's and the Snowflake recipe's messages in JSON (and msgpack, by the same readers). They have
// no etcd counterpart, so they follow its conventions: snake_case proto names (lowerCamelCase accepted on input),
// 64-bit integers (lease IDs, revisions, times) as decimal strings, defaults left out.

import type { HealthCheck, HealthStatus, RegistryDeregisterRequest, RegistryEvent, RegistryWatchRequest, RegistryDeregisterResponse, RegistryListRequest, RegistryListResponse, RegistryRegisterRequest, ServiceInstance } from './registry.js';
import type { SegmentReserveRequest, SegmentReserveResponse, WorkerAllocateRequest, WorkerAllocateResponse, WorkerReleaseRequest } from './snowflake.js';
import { boolOf, countOf, JsonWriter, listOf, stringListOf, stringOf } from './json-scalars.js';
import { assertObject, describeJson, encodingError, FieldReader, invalidField, isJsonObject, type EncodeContext, type Field, type Json, type JsonObject } from './json-value.js';
import { decodeHeader, encodeHeader } from './json-header.js';
import type { ResponseHeader } from './kv.js';

// ---- registry ----

function decodeCheck(field: Field | undefined, strict: boolean): HealthCheck | undefined {
  if (field === undefined) return undefined;
  const r = FieldReader.of(field.value, field.path, strict, 'HealthCheck');
  const type = stringOf(r.read('type'));
  if (type !== 'http' && type !== 'tcp') throw invalidField(`${field.path}.type`, `expected "http" or "tcp", got ${JSON.stringify(type)}`);
  const path = stringOf(r.read('path'));
  const expectedStatus = countOf(r.read('expected_status'));
  const intervalMs = countOf(r.read('interval_ms'));
  const timeoutMs = countOf(r.read('timeout_ms'));
  const healthyThreshold = countOf(r.read('healthy_threshold'));
  const unhealthyThreshold = countOf(r.read('unhealthy_threshold'));
  r.finish();
  return {
    type,
    intervalMs,
    timeoutMs,
    ...(path === '' ? {} : { path }),
    ...(expectedStatus === 0 ? {} : { expectedStatus }),
    ...(healthyThreshold === 0 ? {} : { healthyThreshold }),
    ...(unhealthyThreshold === 0 ? {} : { unhealthyThreshold }),
  };
}

function encodeCheck(check: HealthCheck, path: string, context: EncodeContext): JsonObject {
  assertObject(check, path, context, 'HealthCheck');
  return new JsonWriter(path, context)
    .string('type', check.type)
    .string('path', check.path)
    .count('expected_status', check.expectedStatus)
    .count('interval_ms', check.intervalMs)
    .count('timeout_ms', check.timeoutMs)
    .count('healthy_threshold', check.healthyThreshold)
    .count('unhealthy_threshold', check.unhealthyThreshold).json;
}

function decodeMetadata(field: Field | undefined): Record<string, string> {
  if (field === undefined) return {};
  if (!isJsonObject(field.value)) throw invalidField(field.path, `expected an object of strings, got ${describeJson(field.value)}`);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(field.value)) {
    if (typeof value !== 'string') throw invalidField(`${field.path}.${name}`, `expected a string, got ${describeJson(value)}`);
    out[name] = value;
  }
  return out;
}

function encodeMetadata(metadata: Readonly<Record<string, string>> | undefined, writer: JsonWriter, name: string): void {
  if (metadata === undefined) return;
  if (typeof metadata !== 'object' || metadata === null) throw encodingError(writer.context, writer.fieldPath(name), `expected an object of strings, got ${describeJson(metadata)}`);
  const entries = Object.entries(metadata);
  for (const [key, value] of entries) if (typeof value !== 'string') throw encodingError(writer.context, `${writer.fieldPath(name)}.${key}`, `expected a string, got ${describeJson(value)}`);
  if (entries.length > 0) writer.message(name, Object.fromEntries(entries) as Json);
}

export function decodeRegisterRequest(value: unknown, path: string): RegistryRegisterRequest {
  const r = FieldReader.of(value, path, true, 'RegistryRegisterRequest');
  const service = stringOf(r.read('service'));
  const instance = stringOf(r.read('instance'));
  const address = stringOf(r.read('address'));
  const port = countOf(r.read('port'));
  const lease = countOf(r.read('lease'));
  const tags = stringListOf(r.read('tags'));
  const metadata = decodeMetadata(r.read('metadata'));
  const weightField = r.read('weight');
  const check = decodeCheck(r.read('check'), true);
  r.finish();
  return {
    service,
    instance,
    address,
    port,
    lease,
    ...(tags.length === 0 ? {} : { tags }),
    ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
    ...(weightField === undefined ? {} : { weight: countOf(weightField) }),
    ...(check === undefined ? {} : { check }),
  };
}

export function encodeRegisterRequest(request: RegistryRegisterRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'RegistryRegisterRequest');
  const writer = new JsonWriter(path, context)
    .string('service', request.service)
    .string('instance', request.instance)
    .string('address', request.address)
    .count('port', request.port)
    .count('lease', request.lease)
    .strings('tags', request.tags);
  encodeMetadata(request.metadata, writer, 'metadata');
  // Written even when 0: a weight of 0 (no weighted traffic) differs from the default of 1.
  writer.count('weight', request.weight, true);
  if (request.check !== undefined) writer.message('check', encodeCheck(request.check, writer.fieldPath('check'), context));
  return writer.json;
}

export function decodeDeregisterRequest(value: unknown, path: string): RegistryDeregisterRequest {
  const r = FieldReader.of(value, path, true, 'RegistryDeregisterRequest');
  const service = stringOf(r.read('service'));
  const instance = stringOf(r.read('instance'));
  r.finish();
  return { service, instance };
}

export function encodeDeregisterRequest(request: RegistryDeregisterRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'RegistryDeregisterRequest');
  return new JsonWriter(path, context).string('service', request.service).string('instance', request.instance).json;
}

export function decodeListRequest(value: unknown, path: string): RegistryListRequest {
  const r = FieldReader.of(value, path, true, 'RegistryListRequest');
  const service = stringOf(r.read('service'));
  const tags = stringListOf(r.read('tags'));
  const includeUnhealthy = boolOf(r.read('include_unhealthy'));
  const revision = countOf(r.read('revision'));
  r.finish();
  return { service, ...(tags.length === 0 ? {} : { tags }), ...(includeUnhealthy ? { includeUnhealthy } : {}), ...(revision === 0 ? {} : { revision }) };
}

export function encodeListRequest(request: RegistryListRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'RegistryListRequest');
  return new JsonWriter(path, context).string('service', request.service).strings('tags', request.tags).bool('include_unhealthy', request.includeUnhealthy).count('revision', request.revision).json;
}

/** The answers with nothing but a header (register, release). */
export function encodeDeregisterResponse(writer: JsonWriter, response: RegistryDeregisterResponse): void {
  writer.count('deleted', response.deleted);
}

export function decodeDeregisterResponse(r: FieldReader): RegistryDeregisterResponse {
  return { deleted: countOf(r.read('deleted')) };
}

function encodeInstance(instance: ServiceInstance, path: string, context: EncodeContext): JsonObject {
  const writer = new JsonWriter(path, context)
    .string('service', instance.service)
    .string('instance', instance.instance)
    .string('address', instance.address)
    .count('port', instance.port)
    .strings('tags', instance.tags);
  encodeMetadata(instance.metadata, writer, 'metadata');
  writer.count('weight', instance.weight, true).string('health', instance.health);
  if (instance.check !== undefined) writer.message('check', encodeCheck(instance.check, writer.fieldPath('check'), context));
  return writer.count('lease', instance.lease).count('mod_revision', instance.modRevision).json;
}

function decodeInstanceMessage(value: unknown, path: string): ServiceInstance {
  const r = FieldReader.of(value, path, false, 'ServiceInstance');
  const health = stringOf(r.read('health'));
  const check = decodeCheck(r.read('check'), false);
  return {
    service: stringOf(r.read('service')),
    instance: stringOf(r.read('instance')),
    address: stringOf(r.read('address')),
    port: countOf(r.read('port')),
    tags: stringListOf(r.read('tags')),
    metadata: decodeMetadata(r.read('metadata')),
    weight: countOf(r.read('weight')),
    health: (health === 'critical' ? 'critical' : 'passing') satisfies HealthStatus,
    ...(check === undefined ? {} : { check }),
    lease: countOf(r.read('lease')),
    modRevision: countOf(r.read('mod_revision')),
  };
}

export function encodeListResponse(writer: JsonWriter, response: RegistryListResponse): void {
  writer.list('instances', response.instances, (instance, path) => encodeInstance(instance, path, writer.context));
}

export function decodeListResponse(r: FieldReader): RegistryListResponse {
  return { instances: listOf(r.read('instances'), decodeInstanceMessage) };
}

export function decodeRegistryWatchRequest(value: unknown): RegistryWatchRequest {
  const r = FieldReader.of(value, '', true, 'RegistryWatchRequest');
  const service = stringOf(r.read('service'));
  const startRevision = countOf(r.read('start_revision'));
  r.finish();
  return startRevision === 0 ? { service } : { service, startRevision };
}

export function encodeRegistryWatchRequest(request: RegistryWatchRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'RegistryWatchRequest');
  return new JsonWriter(path, context).string('service', request.service).count('start_revision', request.startRevision).json;
}

const EVENT_TYPES = new Set(['registered', 'updated', 'health', 'deregistered']);

/** One message of the registryWatch stream: a revision's events. */
export function encodeRegistryWatchResponse(header: ResponseHeader, events: readonly RegistryEvent[], context: EncodeContext): JsonObject {
  const writer = new JsonWriter('', context).message('header', encodeHeader(header, context));
  return writer.list('events', events, (event, path) =>
    new JsonWriter(path, context).string('type', event.type).count('revision', event.revision).message('instance', encodeInstance(event.instance, `${path}.instance`, context)).json,
  ).json;
}

export function decodeRegistryWatchResponse(value: unknown): { header: ResponseHeader; events: RegistryEvent[] } {
  const r = FieldReader.of(value, '', false, 'RegistryWatchResponse');
  const header = decodeHeader(r.read('header'));
  const events = listOf(r.read('events'), (item, path) => {
    const e = FieldReader.of(item, path, false, 'RegistryEvent');
    const type = stringOf(e.read('type'));
    if (!EVENT_TYPES.has(type)) throw invalidField(`${path}.type`, `unknown registry event ${JSON.stringify(type)}`);
    const instance = e.read('instance');
    return { type: type as RegistryEvent['type'], revision: countOf(e.read('revision')), instance: decodeInstanceMessage(instance?.value, `${path}.instance`) };
  });
  return { header, events };
}

// ---- snowflake ----

export function decodeWorkerAllocateRequest(value: unknown, path: string): WorkerAllocateRequest {
  const r = FieldReader.of(value, path, true, 'WorkerAllocateRequest');
  const pool = stringOf(r.read('pool'));
  const lease = countOf(r.read('lease'));
  const workerCount = countOf(r.read('worker_count'));
  r.finish();
  return workerCount === 0 ? { pool, lease } : { pool, lease, workerCount };
}

export function encodeWorkerAllocateRequest(request: WorkerAllocateRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'WorkerAllocateRequest');
  return new JsonWriter(path, context).string('pool', request.pool).count('lease', request.lease).count('worker_count', request.workerCount).json;
}

export function encodeWorkerAllocateResponse(writer: JsonWriter, response: WorkerAllocateResponse): void {
  // Written even when 0: worker ID 0 is an ID like any other.
  writer.count('worker_id', response.workerId, true).count('not_before_ms', response.notBeforeMs);
}

export function decodeWorkerAllocateResponse(r: FieldReader): WorkerAllocateResponse {
  return { workerId: countOf(r.read('worker_id')), notBeforeMs: countOf(r.read('not_before_ms')) };
}

export function decodeWorkerReleaseRequest(value: unknown, path: string): WorkerReleaseRequest {
  const r = FieldReader.of(value, path, true, 'WorkerReleaseRequest');
  const pool = stringOf(r.read('pool'));
  const workerId = countOf(r.read('worker_id'));
  const lease = countOf(r.read('lease'));
  r.finish();
  return { pool, workerId, lease };
}

export function encodeWorkerReleaseRequest(request: WorkerReleaseRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'WorkerReleaseRequest');
  return new JsonWriter(path, context).string('pool', request.pool).count('worker_id', request.workerId, true).count('lease', request.lease).json;
}

export function decodeSegmentReserveRequest(value: unknown, path: string): SegmentReserveRequest {
  const r = FieldReader.of(value, path, true, 'SegmentReserveRequest');
  const name = stringOf(r.read('name'));
  const count = countOf(r.read('count'));
  r.finish();
  return { name, count };
}

export function encodeSegmentReserveRequest(request: SegmentReserveRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'SegmentReserveRequest');
  return new JsonWriter(path, context).string('name', request.name).count('count', request.count).json;
}

export function encodeSegmentReserveResponse(writer: JsonWriter, response: SegmentReserveResponse): void {
  writer.count('start', response.start, true).count('count', response.count);
}

export function decodeSegmentReserveResponse(r: FieldReader): SegmentReserveResponse {
  return { start: countOf(r.read('start')), count: countOf(r.read('count')) };
}
