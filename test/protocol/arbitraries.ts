// fast-check arbitraries for the client API's requests and responses, in the canonical form the JSON codec
// decodes to: an optional field is either absent or holds a value other than its default.

import fc from 'fast-check';
import type { Method, Requests, Responses } from '../../src/protocol/api.js';
import type { Member, StatusResponse } from '../../src/protocol/cluster.js';
import type { LeaderKey } from '../../src/protocol/election.js';
import type { Compare, KeyValue, RangeRequest, RequestOp, ResponseHeader, ResponseOp, TxnRequest, TxnResponse } from '../../src/protocol/kv.js';

export const bytes = (maxLength = 24): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
const nonEmptyBytes = fc.uint8Array({ minLength: 1, maxLength: 24 });

/** 0 .. 2^53-1, with the edges and small values drawn often. */
export const count = fc.oneof(fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER), fc.nat({ max: 1000 }), fc.maxSafeNat());
const positive = fc.oneof(fc.constantFrom(1, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

/** A signed TTL: -1 (no such lease), 0, and any exact integer. */
const signed = fc.oneof(fc.constantFrom(-1, 0, 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER), fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger());

/** A 64-bit ID as 16 lowercase hex digits, the edges included. */
export const hexId = fc
  .oneof(fc.constantFrom(0n, 1n, (1n << 64n) - 1n, 1n << 63n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))
  .map((id) => id.toString(16).padStart(16, '0'));

const url = fc.webUrl({ withQueryParameters: false, withFragments: false });

export const header: fc.Arbitrary<ResponseHeader> = fc.record({ clusterId: hexId, memberId: hexId, revision: count, raftTerm: count });

const rangeRequest: fc.Arbitrary<RangeRequest> = fc.record(
  {
    key: bytes(),
    rangeEnd: nonEmptyBytes,
    limit: positive,
    revision: positive,
    sortOrder: fc.constantFrom('ascend' as const, 'descend' as const),
    sortTarget: fc.constantFrom('version' as const, 'create' as const, 'mod' as const, 'value' as const),
    serializable: fc.constant(true),
    keysOnly: fc.constant(true),
    countOnly: fc.constant(true),
    minModRevision: positive,
    maxModRevision: positive,
    minCreateRevision: positive,
    maxCreateRevision: positive,
  },
  { requiredKeys: ['key'] },
);

const putRequest = fc.record(
  { key: bytes(), value: bytes(64), lease: positive, prevKv: fc.constant(true), ignoreValue: fc.constant(true), ignoreLease: fc.constant(true) },
  { requiredKeys: ['key', 'value'] },
);

const deleteRangeRequest = fc.record({ key: bytes(), rangeEnd: nonEmptyBytes, prevKv: fc.constant(true) }, { requiredKeys: ['key'] });

const compareResult = fc.constantFrom('equal' as const, 'greater' as const, 'less' as const, 'not_equal' as const);
const compareBase = fc.record({ key: bytes(), rangeEnd: nonEmptyBytes, result: compareResult }, { requiredKeys: ['key', 'result'] });

export const compare: fc.Arbitrary<Compare> = fc.oneof(
  fc.tuple(compareBase, count).map(([base, version]): Compare => ({ ...base, target: 'version', version })),
  fc.tuple(compareBase, count).map(([base, createRevision]): Compare => ({ ...base, target: 'create', createRevision })),
  fc.tuple(compareBase, count).map(([base, modRevision]): Compare => ({ ...base, target: 'mod', modRevision })),
  fc.tuple(compareBase, bytes()).map(([base, value]): Compare => ({ ...base, target: 'value', value })),
  fc.tuple(compareBase, count).map(([base, lease]): Compare => ({ ...base, target: 'lease', lease })),
);

const kvTree = fc.letrec<{ txn: TxnRequest; op: RequestOp }>((tie) => ({
  txn: fc.record({
    compare: fc.array(compare, { maxLength: 3 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 3 }),
  }),
  op: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    rangeRequest.map((requestRange): RequestOp => ({ requestRange })),
    putRequest.map((requestPut): RequestOp => ({ requestPut })),
    deleteRangeRequest.map((requestDeleteRange): RequestOp => ({ requestDeleteRange })),
    tie('txn').map((requestTxn): RequestOp => ({ requestTxn })),
  ),
}));

const peerUrls = fc.array(url, { maxLength: 3 });

const name = fc.stringMatching(/^[a-z0-9._-]{1,12}$/);
const text = fc.string({ minLength: 1, maxLength: 12 });
const tags = fc.array(text, { minLength: 1, maxLength: 3 });
// Map keys without '_': the round trip also reads every name camel-cased, map keys included.
const metadataKey = fc.stringMatching(/^[a-zA-Z0-9. -]{1,12}$/);
const metadata = fc.dictionary(metadataKey, fc.string({ maxLength: 8 }), { minKeys: 1, maxKeys: 3 });
const healthCheck = fc.record(
  {
    type: fc.constantFrom('http' as const, 'tcp' as const),
    path: fc.constantFrom('/health', '/ready'),
    expectedStatus: fc.integer({ min: 100, max: 599 }),
    intervalMs: count,
    timeoutMs: count,
    healthyThreshold: positive,
    unhealthyThreshold: positive,
  },
  { requiredKeys: ['type', 'intervalMs', 'timeoutMs'] },
);
const serviceInstance = fc.record(
  {
    service: name,
    instance: name,
    address: text,
    port: count,
    tags: fc.array(text, { maxLength: 3 }),
    metadata: fc.dictionary(metadataKey, fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    weight: count,
    health: fc.constantFrom('passing' as const, 'critical' as const),
    check: healthCheck,
    lease: count,
    modRevision: count,
  },
  { requiredKeys: ['service', 'instance', 'address', 'port', 'tags', 'metadata', 'weight', 'health', 'lease', 'modRevision'] },
);

export const requests: { readonly [M in Method]: fc.Arbitrary<Requests[M]> } = {
  range: rangeRequest,
  put: putRequest,
  deleteRange: deleteRangeRequest,
  txn: kvTree.txn,
  compact: fc.record({ revision: count, physical: fc.constant(true) }, { requiredKeys: ['revision'] }),
  status: fc.constant({}),
  memberList: fc.record({ linearizable: fc.constant(true) }, { requiredKeys: [] }),
  memberAdd: fc.record({ peerUrls, isLearner: fc.constant(true) }, { requiredKeys: ['peerUrls'] }),
  memberRemove: fc.record({ id: hexId }),
  memberPromote: fc.record({ id: hexId }),
  leaseGrant: fc.record({ ttl: signed, id: positive }, { requiredKeys: ['ttl'] }),
  leaseRevoke: fc.record({ id: count }),
  leaseKeepAlive: fc.record({ id: count }),
  leaseTimeToLive: fc.record({ id: count, keys: fc.constant(true) }, { requiredKeys: ['id'] }),
  leaseLeases: fc.constant({}),
  putSequential: fc.record({ prefix: bytes(), value: bytes(), lease: positive, onePerLease: fc.constant(true as const) }, { requiredKeys: ['prefix', 'value'] }),
  lock: fc.record({ name: bytes(), lease: count, timeoutMs: positive }, { requiredKeys: ['name', 'lease'] }),
  unlock: fc.record({ key: bytes() }),
  campaign: fc.record({ name: bytes(), lease: count, value: bytes(), timeoutMs: positive }, { requiredKeys: ['name', 'lease', 'value'] }),
  proclaim: fc.record({ leader: leaderKey(), value: bytes() }),
  leader: fc.record({ name: bytes() }),
  observe: fc.record({ name: bytes() }),
  resign: fc.record({ leader: leaderKey() }),
  registryRegister: fc.record(
    { service: name, instance: name, address: text, port: count, lease: count, tags, metadata, weight: count, check: healthCheck },
    { requiredKeys: ['service', 'instance', 'address', 'port', 'lease'] },
  ),
  registryDeregister: fc.record({ service: name, instance: name }),
  registryList: fc.record({ service: name, tags, includeUnhealthy: fc.constant(true), revision: positive }, { requiredKeys: ['service'] }),
  workerAllocate: fc.record({ pool: name, lease: count, workerCount: positive }, { requiredKeys: ['pool', 'lease'] }),
  workerRelease: fc.record({ pool: name, workerId: count, lease: count }),
  segmentReserve: fc.record({ name, count }),
};

function leaderKey(): fc.Arbitrary<LeaderKey> {
  return fc.record({ name: bytes(), key: bytes(), rev: count, lease: count });
}

export const keyValue: fc.Arbitrary<KeyValue> = fc.record({ key: bytes(), createRevision: count, modRevision: count, version: count, value: bytes(64), lease: count });

const rangeResponse = fc.record({ kvs: fc.array(keyValue, { maxLength: 3 }), more: fc.boolean(), count });
const putResponse = fc.record({ prevKv: keyValue }, { requiredKeys: [] });
const deleteRangeResponse = fc.record({ deleted: count, prevKvs: fc.array(keyValue, { maxLength: 3 }) });

const responseTree = fc.letrec<{ txn: TxnResponse; op: ResponseOp }>((tie) => ({
  txn: fc.record({ succeeded: fc.boolean(), responses: fc.array(tie('op'), { maxLength: 3 }) }),
  op: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    rangeResponse.map((responseRange): ResponseOp => ({ responseRange })),
    putResponse.map((responsePut): ResponseOp => ({ responsePut })),
    deleteRangeResponse.map((responseDeleteRange): ResponseOp => ({ responseDeleteRange })),
    tie('txn').map((responseTxn): ResponseOp => ({ responseTxn })),
  ),
}));

export const member: fc.Arbitrary<Member> = fc.record({
  id: hexId,
  name: fc.string({ maxLength: 12 }),
  peerUrls,
  clientUrls: fc.array(url, { maxLength: 3 }),
  isLearner: fc.boolean(),
});
const members = fc.array(member, { maxLength: 4 });

const statusResponse: fc.Arbitrary<StatusResponse> = fc.record({
  version: fc.constantFrom('', '3.4.0', '0.1.0'),
  dbSize: count,
  dbSizeInUse: count,
  leader: hexId,
  raftIndex: count,
  raftTerm: count,
  raftAppliedIndex: count,
  errors: fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }),
  isLearner: fc.boolean(),
});

