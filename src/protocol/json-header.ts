// etcdserverpb.ResponseHeader in JSON: `{"cluster_id":"...","member_id":"...","revision":"5","raft_term":"2"}`,
// IDs as decimal uint64 strings. Responses nested in a txn carry a header of their own holding only the
// revision, as etcd's applier fills it in (`{"response_put":{"header":{"revision":"3"}}}`).

import type { ResponseHeader } from './kv.js';
import { countOf, idOf, JsonWriter } from './json-scalars.js';
import { FieldReader, type EncodeContext, type Field, type JsonObject } from './json-value.js';

export function encodeHeader(header: ResponseHeader, context: EncodeContext): JsonObject {
  return new JsonWriter('header', context)
    .id('cluster_id', header.clusterId)
    .id('member_id', header.memberId)
    .count('revision', header.revision)
    .count('raft_term', header.raftTerm).json;
}

export function encodeNestedHeader(revision: number, path: string, context: EncodeContext): JsonObject {
  return new JsonWriter(path, context).count('revision', revision).json;
}

/** An absent header reads as the default one (all zero), as proto3 has it. */
export function decodeHeader(field: Field | undefined): ResponseHeader {
  if (field === undefined) return { clusterId: idOf(undefined), memberId: idOf(undefined), revision: 0, raftTerm: 0 };
  const r = FieldReader.of(field.value, field.path, false, 'ResponseHeader');
  const header: ResponseHeader = {
    clusterId: idOf(r.read('cluster_id')),
    memberId: idOf(r.read('member_id')),
    revision: countOf(r.read('revision')),
    raftTerm: countOf(r.read('raft_term')),
  };
  r.finish();
  return header;
}
