// The key-value API's request and response types (etcd v3 semantics), shared by the state machine that applies
// them, the server that serves them and the client that sends them. Plain data: keys and values are bytes,
// revisions are numbers (int64 on the wire; revisions and lease IDs above 2^53 - 1 are refused as bad input).

/** One version of a key, as etcd's mvccpb.KeyValue. */
export interface KeyValue {
  readonly key: Uint8Array;
  /** Revision of the key's creation (since its last deletion). */
  readonly createRevision: number;
  /** Revision of the key's latest modification. */
  readonly modRevision: number;
  /** Number of modifications since creation; a deletion resets it to 0. */
  readonly version: number;
  readonly value: Uint8Array;
  /** The lease the key is attached to, 0 for none. */
  readonly lease: number;
}

export type SortOrder = 'none' | 'ascend' | 'descend';
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

/**
 * A key range. With no `rangeEnd` (empty) the range is the single `key`. A `rangeEnd` of a single zero byte
 * means every key >= `key` (and `key` = [0] with `rangeEnd` = [0] means all keys). Otherwise [key, rangeEnd).
 */
export interface KeyRange {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
}

export interface RangeRequest extends KeyRange {
  /** Most keys returned; 0 for no limit. */
  readonly limit?: number;
  /** Read at this revision; 0 (or absent) for the current one. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** Serve from the local member without confirming it is current (may be stale). */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface RangeResponse {
  readonly kvs: readonly KeyValue[];
  /** More keys matched than `limit` returned. */
  readonly more: boolean;
  /** Keys that matched (before `limit`). */
  readonly count: number;
}

export interface PutRequest {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly lease?: number;
  readonly prevKv?: boolean;
  /** Keep the current value (the key must exist). */
  readonly ignoreValue?: boolean;
  /** Keep the current lease (the key must exist). */
  readonly ignoreLease?: boolean;
}

export interface PutResponse {
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeRequest extends KeyRange {
  readonly prevKv?: boolean;
}

export interface DeleteRangeResponse {
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
}

export type CompareResult = 'equal' | 'greater' | 'less' | 'not_equal';

/** One condition of a transaction, on every key of its range (etcd: a compare over a range holds for all keys in it). */
export type Compare = KeyRange & { readonly result: CompareResult } & (
    | { readonly target: 'version'; readonly version: number }
    | { readonly target: 'create'; readonly createRevision: number }
    | { readonly target: 'mod'; readonly modRevision: number }
    | { readonly target: 'value'; readonly value: Uint8Array }
    | { readonly target: 'lease'; readonly lease: number }
  );

export type RequestOp =
  | { readonly requestRange: RangeRequest }
  | { readonly requestPut: PutRequest }
  | { readonly requestDeleteRange: DeleteRangeRequest }
  | { readonly requestTxn: TxnRequest };

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export type ResponseOp =
  | { readonly responseRange: RangeResponse }
  | { readonly responsePut: PutResponse }
  | { readonly responseDeleteRange: DeleteRangeResponse }
  | { readonly responseTxn: TxnResponse };

export interface TxnResponse {
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

export interface CompactionRequest {
  readonly revision: number;
  /** Wait until the compaction is physically applied (it always is, here, when the response is sent). */
  readonly physical?: boolean;
}

export type CompactionResponse = Record<string, never>;

/** What every response carries, as etcd's ResponseHeader. IDs are 64-bit, held as 16 hex digits. */
export interface ResponseHeader {
  readonly clusterId: string;
  readonly memberId: string;
  /** The key-value store's revision when the request was served. */
  readonly revision: number;
  readonly raftTerm: number;
}

/** The range end that marks "every key from `key` on" (and with key [0], every key). */
export const FROM_KEY_END = Uint8Array.of(0);

/**
 * The end of the range of keys starting with `prefix` (etcd's GetPrefixRangeEnd): the prefix with its last byte
 * below 0xff incremented and what follows it dropped; a prefix of only 0xff bytes has no upper bound.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let at = prefix.length - 1; at >= 0; at--) {
    const byte = prefix[at] ?? 0xff;
    if (byte < 0xff) {
      const end = prefix.slice(0, at + 1);
      end[at] = byte + 1;
      return end;
    }
  }
  return FROM_KEY_END;
}
