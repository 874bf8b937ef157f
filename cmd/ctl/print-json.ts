// -w json: etcdctl's JSON printer, which is Go's encoding/json over the protobuf structs. So: snake_case key-value
// fields and camelCase cluster fields as the structs tag them, zero values left out (omitempty), 64-bit integers
// and IDs as decimal numbers, bytes as base64, and Go's escaping of <, > and & in strings.

import type { Member, MemberAddResponse, MemberListResponse, StatusResponse } from '../../src/protocol/cluster.js';
import type { DeleteRangeResponse, KeyValue, PutResponse, RangeResponse, ResponseHeader, ResponseOp, TxnResponse } from '../../src/protocol/kv.js';
import { decimalId } from './format.js';
import type { Output, Printer } from './printer.js';
import type { EndpointHealth, EndpointStatus } from './rows.js';

export type GoValue = undefined | boolean | number | bigint | string | readonly GoValue[] | { readonly [key: string]: GoValue };

function goString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || char === '<' || char === '>' || char === '&' || code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return out + '"';
}

/** Compact JSON as Go writes it; undefined members are left out. */
export function goJson(value: GoValue): string {
  if (value === undefined) return 'null';
  if (typeof value === 'string') return goString(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  const members = Object.entries(value as { readonly [key: string]: GoValue }).filter(([, member]) => member !== undefined);
  return `{${members.map(([key, member]) => `${goString(key)}:${goJson(member)}`).join(',')}}`;
}

const nonZero = (value: number | bigint): number | bigint | undefined => (value === 0 || value === 0n ? undefined : value);
const nonEmpty = <T>(items: readonly T[]): readonly T[] | undefined => (items.length === 0 ? undefined : items);
const onlyTrue = (flag: boolean): true | undefined => (flag ? true : undefined);
const base64 = (bytes: Uint8Array): string | undefined => (bytes.length === 0 ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'));
const id = (hex: string): bigint | undefined => nonZero(decimalId(hex)) as bigint | undefined;

export function headerJson(header: ResponseHeader): GoValue {
  return { cluster_id: id(header.clusterId), member_id: id(header.memberId), revision: nonZero(header.revision), raft_term: nonZero(header.raftTerm) };
}

/** The header etcd puts in each response inside a txn: the revision only. */
export function innerHeader(header: ResponseHeader): ResponseHeader {
  return { clusterId: '', memberId: '', revision: header.revision, raftTerm: 0 };
}

export function kvJson(kv: KeyValue): GoValue {
  return {
    key: base64(kv.key),
    create_revision: nonZero(kv.createRevision),
    mod_revision: nonZero(kv.modRevision),
    version: nonZero(kv.version),
    value: base64(kv.value),
    lease: nonZero(kv.lease),
  };
}

export function rangeJson(header: ResponseHeader, response: RangeResponse): GoValue {
  return { header: headerJson(header), kvs: nonEmpty(response.kvs.map(kvJson)), more: onlyTrue(response.more), count: nonZero(response.count) };
}

export function putJson(header: ResponseHeader, response: PutResponse): GoValue {
  return { header: headerJson(header), prev_kv: response.prevKv === undefined ? undefined : kvJson(response.prevKv) };
}

export function deleteJson(header: ResponseHeader, response: DeleteRangeResponse): GoValue {
  return { header: headerJson(header), deleted: nonZero(response.deleted), prev_kvs: nonEmpty(response.prevKvs.map(kvJson)) };
}

function responseOpJson(header: ResponseHeader, op: ResponseOp): GoValue {
  // Go's encoding/json shows the oneof as the struct field it is held in, "Response".
  const inner = innerHeader(header);
  if ('responseRange' in op) return { Response: { response_range: rangeJson(inner, op.responseRange) } };
  if ('responsePut' in op) return { Response: { response_put: putJson(inner, op.responsePut) } };
  if ('responseDeleteRange' in op) return { Response: { response_delete_range: deleteJson(inner, op.responseDeleteRange) } };
  return { Response: { response_txn: txnJson(inner, op.responseTxn) } };
}

export function txnJson(header: ResponseHeader, response: TxnResponse): GoValue {
  return { header: headerJson(header), succeeded: onlyTrue(response.succeeded), responses: nonEmpty(response.responses.map((op) => responseOpJson(header, op))) };
}

export function memberJson(member: Member): GoValue {
  return {
    ID: id(member.id),
    name: member.name === '' ? undefined : member.name,
    peerURLs: nonEmpty(member.peerUrls),
    clientURLs: nonEmpty(member.clientUrls),
    isLearner: onlyTrue(member.isLearner),
  };
}

export function memberListJson(header: ResponseHeader, response: Pick<MemberListResponse, 'members'>): GoValue {
  return { header: headerJson(header), members: nonEmpty(response.members.map(memberJson)) };
}

export function memberAddJson(header: ResponseHeader, response: MemberAddResponse): GoValue {
  return { header: headerJson(header), member: memberJson(response.member), members: nonEmpty(response.members.map(memberJson)) };
}

export function statusJson(header: ResponseHeader, status: StatusResponse): GoValue {
  return {
    header: headerJson(header),
    version: status.version === '' ? undefined : status.version,
    dbSize: nonZero(status.dbSize),
    leader: id(status.leader),
    raftIndex: nonZero(status.raftIndex),
    raftTerm: nonZero(status.raftTerm),
    raftAppliedIndex: nonZero(status.raftAppliedIndex),
    errors: nonEmpty(status.errors),
    dbSizeInUse: nonZero(status.dbSizeInUse),
    isLearner: onlyTrue(status.isLearner),
  };
}

export function endpointStatusJson(list: readonly EndpointStatus[]): GoValue {
  return list.map((entry) => ({ Endpoint: entry.endpoint, Status: statusJson(entry.header, entry.status) }));
}

export function endpointHealthJson(list: readonly EndpointHealth[]): GoValue {
  return list.map((entry) => ({ endpoint: entry.endpoint, health: entry.health, took: entry.took, error: entry.error === '' ? undefined : entry.error }));
}

/** clientv3's lease responses embed the header: its fields sit beside the response's own. */
function embeddedHeader(header: ResponseHeader): { readonly [key: string]: GoValue } {
  return headerJson(header) as { readonly [key: string]: GoValue };
}

export function jsonPrinter(output: Output): Printer {
  const print = (value: GoValue) => output.out(`${goJson(value)}\n`);
  return {
    put: ({ header, response }) => print(putJson(header, response)),
    get: ({ header, response }) => print(rangeJson(header, response)),
    del: ({ header, response }) => print(deleteJson(header, response)),
    txn: ({ header, response }) => print(txnJson(header, response)),
    memberList: ({ header, response }) => print(memberListJson(header, response)),
    memberAdd: ({ header, response }) => print(memberAddJson(header, response)),
    memberRemove: (_id, { header, response }) => print(memberListJson(header, response)),
    memberPromote: (_id, { header, response }) => print(memberListJson(header, response)),
    leaseGrant: ({ header, response }) => print({ ...embeddedHeader(header), ID: response.id, TTL: response.ttl, Error: '' }),
    leaseRevoke: (_id, { header }) => print({ header: headerJson(header) }),
    leaseKeepAlive: ({ header, response }) => print({ ...embeddedHeader(header), ID: response.id, TTL: response.ttl }),
    leaseTimeToLive: ({ header, response }) =>
      print({ ...embeddedHeader(header), id: response.id, ttl: response.ttl, 'granted-ttl': response.grantedTtl, keys: response.keys.length === 0 ? undefined : response.keys.map((key) => Buffer.from(key).toString('base64')) }),
    leaseList: ({ header, response }) => print({ ...embeddedHeader(header), leases: response.leases.map((lease) => ({ id: lease.id })) }),
    endpointStatus: (list) => print(endpointStatusJson(list)),
    endpointHealth: (list) => print(endpointHealthJson(list)),
  };
}
