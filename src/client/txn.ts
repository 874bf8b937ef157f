// A typed, fluent transaction: `client.txn().if(...compares).then(...ops).else(...ops).commit()`, as etcd clientv3's
// Txn. Each op knows the type of its response, so the result is typed by branch: `succeeded: true` carries the
// `then` ops' responses in order, `succeeded: false` the `else` ops'.

import { ConclaveError } from '../protocol/errors.js';
import type { Compare, CompareResult, DeleteRangeResponse, PutResponse, RangeResponse, RequestOp, ResponseHeader, ResponseOp, TxnRequest, TxnResponse } from '../protocol/kv.js';
import { keyRange, toBytes, type Bytes, type RangeShape } from './keys.js';

export type CompareOperator = '=' | '!=' | '>' | '<';

const RESULTS: Readonly<Record<CompareOperator, CompareResult>> = { '=': 'equal', '!=': 'not_equal', '>': 'greater', '<': 'less' };

function resultOf(operator: CompareOperator): CompareResult {
  const result = RESULTS[operator];
  if (result === undefined) throw new ConclaveError('ErrInvalidField', `compare operator "${String(operator)}": use =, !=, > or <`);
  return result;
}

/** Conditions of a txn; on a range (`shape`), a condition holds when it holds for every key in it. */
export const compare = {
  value: (key: Bytes, operator: CompareOperator, value: Bytes, shape?: RangeShape): Compare => ({ ...keyRange(key, shape), result: resultOf(operator), target: 'value', value: toBytes(value) }),
  version: (key: Bytes, operator: CompareOperator, version: number, shape?: RangeShape): Compare => ({ ...keyRange(key, shape), result: resultOf(operator), target: 'version', version }),
  createRevision: (key: Bytes, operator: CompareOperator, createRevision: number, shape?: RangeShape): Compare => ({
    ...keyRange(key, shape),
    result: resultOf(operator),
    target: 'create',
    createRevision,
  }),
  modRevision: (key: Bytes, operator: CompareOperator, modRevision: number, shape?: RangeShape): Compare => ({ ...keyRange(key, shape), result: resultOf(operator), target: 'mod', modRevision }),
  lease: (key: Bytes, operator: CompareOperator, lease: number, shape?: RangeShape): Compare => ({ ...keyRange(key, shape), result: resultOf(operator), target: 'lease', lease }),
};

/** One operation of a branch, with the type of its response. */
export interface TxnOp<R> {
  readonly request: RequestOp;
  readonly response: (op: ResponseOp) => R;
}

function unexpected(op: ResponseOp, wanted: string): never {
  throw new ConclaveError('ErrInternal', `the txn answered ${Object.keys(op).join(',')} where ${wanted} was asked`);
}

export type GetOpOptions = RangeShape & { readonly limit?: number; readonly revision?: number; readonly keysOnly?: boolean; readonly countOnly?: boolean; readonly serializable?: boolean };
export interface PutOpOptions {
  readonly lease?: number;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}
export type DeleteOpOptions = RangeShape & { readonly prevKv?: boolean };

export const op = {
  get(key: Bytes, options: GetOpOptions = {}): TxnOp<RangeResponse> {
    const { rangeEnd, prefix, fromKey, ...rest } = options;
    return {
      request: { requestRange: { ...rest, ...keyRange(key, { rangeEnd, prefix, fromKey }) } },
      response: (r) => ('responseRange' in r ? r.responseRange : unexpected(r, 'a range')),
    };
  },
  put(key: Bytes, value: Bytes, options: PutOpOptions = {}): TxnOp<PutResponse> {
    return { request: { requestPut: { key: toBytes(key), value: toBytes(value), ...options } }, response: (r) => ('responsePut' in r ? r.responsePut : unexpected(r, 'a put')) };
  },
  delete(key: Bytes, options: DeleteOpOptions = {}): TxnOp<DeleteRangeResponse> {
    const { prevKv, ...shape } = options;
    return {
      request: { requestDeleteRange: { ...keyRange(key, shape), prevKv } },
      response: (r) => ('responseDeleteRange' in r ? r.responseDeleteRange : unexpected(r, 'a delete')),
    };
  },
  /** A nested txn (its ops see the earlier writes of the enclosing branch). */
  txn(request: TxnRequest): TxnOp<TxnResponse> {
    return { request: { requestTxn: request }, response: (r) => ('responseTxn' in r ? r.responseTxn : unexpected(r, 'a txn')) };
  },
};

type Ops = readonly TxnOp<unknown>[];
export type TxnResponses<T extends Ops> = { -readonly [I in keyof T]: T[I] extends TxnOp<infer R> ? R : never };

export type TxnOutcome<Then extends Ops, Else extends Ops> =
  | { readonly header: ResponseHeader; readonly succeeded: true; readonly responses: TxnResponses<Then> }
  | { readonly header: ResponseHeader; readonly succeeded: false; readonly responses: TxnResponses<Else> };

export type CommitTxn<O> = (request: TxnRequest, options: O) => Promise<{ header: ResponseHeader; response: TxnResponse }>;

/** The builder; each of if, then and else may be called once, in that order (as etcd's). */
export class TxnBuilder<Then extends Ops = [], Else extends Ops = [], O = unknown> {
  readonly #commit: CommitTxn<O>;
  #compares: readonly Compare[] = [];
  #then: Ops = [];
  #else: Ops = [];
  #stage = 0;

  constructor(commit: CommitTxn<O>) {
    this.#commit = commit;
  }

  #enter(stage: number, name: string): void {
    if (this.#stage >= stage) throw new ConclaveError('ErrInvalidField', `txn: ${name}() after ${['', 'if', 'then', 'else'][this.#stage] ?? ''}(); call if, then and else once each, in that order`);
    this.#stage = stage;
  }

  if(...compares: Compare[]): TxnBuilder<Then, Else, O> {
    this.#enter(1, 'if');
    this.#compares = compares;
    return this;
  }

  then<T extends Ops>(...ops: T): TxnBuilder<T, Else, O> {
    this.#enter(2, 'then');
    this.#then = ops;
    return this as unknown as TxnBuilder<T, Else, O>;
  }

  else<T extends Ops>(...ops: T): TxnBuilder<Then, T, O> {
    this.#enter(3, 'else');
    this.#else = ops;
    return this as unknown as TxnBuilder<Then, T, O>;
  }

  /** The request this builder makes. */
  request(): TxnRequest {
    return { compare: this.#compares, success: this.#then.map((o) => o.request), failure: this.#else.map((o) => o.request) };
  }

  async commit(options: O = {} as O): Promise<TxnOutcome<Then, Else>> {
    const { header, response } = await this.#commit(this.request(), options);
    const ops = response.succeeded ? this.#then : this.#else;
    if (response.responses.length !== ops.length) throw new ConclaveError('ErrInternal', `the txn answered ${response.responses.length} responses for ${ops.length} ops`);
    const responses = response.responses.map((r, i) => (ops[i] as TxnOp<unknown>).response(r));
    return { header, succeeded: response.succeeded, responses } as TxnOutcome<Then, Else>;
  }
}
