// The key-value requests (etcdserverpb RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest with Compare and
// RequestOp, CompactionRequest) in JSON. Decoding yields our canonical form: an optional field is present only
// when it differs from its default, so decode(encode(request)) gives back a request written that way.

import { kvLimits } from '../limits.js';
import { ConclaveError } from './errors.js';
import type { Compare, CompareResult, CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, SortOrder, SortTarget, TxnRequest } from './kv.js';
import { boolOf, bytesOf, countOf, enumOf, JsonWriter, keyOf, listOf, type ProtoEnum } from './json-scalars.js';
import { assertObject, describeJson, encodingError, FieldReader, fieldPath, invalidField, type EncodeContext, type Field, type JsonObject } from './json-value.js';

export const SORT_ORDER: ProtoEnum<SortOrder> = { type: 'SortOrder', values: ['none', 'ascend', 'descend'], names: ['NONE', 'ASCEND', 'DESCEND'] };
export const SORT_TARGET: ProtoEnum<SortTarget> = {
  type: 'SortTarget',
  values: ['key', 'version', 'create', 'mod', 'value'],
  names: ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'],
};
export const COMPARE_RESULT: ProtoEnum<CompareResult> = {
  type: 'CompareResult',
  values: ['equal', 'greater', 'less', 'not_equal'],
  names: ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'],
};
export const COMPARE_TARGET: ProtoEnum<Compare['target']> = {
  type: 'CompareTarget',
  values: ['version', 'create', 'mod', 'value', 'lease'],
  names: ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'],
};

/** The member of Compare's target_union that each target reads. */
const UNION_FIELD = { version: 'version', create: 'create_revision', mod: 'mod_revision', value: 'value', lease: 'lease' } as const;

const REQUEST_OP_FIELDS = ['request_range', 'request_put', 'request_delete_range', 'request_txn'] as const;

/** Drops the properties set to undefined, so that a default reads as an absent optional field. */
function withoutUndefined<T extends object>(object: T): T {
  const record = object as Record<string, unknown>;
  for (const name of Object.keys(record)) if (record[name] === undefined) delete record[name];
  return object;
}

const nonZero = (value: number): number | undefined => (value === 0 ? undefined : value);
const nonEmpty = (value: Uint8Array): Uint8Array | undefined => (value.length === 0 ? undefined : value);
const onlyTrue = (value: boolean): true | undefined => (value ? true : undefined);
function nonDefault<T extends string>(value: T, protoEnum: ProtoEnum<T>): T | undefined {
  return value === protoEnum.values[0] ? undefined : value;
}

export function decodeRangeRequest(value: unknown, path: string): RangeRequest {
  const r = FieldReader.of(value, path, true, 'RangeRequest');
  const request: RangeRequest = withoutUndefined({
    key: keyOf(r.read('key')),
    rangeEnd: nonEmpty(keyOf(r.read('range_end'))),
    limit: nonZero(countOf(r.read('limit'))),
    revision: nonZero(countOf(r.read('revision'))),
    sortOrder: nonDefault(enumOf(r.read('sort_order'), SORT_ORDER), SORT_ORDER),
    sortTarget: nonDefault(enumOf(r.read('sort_target'), SORT_TARGET), SORT_TARGET),
    serializable: onlyTrue(boolOf(r.read('serializable'))),
    keysOnly: onlyTrue(boolOf(r.read('keys_only'))),
    countOnly: onlyTrue(boolOf(r.read('count_only'))),
    minModRevision: nonZero(countOf(r.read('min_mod_revision'))),
    maxModRevision: nonZero(countOf(r.read('max_mod_revision'))),
    minCreateRevision: nonZero(countOf(r.read('min_create_revision'))),
    maxCreateRevision: nonZero(countOf(r.read('max_create_revision'))),
  });
  r.finish();
  return request;
}

export function decodePutRequest(value: unknown, path: string): PutRequest {
  const r = FieldReader.of(value, path, true, 'PutRequest');
  const request: PutRequest = withoutUndefined({
    key: keyOf(r.read('key')),
    value: bytesOf(r.read('value')),
    lease: nonZero(countOf(r.read('lease'))),
    prevKv: onlyTrue(boolOf(r.read('prev_kv'))),
    ignoreValue: onlyTrue(boolOf(r.read('ignore_value'))),
    ignoreLease: onlyTrue(boolOf(r.read('ignore_lease'))),
  });
  r.finish();
  return request;
}

