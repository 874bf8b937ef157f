// Malformed input, row by row: each gets its error code and a detail naming the field (the path inside the
// message) and what is wrong with it. Never a crash, never a silently wrong value.

import { describe, expect, it } from 'vitest';
import type { Method } from '../../src/protocol/api.js';
import { ConclaveError, type ErrorCode } from '../../src/protocol/errors.js';
import { decodeHealth, decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/json.js';
import { kvLimits } from '../../src/limits.js';
import type { TxnRequest } from '../../src/protocol/kv.js';

const base64Of = (length: number): string => Buffer.alloc(length, 0x61).toString('base64');

/** A txn whose success branch nests `levels` txns, one in the other. */
function nestedTxn(levels: number): unknown {
  let txn: unknown = { success: [{ request_put: { key: 'Zm9v' } }] };
  for (let level = 0; level < levels; level++) txn = { success: [{ request_txn: txn }] };
  return txn;
}
const nestedPath = (levels: number): string => Array.from({ length: levels }, () => 'success[0].request_txn').join('.');

function thrown(run: () => unknown): ConclaveError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConclaveError) return error;
    throw error;
  }
  throw new Error('expected a ConclaveError, nothing was thrown');
}

type Row = readonly [string, Method, unknown, ErrorCode, string];

const REQUESTS: readonly Row[] = [
  // The body itself.
  ['an array body', 'range', [], 'ErrInvalidField', 'body: expected a JSON object (RangeRequest), got an array'],
  ['a string body', 'put', 'Zm9v', 'ErrInvalidField', 'body: expected a JSON object (PutRequest), got a string'],
  ['a null body', 'status', null, 'ErrInvalidField', 'body: expected a JSON object (StatusRequest), got null'],
  ['a number body', 'memberList', 1, 'ErrInvalidField', 'body: expected a JSON object (MemberListRequest), got a number'],
  // Bytes.
  ['a number as key', 'range', { key: 5 }, 'ErrInvalidField', 'key: expected a base64 string, got a number'],
  ['truncated base64', 'range', { key: 'Zm9' }, 'ErrInvalidField', 'key: not valid base64'],
  ['unpadded base64 (Go StdEncoding needs the padding)', 'range', { key: 'AA==', range_end: 'AA' }, 'ErrInvalidField', 'range_end: not valid base64'],
  ['URL-safe base64', 'range', { key: 'Zm9v', range_end: '_-8=' }, 'ErrInvalidField', 'range_end: not valid base64'],
  ['padding in the middle', 'put', { key: 'Zg==Zm9v' }, 'ErrInvalidField', 'key: not valid base64'],
  ['a camelCase field keeps the name it was sent under', 'range', { key: 'Zm9v', rangeEnd: 'a b=' }, 'ErrInvalidField', 'rangeEnd: not valid base64'],
  ['a value that is not base64', 'put', { key: 'Zm9v', value: 'bar!' }, 'ErrInvalidField', 'value: not valid base64'],
  // Integers.
  ['a fractional number', 'range', { key: 'Zm9v', limit: 1.5 }, 'ErrInvalidField', 'limit: not an integer (1.5)'],
  ['a fractional string', 'range', { limit: '1.5' }, 'ErrInvalidField', 'limit: not a decimal integer ("1.5")'],
  ['an exponent in a string', 'range', { limit: '1e3' }, 'ErrInvalidField', 'limit: not a decimal integer ("1e3")'],
  ['a leading zero', 'range', { revision: '012' }, 'ErrInvalidField', 'revision: not a decimal integer ("012")'],
  ['a leading plus', 'range', { revision: '+12' }, 'ErrInvalidField', 'revision: not a decimal integer ("+12")'],
  ['spaces around the digits', 'range', { revision: ' 12' }, 'ErrInvalidField', 'revision: not a decimal integer (" 12")'],
  ['a negative number', 'range', { limit: -1 }, 'ErrInvalidField', 'limit: negative (-1)'],
  ['a negative string', 'range', { revision: '-5' }, 'ErrInvalidField', 'revision: negative (-5)'],
  ['a JSON number past 2^53-1', 'range', { revision: 2 ** 53 }, 'ErrInvalidField', 'revision: a JSON number beyond 2^53-1 is not exact (9007199254740992); send it as a decimal string'],
  ['a string past 2^53-1', 'range', { min_mod_revision: '9007199254740992' }, 'ErrInvalidField', 'min_mod_revision: above 2^53-1 (9007199254740992)'],
  ['a string past int64', 'put', { lease: '99999999999999999999999' }, 'ErrInvalidField', 'lease: above 2^53-1 (99999999999999999999999)'],
  ['a boolean as integer', 'range', { revision: true }, 'ErrInvalidField', 'revision: expected an integer (a decimal string or a number), got a boolean'],
  ['an object as integer', 'compact', { revision: {} }, 'ErrInvalidField', 'revision: expected an integer (a decimal string or a number), got an object'],
  ['a negative lease', 'put', { key: 'Zm9v', lease: '-1' }, 'ErrInvalidField', 'lease: negative (-1)'],
  // Enums.
  ['an unknown enum name', 'range', { sort_order: 'UP' }, 'ErrInvalidField', 'sort_order: unknown SortOrder "UP" (expected one of NONE, ASCEND, DESCEND)'],
  ['an enum name in lower case', 'range', { sortOrder: 'ascend' }, 'ErrInvalidField', 'sortOrder: unknown SortOrder "ascend" (expected one of NONE, ASCEND, DESCEND)'],
  ['an enum number out of range', 'range', { sort_target: 9 }, 'ErrInvalidField', 'sort_target: unknown SortTarget 9 (expected one of KEY, VERSION, CREATE, MOD, VALUE)'],
  ['an enum number in a string (jsonpb reads strings as names)', 'range', { sort_target: '1' }, 'ErrInvalidField', 'sort_target: unknown SortTarget "1" (expected one of KEY, VERSION, CREATE, MOD, VALUE)'],
  ['a fractional enum number', 'range', { sort_target: 1.5 }, 'ErrInvalidField', 'sort_target: unknown SortTarget 1.5 (expected one of KEY, VERSION, CREATE, MOD, VALUE)'],
  ['a boolean as enum', 'range', { sort_order: true }, 'ErrInvalidField', 'sort_order: expected a SortOrder name, got a boolean'],
  // Booleans and strings.
  ['a string as boolean', 'range', { serializable: 'true' }, 'ErrInvalidField', 'serializable: expected true or false, got a string'],
  ['a number as boolean', 'put', { key: 'Zm9v', prev_kv: 1 }, 'ErrInvalidField', 'prev_kv: expected true or false, got a number'],
  ['a string as boolean (camelCase)', 'deleteRange', { key: 'Zm9v', prevKv: 'yes' }, 'ErrInvalidField', 'prevKv: expected true or false, got a string'],
  ['a boolean as physical', 'compact', { revision: '3', physical: 'no' }, 'ErrInvalidField', 'physical: expected true or false, got a string'],
  ['a number as linearizable', 'memberList', { linearizable: 1 }, 'ErrInvalidField', 'linearizable: expected true or false, got a number'],
  // Unknown and doubled fields.
  ['an unknown field', 'range', { key: 'Zm9v', keyz: 1 }, 'ErrUnknownField', 'keyz'],
  ['a field in the wrong case', 'range', { Key: 'Zm9v' }, 'ErrUnknownField', 'Key'],
  ['a field of another message', 'put', { key: 'Zm9v', range_end: 'AA==' }, 'ErrUnknownField', 'range_end'],
  ['any field of a status request', 'status', { serializable: true }, 'ErrUnknownField', 'serializable'],
  ['a field under both of its names', 'range', { range_end: 'AA==', rangeEnd: 'AA==' }, 'ErrInvalidField', 'range_end: given twice, as range_end and as rangeEnd'],
  // Sizes.
  ['a key over kvLimits.maxKeyBytes', 'range', { key: base64Of(kvLimits.maxKeyBytes + 1) }, 'ErrKeyTooLarge', `key: ${kvLimits.maxKeyBytes + 1} bytes, above kvLimits.maxKeyBytes (${kvLimits.maxKeyBytes})`],
  ['a range end over kvLimits.maxKeyBytes', 'deleteRange', { key: 'AA==', range_end: base64Of(kvLimits.maxKeyBytes + 1) }, 'ErrKeyTooLarge', `range_end: ${kvLimits.maxKeyBytes + 1} bytes, above kvLimits.maxKeyBytes (${kvLimits.maxKeyBytes})`],
  ['a put key over kvLimits.maxKeyBytes', 'put', { key: base64Of(kvLimits.maxKeyBytes + 1), value: 'YmFy' }, 'ErrKeyTooLarge', `key: ${kvLimits.maxKeyBytes + 1} bytes, above kvLimits.maxKeyBytes (${kvLimits.maxKeyBytes})`],
  // Txn.
  ['a compare that is not a list', 'txn', { compare: {} }, 'ErrInvalidField', 'compare: expected an array, got an object'],
  ['a null compare', 'txn', { compare: [null] }, 'ErrInvalidField', 'compare[0]: null in a list'],
  ['a compare that is not an object', 'txn', { compare: ['Zm9v'] }, 'ErrInvalidField', 'compare[0]: expected a JSON object (Compare), got a string'],
  ['a compare operand that its target does not read', 'txn', { compare: [{ target: 'VALUE', version: '3' }] }, 'ErrInvalidField', 'compare[0].version: given with target VALUE, which compares value'],
  ['a compare operand for the default target', 'txn', { compare: [{ key: 'Zm9v', value: 'YmFy' }] }, 'ErrInvalidField', 'compare[0].value: given with target VERSION, which compares version'],
  ['two compare operands', 'txn', { compare: [{ version: '1', modRevision: '2' }] }, 'ErrInvalidField', 'compare[0]: more than one of version, create_revision, mod_revision, value, lease (compare[0].version, compare[0].modRevision)'],
  ['an unknown compare result', 'txn', { compare: [{ result: 'EQUALS' }] }, 'ErrInvalidField', 'compare[0].result: unknown CompareResult "EQUALS" (expected one of EQUAL, GREATER, LESS, NOT_EQUAL)'],
  ['an unknown compare target', 'txn', { compare: [{ target: 'lease' }] }, 'ErrInvalidField', 'compare[0].target: unknown CompareTarget "lease" (expected one of VERSION, CREATE, MOD, VALUE, LEASE)'],
  ['a compare value that is not base64', 'txn', { compare: [{ target: 'VALUE', value: '%%%%' }] }, 'ErrInvalidField', 'compare[0].value: not valid base64'],
  ['an unknown field of a compare', 'txn', { compare: [{ key: 'Zm9v', foo: 1 }] }, 'ErrUnknownField', 'compare[0].foo'],
  ['a compare key over the limit', 'txn', { compare: [{ key: base64Of(kvLimits.maxKeyBytes + 1) }] }, 'ErrKeyTooLarge', `compare[0].key: ${kvLimits.maxKeyBytes + 1} bytes, above kvLimits.maxKeyBytes (${kvLimits.maxKeyBytes})`],
  ['an empty request op (etcd refuses it too)', 'txn', { success: [{}] }, 'ErrInvalidField', 'success[0]: expected one of request_range, request_put, request_delete_range, request_txn'],
  ['a request op with two requests', 'txn', { failure: [{ request_put: { key: 'Zm9v' }, requestRange: { key: 'Zm9v' } }] }, 'ErrInvalidField', 'failure[0]: more than one of request_range, request_put, request_delete_range, request_txn (failure[0].requestRange, failure[0].request_put)'],
  ['a bad value inside an op', 'txn', { failure: [{ request_put: { key: 'Zm9v', value: '!' } }] }, 'ErrInvalidField', 'failure[0].request_put.value: not valid base64'],
  ['an unknown field inside an op', 'txn', { success: [{ requestPut: { key: 'Zm9v', extra: 1 } }] }, 'ErrUnknownField', 'success[0].requestPut.extra'],
  ['an unknown kind of op', 'txn', { success: [{ request_watch: {} }] }, 'ErrUnknownField', 'success[0].request_watch'],
  ['a bad field deep inside nested txns', 'txn', { success: [{ request_txn: { failure: [{ request_delete_range: { key: 'Zm9v', range_end: 7 } }] } }] }, 'ErrInvalidField', 'success[0].request_txn.failure[0].request_delete_range.range_end: expected a base64 string, got a number'],
  ['txns nested past kvLimits.maxTxnDepth', 'txn', nestedTxn(kvLimits.maxTxnDepth + 1), 'ErrTxnTooDeep', `${nestedPath(kvLimits.maxTxnDepth + 1)}: more than kvLimits.maxTxnDepth (${kvLimits.maxTxnDepth}) levels of txns nested in txns`],
  // Cluster.
  ['peer URLs that are not a list', 'memberAdd', { peerURLs: 'http://10.0.0.4:2380' }, 'ErrInvalidField', 'peerURLs: expected an array, got a string'],
  ['a peer URL that is not a string', 'memberAdd', { peerURLs: ['http://10.0.0.4:2380', 1] }, 'ErrInvalidField', 'peerURLs[1]: expected a string, got a number'],
  ['a null peer URL', 'memberAdd', { peerURLs: [null] }, 'ErrInvalidField', 'peerURLs[0]: null in a list'],
  ['peer URLs in snake case (the proto name is peerURLs)', 'memberAdd', { peer_urls: [] }, 'ErrUnknownField', 'peer_urls'],
  ['peer URLs in another camel case', 'memberAdd', { peerUrls: [] }, 'ErrUnknownField', 'peerUrls'],
  ['a negative member ID', 'memberRemove', { ID: '-1' }, 'ErrInvalidField', 'ID: negative (-1)'],
  ['a member ID past 2^64-1', 'memberRemove', { ID: '18446744073709551616' }, 'ErrInvalidField', 'ID: above 2^64-1 (18446744073709551616)'],
  ['a member ID as an inexact JSON number', 'memberPromote', { ID: 2 ** 64 }, 'ErrInvalidField', 'ID: a JSON number beyond 2^53-1 is not exact (18446744073709552000); send it as a decimal string'],
  ['a member ID in hex', 'memberPromote', { ID: '8e9e05c52164694d' }, 'ErrInvalidField', 'ID: not a decimal integer ("8e9e05c52164694d")'],
  ['a member ID in lower case', 'memberRemove', { id: '1' }, 'ErrUnknownField', 'id'],
];

