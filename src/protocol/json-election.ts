// The election messages in JSON, as etcd 3.4's v3election gateway writes them: LeaderKey {name, key, rev, lease}
// (bytes base64, rev and lease int64 strings), CampaignRequest {name, lease, value}, ProclaimRequest {leader,
// value}, LeaderRequest {name}, LeaderResponse {header, kv}, ResignRequest {leader}. Conclave adds `timeout_ms` to
// the campaign request.

import type { CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest, ResignRequest } from './election.js';
import { decodeKeyValue, encodeKeyValue } from './json-kv-responses.js';
import { bytesOf, countOf, JsonWriter, keyOf } from './json-scalars.js';
import { assertObject, FieldReader, invalidField, type EncodeContext, type Field, type JsonObject } from './json-value.js';

function decodeLeaderKey(field: Field | undefined, path: string, strict: boolean): LeaderKey {
  if (field === undefined) throw invalidField(path === '' ? 'leader' : `${path}.leader`, 'a LeaderKey is required');
  const r = FieldReader.of(field.value, field.path, strict, 'LeaderKey');
  const leader = { name: keyOf(r.read('name')), key: keyOf(r.read('key')), rev: countOf(r.read('rev')), lease: countOf(r.read('lease')) };
  r.finish();
  return leader;
}

function encodeLeaderKey(leader: LeaderKey, path: string, context: EncodeContext): JsonObject {
  assertObject(leader, path, context, 'LeaderKey');
  return new JsonWriter(path, context).key('name', leader.name).key('key', leader.key).count('rev', leader.rev).count('lease', leader.lease).json;
}

export function decodeCampaignRequest(value: unknown, path: string): CampaignRequest {
  const r = FieldReader.of(value, path, true, 'CampaignRequest');
  const name = keyOf(r.read('name'));
  const lease = countOf(r.read('lease'));
  const campaignValue = bytesOf(r.read('value'));
  const timeoutMs = countOf(r.read('timeout_ms'));
  r.finish();
  return timeoutMs === 0 ? { name, lease, value: campaignValue } : { name, lease, value: campaignValue, timeoutMs };
}

export function encodeCampaignRequest(request: CampaignRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'CampaignRequest');
  return new JsonWriter(path, context).key('name', request.name).count('lease', request.lease).bytes('value', request.value).count('timeout_ms', request.timeoutMs).json;
}

export function encodeCampaignResponse(writer: JsonWriter, response: CampaignResponse): void {
  writer.message('leader', encodeLeaderKey(response.leader, writer.fieldPath('leader'), writer.context));
}

export function decodeCampaignResponse(r: FieldReader): CampaignResponse {
  return { leader: decodeLeaderKey(r.read('leader'), r.path, false) };
}

export function decodeProclaimRequest(value: unknown, path: string): ProclaimRequest {
  const r = FieldReader.of(value, path, true, 'ProclaimRequest');
  const leader = decodeLeaderKey(r.read('leader'), path, true);
  const proclaimed = bytesOf(r.read('value'));
  r.finish();
  return { leader, value: proclaimed };
}

export function encodeProclaimRequest(request: ProclaimRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'ProclaimRequest');
  const writer = new JsonWriter(path, context);
  return writer.message('leader', encodeLeaderKey(request.leader, writer.fieldPath('leader'), context)).bytes('value', request.value).json;
}

export function decodeLeaderRequest(value: unknown, path: string): LeaderRequest {
  const r = FieldReader.of(value, path, true, 'LeaderRequest');
  const name = keyOf(r.read('name'));
  r.finish();
  return { name };
}

export function encodeLeaderRequest(request: LeaderRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'LeaderRequest');
  return new JsonWriter(path, context).key('name', request.name).json;
}

export function encodeLeaderResponse(writer: JsonWriter, response: LeaderResponse): void {
  if (response.kv !== undefined) writer.message('kv', encodeKeyValue(response.kv, writer.fieldPath('kv'), writer.context));
}

export function decodeLeaderResponse(r: FieldReader): LeaderResponse {
  const kv = r.read('kv');
  return kv === undefined ? {} : { kv: decodeKeyValue(kv.value, kv.path) };
}

export function decodeResignRequest(value: unknown, path: string): ResignRequest {
  const r = FieldReader.of(value, path, true, 'ResignRequest');
  const leader = decodeLeaderKey(r.read('leader'), path, true);
  r.finish();
  return { leader };
}

export function encodeResignRequest(request: ResignRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'ResignRequest');
  const writer = new JsonWriter(path, context);
  return writer.message('leader', encodeLeaderKey(request.leader, writer.fieldPath('leader'), context)).json;
}