export function decodeDeleteRangeRequest(value: unknown, path: string): DeleteRangeRequest {
  const r = FieldReader.of(value, path, true, 'DeleteRangeRequest');
  const request: DeleteRangeRequest = withoutUndefined({
    key: keyOf(r.read('key')),
    rangeEnd: nonEmpty(keyOf(r.read('range_end'))),
    prevKv: onlyTrue(boolOf(r.read('prev_kv'))),
  });
  r.finish();
  return request;
}

export function decodeCompactionRequest(value: unknown, path: string): CompactionRequest {
  const r = FieldReader.of(value, path, true, 'CompactionRequest');
  const request: CompactionRequest = withoutUndefined({ revision: countOf(r.read('revision')), physical: onlyTrue(boolOf(r.read('physical'))) });
  r.finish();
  return request;
}

/**
 * A compare holds one member of target_union. etcd reads the member its target names and takes the default
 * when another is set; here a member that does not match the target is refused instead of silently ignored.
 */
export function decodeCompare(value: unknown, path: string): Compare {
  const r = FieldReader.of(value, path, true, 'Compare');
  const result = enumOf(r.read('result'), COMPARE_RESULT);
  const target = enumOf(r.read('target'), COMPARE_TARGET);
  const key = keyOf(r.read('key'));
  const members = (Object.keys(UNION_FIELD) as (keyof typeof UNION_FIELD)[]).map((name) => ({ target: name, field: r.read(UNION_FIELD[name]) }));
  const rangeEnd = nonEmpty(keyOf(r.read('range_end')));
  r.finish();
  const given = members.filter((member) => member.field !== undefined);
  if (given.length > 1) throw invalidField(path, `more than one of version, create_revision, mod_revision, value, lease (${given.map((member) => member.field?.path).join(', ')})`);
  const member = given[0];
  if (member?.field !== undefined && member.target !== target) {
    throw invalidField(member.field.path, `given with target ${COMPARE_TARGET.names[COMPARE_TARGET.values.indexOf(target)]}, which compares ${UNION_FIELD[target]}`);
  }
  const operand = member?.field;
  const base = withoutUndefined({ key, rangeEnd, result });
  switch (target) {
    case 'version':
      return { ...base, target, version: countOf(operand) };
    case 'create':
      return { ...base, target, createRevision: countOf(operand) };
    case 'mod':
      return { ...base, target, modRevision: countOf(operand) };
    case 'value':
      return { ...base, target, value: bytesOf(operand) };
    case 'lease':
      return { ...base, target, lease: countOf(operand) };
  }
}

/** `depth` is the nesting of the txn this op belongs to: 0 for the request itself. */
export function decodeRequestOp(value: unknown, path: string, depth: number): RequestOp {
  const r = FieldReader.of(value, path, true, 'RequestOp');
  const [range, put, deleteRange, txn] = REQUEST_OP_FIELDS.map((name) => r.read(name));
  r.finish();
  const given = [range, put, deleteRange, txn].filter((field): field is Field => field !== undefined);
  if (given.length === 0) throw invalidField(path, `expected one of ${REQUEST_OP_FIELDS.join(', ')}`);
  if (given.length > 1) throw invalidField(path, `more than one of ${REQUEST_OP_FIELDS.join(', ')} (${given.map((field) => field.path).join(', ')})`);
  if (range !== undefined) return { requestRange: decodeRangeRequest(range.value, range.path) };
  if (put !== undefined) return { requestPut: decodePutRequest(put.value, put.path) };
  if (deleteRange !== undefined) return { requestDeleteRange: decodeDeleteRangeRequest(deleteRange.value, deleteRange.path) };
  const nested = given[0] as Field;
  if (depth + 1 > kvLimits.maxTxnDepth) throw txnTooDeep(nested.path);
  return { requestTxn: decodeTxnRequest(nested.value, nested.path, depth + 1) };
}

export function decodeTxnRequest(value: unknown, path: string, depth = 0): TxnRequest {
  const r = FieldReader.of(value, path, true, 'TxnRequest');
  const request: TxnRequest = {
    compare: listOf(r.read('compare'), decodeCompare),
    success: listOf(r.read('success'), (op, opPath) => decodeRequestOp(op, opPath, depth)),
    failure: listOf(r.read('failure'), (op, opPath) => decodeRequestOp(op, opPath, depth)),
  };
  r.finish();
  return request;
}

function txnTooDeep(path: string): ConclaveError {
  return new ConclaveError('ErrTxnTooDeep', `${path}: more than kvLimits.maxTxnDepth (${kvLimits.maxTxnDepth}) levels of txns nested in txns`);
}