describe('decodeRequest refuses', () => {
  it.each(REQUESTS)('%s', (_name, method, body, code, detail) => {
    const error = thrown(() => decodeRequest(method, body));
    expect({ code: error.code, detail: error.detail }).toEqual({ code, detail });
  });

  it('accepts txns nested exactly kvLimits.maxTxnDepth deep', () => {
    const request = decodeRequest('txn', nestedTxn(kvLimits.maxTxnDepth));
    expect(request.success).toHaveLength(1);
  });

  it('accepts a key of exactly kvLimits.maxKeyBytes', () => {
    expect(decodeRequest('put', { key: base64Of(kvLimits.maxKeyBytes) }).key).toHaveLength(kvLimits.maxKeyBytes);
  });
});

const RESPONSES: readonly Row[] = [
  ['an array body', 'range', [], 'ErrInvalidField', 'body: expected a JSON object (RangeResponse), got an array'],
  ['a header that is not an object', 'put', { header: 'x' }, 'ErrInvalidField', 'header: expected a JSON object (ResponseHeader), got a string'],
  ['a negative cluster ID', 'status', { header: { cluster_id: '-1' } }, 'ErrInvalidField', 'header.cluster_id: negative (-1)'],
  ['a key that is not base64', 'range', { kvs: [{ key: 'x!' }] }, 'ErrInvalidField', 'kvs[0].key: not valid base64'],
  ['a negative count', 'range', { count: -1 }, 'ErrInvalidField', 'count: negative (-1)'],
  ['a more that is not a boolean', 'range', { more: 'false' }, 'ErrInvalidField', 'more: expected true or false, got a string'],
  ['a prev_kv that is not an object', 'put', { prev_kv: [] }, 'ErrInvalidField', 'prev_kv: expected a JSON object (KeyValue), got an array'],
  ['an empty response op', 'txn', { responses: [{}] }, 'ErrInvalidField', 'responses[0]: expected exactly one of response_range, response_put, response_delete_range, response_txn'],
  ['two responses in one op', 'txn', { responses: [{ response_put: {}, response_range: {} }] }, 'ErrInvalidField', 'responses[0]: expected exactly one of response_range, response_put, response_delete_range, response_txn (responses[0].response_range, responses[0].response_put)'],
  ['a bad nested header', 'txn', { responses: [{ response_put: { header: { revision: 'x' } } }] }, 'ErrInvalidField', 'responses[0].response_put.header.revision: not a decimal integer ("x")'],
  ['a member add without its member', 'memberAdd', { members: [] }, 'ErrInvalidField', 'member: missing from MemberAddResponse'],
  ['a leader that is not an ID', 'status', { leader: 'abc' }, 'ErrInvalidField', 'leader: not a decimal integer ("abc")'],
  ['errors that are not strings', 'status', { errors: [1] }, 'ErrInvalidField', 'errors[0]: expected a string, got a number'],
  ['a member name that is not a string', 'memberList', { members: [{ ID: '1', name: 5 }] }, 'ErrInvalidField', 'members[0].name: expected a string, got a number'],
];