export const responses: { readonly [M in Method]: fc.Arbitrary<Responses[M]> } = {
  range: rangeResponse,
  put: putResponse,
  deleteRange: deleteRangeResponse,
  txn: responseTree.txn,
  compact: fc.constant({}),
  status: statusResponse,
  memberList: fc.record({ members }),
  memberAdd: fc.record({ member, members }),
  memberRemove: fc.record({ members }),
  memberPromote: fc.record({ members }),
  leaseGrant: fc.record({ id: count, ttl: signed }),
  leaseRevoke: fc.constant({}),
  leaseKeepAlive: fc.record({ id: count, ttl: signed }),
  leaseTimeToLive: fc.record({ id: count, ttl: signed, grantedTtl: signed, keys: fc.array(bytes(), { maxLength: 3 }) }),
  leaseLeases: fc.record({ leases: fc.array(fc.record({ id: count }), { maxLength: 3 }) }),
  putSequential: fc.record({ key: bytes(), createRevision: count, created: fc.boolean() }),
  lock: fc.record({ key: bytes(), fence: count }),
  unlock: fc.constant({}),
  campaign: fc.record({ leader: leaderKey() }),
  proclaim: fc.constant({}),
  leader: fc.record({ kv: keyValue }, { requiredKeys: [] }),
  observe: fc.record({ kv: keyValue }, { requiredKeys: [] }),
  resign: fc.constant({}),
  registryRegister: fc.constant({}),
  registryDeregister: fc.record({ deleted: count }),
  registryList: fc.record({ instances: fc.array(serviceInstance, { maxLength: 3 }) }),
  workerAllocate: fc.record({ workerId: count, notBeforeMs: count }),
  workerRelease: fc.constant({}),
  segmentReserve: fc.record({ start: count, count }),
};

export const METHODS = Object.keys(requests) as Method[];

/** Bytes from text, for readable examples. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