export function encodeRangeRequest(request: RangeRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'RangeRequest');
  return new JsonWriter(path, context)
    .key('key', request.key)
    .key('range_end', request.rangeEnd)
    .count('limit', request.limit)
    .count('revision', request.revision)
    .enum('sort_order', request.sortOrder, SORT_ORDER)
    .enum('sort_target', request.sortTarget, SORT_TARGET)
    .bool('serializable', request.serializable)
    .bool('keys_only', request.keysOnly)
    .bool('count_only', request.countOnly)
    .count('min_mod_revision', request.minModRevision)
    .count('max_mod_revision', request.maxModRevision)
    .count('min_create_revision', request.minCreateRevision)
    .count('max_create_revision', request.maxCreateRevision).json;
}

export function encodePutRequest(request: PutRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'PutRequest');
  return new JsonWriter(path, context)
    .key('key', request.key)
    .bytes('value', request.value)
    .count('lease', request.lease)
    .bool('prev_kv', request.prevKv)
    .bool('ignore_value', request.ignoreValue)
    .bool('ignore_lease', request.ignoreLease).json;
}

export function encodeDeleteRangeRequest(request: DeleteRangeRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'DeleteRangeRequest');
  return new JsonWriter(path, context).key('key', request.key).key('range_end', request.rangeEnd).bool('prev_kv', request.prevKv).json;
}

export function encodeCompactionRequest(request: CompactionRequest, path: string, context: EncodeContext): JsonObject {
  assertObject(request, path, context, 'CompactionRequest');
  return new JsonWriter(path, context).count('revision', request.revision).bool('physical', request.physical).json;
}

export function encodeCompare(compare: Compare, path: string, context: EncodeContext): JsonObject {
  assertObject(compare, path, context, 'Compare');
  const writer = new JsonWriter(path, context).enum('result', compare.result, COMPARE_RESULT).enum('target', compare.target, COMPARE_TARGET).key('key', compare.key);
  // jsonpb writes a set oneof member even when it holds its default, so `"version":"0"` is kept.
  const operand = UNION_FIELD[compare.target];
  const missing = (): never => {
    throw encodingError(context, writer.fieldPath(operand), `missing for target ${compare.target}`);
  };
  switch (compare.target) {
    case 'version':
      writer.count(operand, compare.version ?? missing(), true);
      break;
    case 'create':
      writer.count(operand, compare.createRevision ?? missing(), true);
      break;
    case 'mod':
      writer.count(operand, compare.modRevision ?? missing(), true);
      break;
    case 'value':
      writer.bytes(operand, compare.value ?? missing(), true);
      break;
    case 'lease':
      writer.count(operand, compare.lease ?? missing(), true);
      break;
  }
  return writer.key('range_end', compare.rangeEnd).json;
}

export function encodeRequestOp(op: RequestOp, path: string, depth: number, context: EncodeContext): JsonObject {
  assertObject(op, path, context, 'RequestOp');
  const given = ['requestRange', 'requestPut', 'requestDeleteRange', 'requestTxn'].filter((name) => Object.hasOwn(op, name));
  if (given.length !== 1) throw encodingError(context, path, `expected exactly one of requestRange, requestPut, requestDeleteRange, requestTxn, got ${given.length}`);
  const json: JsonObject = {};
  if ('requestRange' in op) json['request_range'] = encodeRangeRequest(op.requestRange, fieldPath(path, 'request_range'), context);
  else if ('requestPut' in op) json['request_put'] = encodePutRequest(op.requestPut, fieldPath(path, 'request_put'), context);
  else if ('requestDeleteRange' in op) json['request_delete_range'] = encodeDeleteRangeRequest(op.requestDeleteRange, fieldPath(path, 'request_delete_range'), context);
  else {
    const nestedPath = fieldPath(path, 'request_txn');
    if (depth + 1 > kvLimits.maxTxnDepth) throw txnTooDeep(nestedPath);
    json['request_txn'] = encodeTxnRequest(op.requestTxn, nestedPath, context, depth + 1);
  }
  return json;
}

export function encodeTxnRequest(request: TxnRequest, path: string, context: EncodeContext, depth = 0): JsonObject {
  assertObject(request, path, context, 'TxnRequest');
  return new JsonWriter(path, context)
    .list('compare', request.compare, (compare, comparePath) => encodeCompare(compare, comparePath, context))
    .list('success', request.success, (op, opPath) => encodeRequestOp(op, opPath, depth, context))
    .list('failure', request.failure, (op, opPath) => encodeRequestOp(op, opPath, depth, context)).json;
}
