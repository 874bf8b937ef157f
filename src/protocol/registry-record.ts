// How a registered instance is kept: a key-value pair under a reserved prefix, attached to the instance's lease,
// so that the lease's revoke deletes it in the revoke's own revision and a watch of the service's prefix sees
// every registration, health change and deregistration. Shared by the member (which writes and lists them) and
// the client (which decodes the watch's events), so it lives in the protocol.
//
//   key   "\0registry/" <service> "/" <instance>
//   value JSON {"address","port","tags","metadata","weight","health","check"}   (service, instance, lease and
//         revision come from the key-value pair itself)

import { registryLimits } from '../limits.js';
import { ConclaveError } from './errors.js';
import type { DeleteRangeRequest, KeyValue, PutRequest } from './kv.js';
import type { HealthCheck, HealthStatus, RegistryEvent, RegistryEventType, RegistryRegisterRequest, ServiceInstance } from './registry.js';
import { REGISTRY_PREFIX } from './reserved-keys.js';
import type { WatchEvent } from './watch.js';

export { REGISTRY_PREFIX };
const SERVICE_NAME = /^[A-Za-z0-9._-]+$/;
const INSTANCE_ID = /^[A-Za-z0-9._:@-]+$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

const invalid = (detail: string): ConclaveError => new ConclaveError('ErrInvalidField', detail);

export function checkServiceName(service: unknown): ConclaveError | null {
  if (typeof service !== 'string' || !SERVICE_NAME.test(service)) return invalid(`service name ${JSON.stringify(service)}: letters, digits, '.', '_' and '-' only, not empty`);
  if (service.length > registryLimits.maxServiceNameBytes) return invalid(`service name of ${service.length} bytes, above registryLimits.maxServiceNameBytes (${registryLimits.maxServiceNameBytes})`);
  return null;
}

export function checkInstanceId(instance: unknown): ConclaveError | null {
  if (typeof instance !== 'string' || !INSTANCE_ID.test(instance)) return invalid(`instance ID ${JSON.stringify(instance)}: letters, digits, '.', '_', '-', ':' and '@' only, not empty`);
  if (instance.length > registryLimits.maxInstanceIdBytes) return invalid(`instance ID of ${instance.length} bytes, above registryLimits.maxInstanceIdBytes (${registryLimits.maxInstanceIdBytes})`);
  return null;
}

/** The key of one instance. */
export function instanceKey(service: string, instance: string): Uint8Array {
  return encoder.encode(`${REGISTRY_PREFIX}${service}/${instance}`);
}

/** The prefix of every instance of a service, and its range end. */
export function serviceRange(service: string): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = encoder.encode(`${REGISTRY_PREFIX}${service}/`);
  const rangeEnd = key.slice();
  rangeEnd[rangeEnd.length - 1] = ('/'.charCodeAt(0) + 1) as number;
  return { key, rangeEnd };
}

function checkInteger(value: unknown, name: string, min: number, max: number): ConclaveError | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return null;
  return invalid(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
}

function checkCheck(check: HealthCheck): ConclaveError | null {
  const limits = registryLimits;
  if (check.type !== 'http' && check.type !== 'tcp') return invalid(`check type ${JSON.stringify(check.type)}: http or tcp`);
  if (check.path !== undefined && (typeof check.path !== 'string' || !check.path.startsWith('/') || check.path.length > 1024)) return invalid('check path must start with / (at most 1024 bytes)');
  return (
    checkInteger(check.intervalMs, 'check intervalMs', limits.minCheckIntervalMs, 24 * 3600 * 1000) ??
    checkInteger(check.timeoutMs, 'check timeoutMs', 1, limits.maxCheckTimeoutMs) ??
    (check.expectedStatus === undefined ? null : checkInteger(check.expectedStatus, 'check expectedStatus', 100, 599)) ??
    (check.healthyThreshold === undefined ? null : checkInteger(check.healthyThreshold, 'check healthyThreshold', 1, limits.maxCheckThreshold)) ??
    (check.unhealthyThreshold === undefined ? null : checkInteger(check.unhealthyThreshold, 'check unhealthyThreshold', 1, limits.maxCheckThreshold))
  );
}

/** The checks of a registration, before anything is proposed (the limits are registryLimits'). */
export function validateRegistration(request: RegistryRegisterRequest): ConclaveError | null {
  const limits = registryLimits;
  const tags = request.tags ?? [];
  const metadata = Object.entries(request.metadata ?? {});
  const bad =
    checkServiceName(request.service) ??
    checkInstanceId(request.instance) ??
    checkInteger(request.port, 'port', 1, 65535) ??
    checkInteger(request.lease, 'lease (an instance is registered under a lease)', 1, Number.MAX_SAFE_INTEGER) ??
    (request.weight === undefined ? null : checkInteger(request.weight, 'weight', 0, limits.maxWeight)) ??
    (request.check === undefined ? null : checkCheck(request.check));
  if (bad !== null) return bad;
  if (typeof request.address !== 'string' || request.address === '' || request.address.length > limits.maxAddressBytes) return invalid(`address must be 1 to registryLimits.maxAddressBytes (${limits.maxAddressBytes}) bytes`);
  if (tags.length > limits.maxTags) return invalid(`${tags.length} tags, above registryLimits.maxTags (${limits.maxTags})`);
  for (const tag of tags) if (typeof tag !== 'string' || tag === '' || tag.length > limits.maxTagBytes) return invalid(`tag ${JSON.stringify(tag)}: 1 to registryLimits.maxTagBytes (${limits.maxTagBytes}) bytes`);
  if (metadata.length > limits.maxMetadataEntries) return invalid(`${metadata.length} metadata entries, above registryLimits.maxMetadataEntries (${limits.maxMetadataEntries})`);
  for (const [name, value] of metadata) if (name === '' || typeof value !== 'string') return invalid(`metadata ${JSON.stringify(name)}: a non-empty name with a string value`);
  return null;
}