describe('decodeResponse refuses', () => {
  it.each(RESPONSES)('%s', (_name, method, body, code, detail) => {
    const error = thrown(() => decodeResponse(method, body));
    expect({ code: error.code, detail: error.detail }).toEqual({ code, detail });
  });

  it('responses nested past kvLimits.maxTxnDepth', () => {
    let txn: unknown = { succeeded: true };
    for (let level = 0; level <= kvLimits.maxTxnDepth; level++) txn = { responses: [{ response_txn: txn }] };
    expect(thrown(() => decodeResponse('txn', txn)).code).toBe('ErrInvalidField');
  });

  it('but skips fields it does not know, as a reader of an older proto does', () => {
    const body = { header: { revision: '4', cluster_id: '1', storage_version: '3.6' }, kvs: [], count: '0', dbSizeQuota: '1', kvs_extra: [{}] };
    expect(decodeResponse('range', body)).toEqual({ header: { clusterId: '0000000000000001', memberId: '0000000000000000', revision: 4, raftTerm: 0 }, response: { kvs: [], more: false, count: 0 } });
  });

  it('reads an absent header as the zero header', () => {
    expect(decodeResponse('compact', {}).header).toEqual({ clusterId: '0000000000000000', memberId: '0000000000000000', revision: 0, raftTerm: 0 });
  });
});

