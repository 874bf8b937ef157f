// The cluster and maintenance messages in JSON. etcdserverpb names these fields in lowerCamelCase in the proto
// itself (`ID`, `peerURLs`, `isLearner`, `dbSize`, `raftAppliedIndex`...), so the gateway prints those names.
// Also /health, which is not a proto message: `{"health":"true","reason":""}`.

import type { HealthResponse, Member, MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse, MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse, StatusRequest, StatusResponse } from './cluster.js';
import { boolOf, countOf, idOf, JsonWriter, listOf, stringListOf, stringOf } from './json-scalars.js';
import { assertObject, describeJson, encodingError, FieldReader, invalidField, type EncodeContext, type Json, type JsonObject } from './json-value.js';


export function encodeMember(member: Member, path: string, context: EncodeContext): JsonObject {
  assertObject(member, path, context, 'Member');
  return new JsonWriter(path, context)
    .id('ID', member.id)
    .string('name', member.name)
    .strings('peerURLs', member.peerUrls)
    .strings('clientURLs', member.clientUrls)
    .bool('isLearner', member.isLearner).json;
}

export function decodeMember(value: unknown, path: string): Member {
  const r = FieldReader.of(value, path, false, 'Member');
  const member: Member = {
    id: idOf(r.read('ID')),
    name: stringOf(r.read('name')),
    peerUrls: stringListOf(r.read('peerURLs')),
    clientUrls: stringListOf(r.read('clientURLs')),
    isLearner: boolOf(r.read('isLearner')),
  };
  r.finish();
  return member;
}

// Requests.

export function decodeMemberListRequest(value: unknown, path: string): MemberListRequest {
  const r = FieldReader.of(value, path, true, 'MemberListRequest');
  const linearizable = boolOf(r.read('linearizable'));
  r.finish();
  return linearizable ? { linearizable } : {};
}

export function encodeMemberListRequest(request: MemberListRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'MemberListRequest');
  return new JsonWriter(path, context).bool('linearizable', request.linearizable).json;
}

export function decodeMemberAddRequest(value: unknown, path: string): MemberAddRequest {
  const r = FieldReader.of(value, path, true, 'MemberAddRequest');
  const peerUrls = stringListOf(r.read('peerURLs'));
  const isLearner = boolOf(r.read('isLearner'));
  r.finish();
  return isLearner ? { peerUrls, isLearner } : { peerUrls };
}

export function encodeMemberAddRequest(request: MemberAddRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'MemberAddRequest');
  return new JsonWriter(path, context).strings('peerURLs', request.peerUrls).bool('isLearner', request.isLearner).json;
}

/** MemberRemoveRequest and MemberPromoteRequest: `{"ID":"..."}`. */
export function decodeMemberIdRequest(value: unknown, path: string, message: string): MemberRemoveRequest & MemberPromoteRequest {
  const r = FieldReader.of(value, path, true, message);
  const id = idOf(r.read('ID'));
  r.finish();
  return { id };
}

export function encodeMemberIdRequest(request: MemberRemoveRequest | MemberPromoteRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'member ID request');
  return new JsonWriter(path, context).id('ID', request.id).json;
}

export function decodeStatusRequest(value: unknown, path: string): StatusRequest {
  FieldReader.of(value, path, true, 'StatusRequest').finish();
  return {};
}

export function encodeStatusRequest(request: StatusRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'StatusRequest');
  return {};
}

// Responses (after the header, which the caller writes and reads).

const members = (writer: JsonWriter, list: readonly Member[]): JsonWriter => writer.list('members', list, (member, path) => encodeMember(member, path, writer.context));

export function encodeMembersResponse(writer: JsonWriter, response: MemberListResponse | MemberRemoveResponse | MemberPromoteResponse): void {
  members(writer, response.members);
}

export function decodeMembersResponse(r: FieldReader): MemberListResponse & MemberRemoveResponse & MemberPromoteResponse {
  return { members: listOf(r.read('members'), decodeMember) };
}

export function encodeMemberAddResponse(writer: JsonWriter, response: MemberAddResponse): void {
  members(writer.message('member', encodeMember(response.member, writer.fieldPath('member'), writer.context)), response.members);
}

/** etcd always sends the added member; a response without it is malformed rather than a member with ID 0. */
export function decodeMemberAddResponse(r: FieldReader): MemberAddResponse {
  const member = r.read('member');
  if (member === undefined) throw invalidField('member', 'missing from MemberAddResponse');
  return { member: decodeMember(member.value, member.path), members: listOf(r.read('members'), decodeMember) };
}

export function encodeStatusResponse(writer: JsonWriter, response: StatusResponse): void {
  writer
    .string('version', response.version)
    .count('dbSize', response.dbSize)
    .id('leader', response.leader)
    .count('raftIndex', response.raftIndex)
    .count('raftTerm', response.raftTerm)
    .count('raftAppliedIndex', response.raftAppliedIndex)
    .strings('errors', response.errors)
    .count('dbSizeInUse', response.dbSizeInUse)
    .bool('isLearner', response.isLearner);
}

export function decodeStatusResponse(r: FieldReader): StatusResponse {
  return {
    version: stringOf(r.read('version')),
    dbSize: countOf(r.read('dbSize')),
    leader: idOf(r.read('leader')),
    raftIndex: countOf(r.read('raftIndex')),
    raftTerm: countOf(r.read('raftTerm')),
    raftAppliedIndex: countOf(r.read('raftAppliedIndex')),
    errors: stringListOf(r.read('errors')),
    dbSizeInUse: countOf(r.read('dbSizeInUse')),
    isLearner: boolOf(r.read('isLearner')),
  };
}

// GET /health: a plain Go struct marshalled by encoding/json, so both fields are always written and `health`
// is the string "true" or "false".

export function encodeHealth(health: HealthResponse): Json {
  return { health: health.health ? 'true' : 'false', reason: health.reason };
}

export function decodeHealth(body: unknown): HealthResponse {
  const r = FieldReader.of(body, '', false, 'health');
  const field = r.read('health');
  let health: boolean;
  if (field?.value === 'true' || field?.value === true) health = true;
  else if (field?.value === 'false' || field?.value === false) health = false;
  else {
    const got = field === undefined ? 'nothing' : typeof field.value === 'string' ? JSON.stringify(field.value) : describeJson(field.value);
    throw invalidField('health', `expected "true" or "false", got ${got}`);
  }
  return { health, reason: stringOf(r.read('reason')) };
}