interface StoredInstance {
  address: string;
  port: number;
  tags: readonly string[];
  metadata: Readonly<Record<string, string>>;
  weight: number;
  health: HealthStatus;
  check?: HealthCheck;
}

/** The stored value of a registration (a new or re-registered instance starts passing). */
export function encodeInstanceValue(request: RegistryRegisterRequest, health: HealthStatus = 'passing'): Uint8Array {
  const stored: StoredInstance = {
    address: request.address,
    port: request.port,
    tags: [...new Set(request.tags ?? [])].sort(),
    metadata: Object.fromEntries(Object.entries(request.metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    weight: request.weight ?? 1,
    health,
    ...(request.check === undefined ? {} : { check: request.check }),
  };
  const bytes = encoder.encode(JSON.stringify(stored));
  if (bytes.length > registryLimits.maxRecordBytes) throw invalid(`instance record of ${bytes.length} bytes, above registryLimits.maxRecordBytes (${registryLimits.maxRecordBytes})`);
  return bytes;
}

/** The value with another health status, everything else kept (the leader's record of a check's outcome). */
export function withHealth(instance: ServiceInstance, health: HealthStatus): Uint8Array {
  return encodeInstanceValue({ ...instance }, health);
}

/**
 * The instance a key-value pair holds; null for a key outside the registry or a value that is not a record (plain
 * writes under the prefix are refused, but a store written before they were may still hold such a pair).
 */
export function decodeInstance(kv: KeyValue): ServiceInstance | null {
  let key: string;
  let stored: Partial<StoredInstance>;
  try {
    key = decoder.decode(kv.key);
    stored = JSON.parse(decoder.decode(kv.value)) as Partial<StoredInstance>;
  } catch {
    return null;
  }
  if (!key.startsWith(REGISTRY_PREFIX)) return null;
  const slash = key.indexOf('/', REGISTRY_PREFIX.length);
  if (slash < 0) return null;
  const service = key.slice(REGISTRY_PREFIX.length, slash);
  const instance = key.slice(slash + 1);
  if (typeof stored !== 'object' || stored === null || typeof stored.address !== 'string' || typeof stored.port !== 'number') return null;
  return {
    service,
    instance,
    address: stored.address,
    port: stored.port,
    tags: Array.isArray(stored.tags) ? stored.tags.filter((tag): tag is string => typeof tag === 'string') : [],
    metadata: typeof stored.metadata === 'object' && stored.metadata !== null ? stored.metadata : {},
    weight: typeof stored.weight === 'number' ? stored.weight : 1,
    health: stored.health === 'critical' ? 'critical' : 'passing',
    ...(stored.check === undefined ? {} : { check: stored.check }),
    lease: kv.lease,
    modRevision: kv.modRevision,
  };
}

/** Whether an instance is listed by a discovery that asks for these tags (and healthy ones only, unless `includeUnhealthy`). */
export function instanceMatches(instance: ServiceInstance, tags: readonly string[], includeUnhealthy: boolean): boolean {
  if (!includeUnhealthy && instance.health !== 'passing') return false;
  return tags.every((tag) => instance.tags.includes(tag));
}

/** The put that registers (or re-registers) an instance; throws ErrInvalidField for a registration it refuses. */
export function registrationPut(request: RegistryRegisterRequest): PutRequest {
  const invalid = validateRegistration(request);
  if (invalid !== null) throw invalid;
  return { key: instanceKey(request.service, request.instance), value: encodeInstanceValue(request), lease: request.lease };
}

/** The delete that deregisters an instance. */
export function deregistrationDelete(service: string, instance: string): DeleteRangeRequest {
  const invalid = checkServiceName(service) ?? checkInstanceId(instance);
  if (invalid !== null) throw invalid;
  return { key: instanceKey(service, instance) };
}

/** The instances among a range of a service's prefix that a discovery lists, in instance order. */
export function listedInstances(kvs: readonly KeyValue[], tags: readonly string[], includeUnhealthy: boolean): ServiceInstance[] {
  const instances: ServiceInstance[] = [];
  for (const kv of kvs) {
    const instance = decodeInstance(kv);
    if (instance !== null && instanceMatches(instance, tags, includeUnhealthy)) instances.push(instance);
  }
  return instances;
}

/**
 * What a watch event of a service's prefix (with previous values) means: a PUT of version 1 (or over nothing that
 * was an instance) a registration, a PUT that changes the health a health change, another PUT an update, a DELETE
 * of an instance a deregistration; null for a pair that is not an instance.
 */
export function registryEventOf(event: WatchEvent): RegistryEvent | null {
  const revision = event.kv.modRevision;
  const before = event.prevKv === undefined ? null : decodeInstance(event.prevKv);
  if (event.type === 'DELETE') return before === null ? null : { type: 'deregistered', instance: before, revision };
  const after = decodeInstance(event.kv);
  if (after === null) return null;
  const type: RegistryEventType = before === null || event.kv.version === 1 ? 'registered' : before.health !== after.health ? 'health' : 'updated';
  return { type, instance: after, revision };
}