describe('decodeHealth refuses', () => {
  it.each([
    [{ health: 'yes' }, 'health: expected "true" or "false", got "yes"'],
    [{ health: 1 }, 'health: expected "true" or "false", got a number'],
    [{}, 'health: expected "true" or "false", got nothing'],
    [[], 'body: expected a JSON object (health), got an array'],
  ])('%j', (body, detail) => {
    const error = thrown(() => decodeHealth(body));
    expect({ code: error.code, detail: error.detail }).toEqual({ code: 'ErrInvalidField', detail });
  });
});

describe('encodeRequest refuses what decodeRequest would', () => {
  const key = new Uint8Array([1]);
  it.each([
    ['a key that is not bytes', () => encodeRequest('range', { key: 'foo' as unknown as Uint8Array }), 'ErrInvalidField', 'key: expected a Uint8Array, got a string'],
    ['a fractional limit', () => encodeRequest('range', { key, limit: 1.5 }), 'ErrInvalidField', 'limit: expected an integer from 0 to 2^53-1, got 1.5'],
    ['a negative revision', () => encodeRequest('compact', { revision: -1 }), 'ErrInvalidField', 'revision: expected an integer from 0 to 2^53-1, got -1'],
    ['an unsafe lease', () => encodeRequest('put', { key, value: key, lease: 2 ** 53 }), 'ErrInvalidField', 'lease: expected an integer from 0 to 2^53-1, got 9007199254740992'],
    ['an unknown sort order', () => encodeRequest('range', { key, sortOrder: 'up' as 'ascend' }), 'ErrInvalidField', 'sort_order: expected one of none, ascend, descend, got "up"'],
    ['an ID that is not 16 hex digits', () => encodeRequest('memberRemove', { id: '12' }), 'ErrInvalidField', 'ID: expected 16 lowercase hex digits, got "12"'],
    ['a peer URL that is not a string', () => encodeRequest('memberAdd', { peerUrls: [7 as unknown as string] }), 'ErrInvalidField', 'peerURLs[0]: expected a string, got a number'],
    ['a key over the limit', () => encodeRequest('put', { key: new Uint8Array(kvLimits.maxKeyBytes + 1), value: key }), 'ErrKeyTooLarge', `key: ${kvLimits.maxKeyBytes + 1} bytes, above kvLimits.maxKeyBytes (${kvLimits.maxKeyBytes})`],
    ['a compare without its operand', () => encodeRequest('txn', { compare: [{ key, result: 'equal', target: 'mod' } as never], success: [], failure: [] }), 'ErrInvalidField', 'compare[0].mod_revision: missing for target mod'],
    ['an op with no request', () => encodeRequest('txn', { compare: [], success: [{} as never], failure: [] }), 'ErrInvalidField', 'success[0]: expected exactly one of requestRange, requestPut, requestDeleteRange, requestTxn, got 0'],
    ['a request that is not an object', () => encodeRequest('range', null as never), 'ErrInvalidField', 'request: expected a RangeRequest, got null'],
    [
      'txns nested past the limit',
      () => encodeRequest('txn', txnChain(kvLimits.maxTxnDepth + 1)),
      'ErrTxnTooDeep',
      `${nestedPath(kvLimits.maxTxnDepth + 1)}: more than kvLimits.maxTxnDepth (${kvLimits.maxTxnDepth}) levels of txns nested in txns`,
    ],
  ] as const)('%s', (_name, run, code, detail) => {
    const error = thrown(run);
    expect({ code: error.code, detail: error.detail }).toEqual({ code, detail });
  });

  it('and a bad response is the server\'s bug: ErrInternal', () => {
    const header = { clusterId: '0000000000000001', memberId: '0000000000000002', revision: 1, raftTerm: 1 };
    const error = thrown(() => encodeResponse('range', header, { kvs: [], more: false, count: -3 }));
    expect({ code: error.code, detail: error.detail }).toEqual({ code: 'ErrInternal', detail: 'count: expected an integer from 0 to 2^53-1, got -3' });
    expect(thrown(() => encodeResponse('status', { ...header, memberId: 'nope' }, {} as never)).detail).toBe('header.member_id: expected 16 lowercase hex digits, got "nope"');
    expect(thrown(() => encodeResponse('range', header, undefined as never)).detail).toBe('response: expected a RangeResponse, got undefined');
    expect(thrown(() => encodeResponse('txn', header, { succeeded: true, responses: [{} as never] })).detail).toBe(
      'responses[0]: expected one of responseRange, responsePut, responseDeleteRange, responseTxn',
    );
  });
});

/** A typed txn nesting `levels` txns (built by hand: the codec's decoder would refuse it). */
function txnChain(levels: number): TxnRequest {
  let txn: TxnRequest = { compare: [], success: [], failure: [] };
  for (let level = 0; level < levels; level++) txn = { compare: [], success: [{ requestTxn: txn }], failure: [] };
  return txn;
}
