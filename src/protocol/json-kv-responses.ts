// The key-value responses in JSON (mvccpb.KeyValue, RangeResponse, PutResponse, DeleteRangeResponse, TxnResponse
// with ResponseOp; a CompactionResponse has no fields and uses the shared empty codec). The top-level header is the caller's (src/protocol/json.ts); these
// functions write and read the fields after it, so the same code serves a response and one nested in a txn.

import { kvLimits } from '../limits.js';
import type { DeleteRangeResponse, KeyValue, PutResponse, RangeResponse, ResponseOp, TxnResponse } from './kv.js';
import { decodeHeader, encodeNestedHeader } from './json-header.js';
import { boolOf, bytesOf, countOf, JsonWriter, listOf } from './json-scalars.js';
import { encodingError, FieldReader, fieldPath, invalidField, type EncodeContext, type Field, type JsonObject } from './json-value.js';

const RESPONSE_OP_FIELDS = ['response_range', 'response_put', 'response_delete_range', 'response_txn'] as const;

export function encodeKeyValue(kv: KeyValue, path: string, context: EncodeContext): JsonObject {
  if (typeof kv !== 'object' || kv === null) throw encodingError(context, path, 'expected a KeyValue');
  return new JsonWriter(path, context)
    .bytes('key', kv.key)
    .count('create_revision', kv.createRevision)
    .count('mod_revision', kv.modRevision)
    .count('version', kv.version)
    .bytes('value', kv.value)
    .count('lease', kv.lease).json;
}

export function decodeKeyValue(value: unknown, path: string): KeyValue {
  const r = FieldReader.of(value, path, false, 'KeyValue');
  const kv: KeyValue = {
    key: bytesOf(r.read('key')),
    createRevision: countOf(r.read('create_revision')),
    modRevision: countOf(r.read('mod_revision')),
    version: countOf(r.read('version')),
    value: bytesOf(r.read('value')),
    lease: countOf(r.read('lease')),
  };
  r.finish();
  return kv;
}

const keyValues = (writer: JsonWriter, name: string, kvs: readonly KeyValue[]): JsonWriter =>
  writer.list(name, kvs, (kv, path) => encodeKeyValue(kv, path, writer.context));

export function encodeRangeResponse(writer: JsonWriter, response: RangeResponse): void {
  keyValues(writer, 'kvs', response.kvs).bool('more', response.more).count('count', response.count);
}

export function encodePutResponse(writer: JsonWriter, response: PutResponse): void {
  if (response.prevKv !== undefined) writer.message('prev_kv', encodeKeyValue(response.prevKv, writer.fieldPath('prev_kv'), writer.context));
}

export function encodeDeleteRangeResponse(writer: JsonWriter, response: DeleteRangeResponse): void {
  keyValues(writer.count('deleted', response.deleted), 'prev_kvs', response.prevKvs);
}

/** `revision` goes into the header of each nested response. */
export function encodeTxnResponse(writer: JsonWriter, response: TxnResponse, revision: number, depth = 0): void {
  writer.bool('succeeded', response.succeeded).list('responses', response.responses, (op, path) => encodeResponseOp(op, path, revision, depth, writer.context));
}

function encodeResponseOp(op: ResponseOp, path: string, revision: number, depth: number, context: EncodeContext): JsonObject {
  if (typeof op !== 'object' || op === null) throw encodingError(context, path, 'expected a ResponseOp');
  const nested = (name: string): JsonWriter => {
    const writer = new JsonWriter(fieldPath(path, name), context);
    return writer.message('header', encodeNestedHeader(revision, writer.fieldPath('header'), context));
  };
  if ('responseRange' in op) {
    const writer = nested('response_range');
    encodeRangeResponse(writer, op.responseRange);
    return { response_range: writer.json };
  }
  if ('responsePut' in op) {
    const writer = nested('response_put');
    encodePutResponse(writer, op.responsePut);
    return { response_put: writer.json };
  }
  if ('responseDeleteRange' in op) {
    const writer = nested('response_delete_range');
    encodeDeleteRangeResponse(writer, op.responseDeleteRange);
    return { response_delete_range: writer.json };
  }
  if ('responseTxn' in op) {
    if (depth + 1 > kvLimits.maxTxnDepth) throw encodingError(context, path, `txns nested more than kvLimits.maxTxnDepth (${kvLimits.maxTxnDepth}) levels`);
    const writer = nested('response_txn');
    encodeTxnResponse(writer, op.responseTxn, revision, depth + 1);
    return { response_txn: writer.json };
  }
  throw encodingError(context, path, 'expected one of responseRange, responsePut, responseDeleteRange, responseTxn');
}

export function decodeRangeResponse(r: FieldReader): RangeResponse {
  return {
    kvs: listOf(r.read('kvs'), decodeKeyValue),
    more: boolOf(r.read('more')),
    count: countOf(r.read('count')),
  };
}

export function decodePutResponse(r: FieldReader): PutResponse {
  const prevKv = r.read('prev_kv');
  return prevKv === undefined ? {} : { prevKv: decodeKeyValue(prevKv.value, prevKv.path) };
}

export function decodeDeleteRangeResponse(r: FieldReader): DeleteRangeResponse {
  return { deleted: countOf(r.read('deleted')), prevKvs: listOf(r.read('prev_kvs'), decodeKeyValue) };
}

export function decodeTxnResponse(r: FieldReader, depth = 0): TxnResponse {
  return {
    succeeded: boolOf(r.read('succeeded')),
    responses: listOf(r.read('responses'), (op, path) => decodeResponseOp(op, path, depth)),
  };
}

/** A nested response: its own header (checked, then dropped: ours carry the txn's) and its fields. */
function nestedReader(field: Field, message: string): FieldReader {
  const r = FieldReader.of(field.value, field.path, false, message);
  decodeHeader(r.read('header'));
  return r;
}

function decodeResponseOp(value: unknown, path: string, depth: number): ResponseOp {
  const r = FieldReader.of(value, path, false, 'ResponseOp');
  const [range, put, deleteRange, txn] = RESPONSE_OP_FIELDS.map((name) => r.read(name));
  const given = [range, put, deleteRange, txn].filter((field): field is Field => field !== undefined);
  if (given.length !== 1) {
    throw invalidField(path, `expected exactly one of ${RESPONSE_OP_FIELDS.join(', ')}${given.length > 1 ? ` (${given.map((field) => field.path).join(', ')})` : ''}`);
  }
  if (range !== undefined) return { responseRange: decodeRangeResponse(nestedReader(range, 'RangeResponse')) };
  if (put !== undefined) return { responsePut: decodePutResponse(nestedReader(put, 'PutResponse')) };
  if (deleteRange !== undefined) return { responseDeleteRange: decodeDeleteRangeResponse(nestedReader(deleteRange, 'DeleteRangeResponse')) };
  const nested = given[0] as Field;
  // A response cannot be deeper than the request it answers; the bound also keeps recursion shallow.
  if (depth + 1 > kvLimits.maxTxnDepth) throw invalidField(nested.path, `txns nested more than kvLimits.maxTxnDepth (${kvLimits.maxTxnDepth}) levels`);
  return { responseTxn: decodeTxnResponse(nestedReader(nested, 'TxnResponse'), depth + 1) };
}
