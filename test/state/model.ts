// A reference model of etcd's key-value semantics, written for clarity and not speed: the whole map of keys at
// every revision, strings for bytes. The model-based property test checks the store against it. Its answers have
// the shapes of helpers.ts's showResult / showRange. One rule is Conclave's own: a plain write whose key or range
// meets a reserved prefix (the registry's) is refused with ErrReservedKey, as etcd refuses an empty key.

import type { CompareResult, SortOrder, SortTarget } from '../../src/protocol/kv.js';
import { REGISTRY_PREFIX } from '../../src/protocol/reserved-keys.js';
import type { ShownKv } from './helpers.js';

export type MKv = ShownKv;

export interface MRange {
  key: string;
  rangeEnd?: string;
  limit?: number;
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface MPut {
  key: string;
  value: string;
  lease?: number;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface MDelete {
  key: string;
  rangeEnd?: string;
  prevKv?: boolean;
}

export interface MCompare {
  key: string;
  rangeEnd?: string;
  target: 'version' | 'create' | 'mod' | 'value' | 'lease';
  result: CompareResult;
  /** A number for every target but value. */
  operand: number | string;
}

export type MOp = { range: MRange } | { put: MPut } | { deleteRange: MDelete } | { txn: MTxn };

export interface MTxn {
  compare: MCompare[];
  success: MOp[];
  failure: MOp[];
}

export type MCommand = { type: 'put'; request: MPut } | { type: 'deleteRange'; request: MDelete } | { type: 'txn'; request: MTxn } | { type: 'compact'; revision: number };

type State = Map<string, MKv>;

class Refused extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

function inRange(key: string, rangeEnd: string | undefined, candidate: string): boolean {
  if (rangeEnd === undefined || rangeEnd === '') return candidate === key;
  if (rangeEnd === '\0') return candidate >= key;
  return candidate >= key && candidate < rangeEnd;
}

const sorted = (state: State): MKv[] => [...state.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

export class Model {
  revision = 1;
  compactRevision = 0;
  /** states[r]: the keys after revision r. */
  private readonly states: State[] = [new Map(), new Map()];
  /** Every write, in order (what the store keeps one record for, until compaction). */
  readonly writes: { revision: number; key: string }[] = [];

  constructor(private readonly leaseExists: (lease: number) => boolean) {}

  private get current(): State {
    return this.states[this.revision] as State;
  }

  stateAt(revision: number): State {
    return this.states[revision] as State;
  }

  /** How many event records the store holds: the writes after the compact revision and the keys live at it. */
  expectedRecords(): number {
    const after = this.writes.filter((write) => write.revision > this.compactRevision).length;
    return after + (this.compactRevision === 0 ? 0 : this.stateAt(this.compactRevision).size);
  }

  range(request: MRange): unknown {
    try {
      return { revision: this.revision, ...this.read(this.current, this.revision, request) };
    } catch (error) {
      if (error instanceof Refused) return { error: error.code };
      throw error;
    }
  }

  private read(state: State, revision: number, request: MRange) {
    const at = request.revision ?? 0;
    if (at > revision) throw new Refused('ErrFutureRev');
    if (at > 0 && at < this.compactRevision) throw new Refused('ErrCompacted');
    const source = at > 0 && at !== revision ? this.stateAt(at) : state;
    const all = sorted(source).filter((kv) => inRange(request.key, request.rangeEnd, kv.key));
    if (request.countOnly === true) return { kvs: [], more: false, count: all.length };
    let kvs = all.filter(
      (kv) =>
        !(request.maxModRevision && kv.modRevision > request.maxModRevision) &&
        !(request.minModRevision && kv.modRevision < request.minModRevision) &&
        !(request.maxCreateRevision && kv.createRevision > request.maxCreateRevision) &&
        !(request.minCreateRevision && kv.createRevision < request.minCreateRevision),
    );
    const target = request.sortTarget ?? 'key';
    const order = request.sortOrder ?? 'none';
    if (order !== 'none' || target !== 'key') {
      const field = (kv: MKv): number | string =>
        target === 'key' ? kv.key : target === 'value' ? kv.value : target === 'version' ? kv.version : target === 'create' ? kv.createRevision : kv.modRevision;
      const sign = order === 'descend' ? -1 : 1;
      // Stable: equal targets stay in key order.
      kvs = [...kvs].sort((a, b) => sign * (field(a) < field(b) ? -1 : field(a) > field(b) ? 1 : 0));
    }
    const limit = request.limit ?? 0;
    const more = limit > 0 && kvs.length > limit;
    if (limit > 0) kvs = kvs.slice(0, limit);
    return { kvs: kvs.map((kv) => (request.keysOnly === true ? { ...kv, value: '' } : { ...kv })), more, count: all.length };
  }

  apply(command: MCommand): unknown {
    try {
      return this.run(command);
    } catch (error) {
      if (error instanceof Refused) return { revision: this.revision, error: error.code };
      throw error;
    }
  }

  private run(command: MCommand): unknown {
    if (command.type === 'compact') {
      if (command.revision <= this.compactRevision) throw new Refused('ErrCompacted');
      if (command.revision > this.revision) throw new Refused('ErrFutureRev');
      this.compactRevision = command.revision;
      return { revision: this.revision, prevKv: null };
    }
    validate(command);
    const work = new Map(this.current);
    const txn = new Writes(work, this.revision);
    let shown: Record<string, unknown>;
    if (command.type === 'put') {
      const lease = command.request.lease ?? 0;
      if (lease !== 0 && !this.leaseExists(lease)) throw new Refused('ErrLeaseNotFound');
      const prev = txn.put(command.request);
      shown = { prevKv: prev ?? null };
    } else if (command.type === 'deleteRange') {
      const { deleted, prevKvs } = txn.deleteRange(command.request);
      shown = { deleted, prevKvs };
    } else {
      const path = this.path(command.request);
      this.checkPuts(command.request, path);
      this.checkRanges(command.request, path);
      const { succeeded, responses } = this.execute(txn, command.request, path);
      shown = { succeeded, responses };
    }
    if (txn.changed) {
      this.revision++;
      this.states[this.revision] = work;
      for (const key of txn.written) this.writes.push({ revision: this.revision, key });
    }
    return { revision: this.revision, ...shown };
  }

  // Txn paths: [succeeded, ...paths of the nested txns in the branch taken].
  private path(txn: MTxn): Path {
    const succeeded = txn.compare.every((compare) => this.holds(compare));
    return { succeeded, nested: (succeeded ? txn.success : txn.failure).flatMap((op) => ('txn' in op ? [this.path(op.txn)] : [])) };
  }

  private holds(compare: MCompare): boolean {
    const kvs = sorted(this.current).filter((kv) => inRange(compare.key, compare.rangeEnd, kv.key));
    if (kvs.length === 0 && compare.target === 'value') return false;
    const zero: MKv = { key: compare.key, value: '', createRevision: 0, modRevision: 0, version: 0, lease: 0 };
    return (kvs.length === 0 ? [zero] : kvs).every((kv) => {
      const actual = { version: kv.version, create: kv.createRevision, mod: kv.modRevision, lease: kv.lease, value: kv.value }[compare.target];
      const sign = actual < compare.operand ? -1 : actual > compare.operand ? 1 : 0;
      return { equal: sign === 0, not_equal: sign !== 0, greater: sign > 0, less: sign < 0 }[compare.result];
    });
  }

  private walk(txn: MTxn, path: Path, visit: (op: MOp) => void): void {
    let nested = 0;
    for (const op of path.succeeded ? txn.success : txn.failure) {
      if ('txn' in op) this.walk(op.txn, path.nested[nested++] as Path, visit);
      else visit(op);
    }
  }

  private checkPuts(txn: MTxn, path: Path): void {
    this.walk(txn, path, (op) => {
      if (!('put' in op)) return;
      if ((op.put.ignoreValue || op.put.ignoreLease) && !this.current.has(op.put.key)) throw new Refused('ErrKeyNotFound');
      const lease = op.put.lease ?? 0;
      if (lease !== 0 && !this.leaseExists(lease)) throw new Refused('ErrLeaseNotFound');
    });
  }

  private checkRanges(txn: MTxn, path: Path): void {
    this.walk(txn, path, (op) => {
      if (!('range' in op) || !op.range.revision) return;
      if (op.range.revision > this.revision) throw new Refused('ErrFutureRev');
      if (op.range.revision < this.compactRevision) throw new Refused('ErrCompacted');
    });
  }

  private execute(writes: Writes, txn: MTxn, path: Path): { succeeded: boolean; responses: unknown[] } {
    const responses: unknown[] = [];
    let nested = 0;
    for (const op of path.succeeded ? txn.success : txn.failure) {
      if ('range' in op) responses.push({ range: this.read(writes.state, writes.changed ? this.revision + 1 : this.revision, op.range) });
      else if ('put' in op) {
        const prev = writes.put(op.put);
        responses.push({ put: prev === undefined ? {} : { prevKv: prev } });
      } else if ('deleteRange' in op) responses.push({ deleteRange: writes.deleteRange(op.deleteRange) });
      else responses.push({ txn: this.execute(writes, op.txn, path.nested[nested++] as Path) });
    }
    return { succeeded: path.succeeded, responses };
  }
}

interface Path {
  succeeded: boolean;
  nested: Path[];
}

/** The writes of one command to a copy of the state, all at the next revision. */
class Writes {
  changed = false;
  readonly written: string[] = [];

  constructor(
    readonly state: State,
    private readonly base: number,
  ) {}

  put(request: MPut): MKv | undefined {
    const old = this.state.get(request.key);
    if ((request.ignoreValue || request.ignoreLease) && old === undefined) throw new Refused('ErrKeyNotFound');
    const revision = this.base + 1;
    this.state.set(request.key, {
      key: request.key,
      value: request.ignoreValue ? (old as MKv).value : request.value,
      createRevision: old?.createRevision ?? revision,
      modRevision: revision,
      version: (old?.version ?? 0) + 1,
      lease: request.ignoreLease ? (old as MKv).lease : (request.lease ?? 0),
    });
    this.changed = true;
    this.written.push(request.key);
    return request.prevKv ? old : undefined;
  }

  deleteRange(request: MDelete): { deleted: number; prevKvs: MKv[] } {
    const doomed = sorted(this.state).filter((kv) => inRange(request.key, request.rangeEnd, kv.key));
    for (const kv of doomed) {
      this.state.delete(kv.key);
      this.changed = true;
      this.written.push(kv.key);
    }
    return { deleted: doomed.length, prevKvs: request.prevKv ? doomed : [] };
  }
}

// ---- the checks made before anything is applied ----

function validate(command: MCommand): void {
  if (command.type === 'put') validatePut(command.request);
  else if (command.type === 'deleteRange') validateWrite(command.request.key, command.request.rangeEnd);
  else if (command.type === 'txn') {
    validateTxn(command.request);
    duplicates(command.request.success);
    duplicates(command.request.failure);
  }
}

function validateKey(key: string): void {
  if (key === '') throw new Refused('ErrEmptyKey');
}

/** The prefix's keys are [REGISTRY_PREFIX, REGISTRY_END): the range's intersection with them is not empty. */
const REGISTRY_END = `${REGISTRY_PREFIX.slice(0, -1)}0`;

function validateWrite(key: string, rangeEnd?: string): void {
  validateKey(key);
  const single = rangeEnd === undefined || rangeEnd === '';
  const low = single || key > REGISTRY_PREFIX ? key : REGISTRY_PREFIX;
  const high = single ? `${key}\0` : rangeEnd === '\0' || rangeEnd > REGISTRY_END ? REGISTRY_END : rangeEnd;
  if (low >= REGISTRY_PREFIX && low < REGISTRY_END && low < high) throw new Refused('ErrReservedKey');
}

function validatePut(put: MPut): void {
  validateWrite(put.key);
  if (put.ignoreValue && put.value !== '') throw new Refused('ErrValueProvided');
  if (put.ignoreLease && (put.lease ?? 0) !== 0) throw new Refused('ErrLeaseProvided');
}

function validateTxn(txn: MTxn): void {
  for (const compare of txn.compare) validateKey(compare.key);
  for (const op of [...txn.success, ...txn.failure]) {
    if ('range' in op) validateKey(op.range.key);
    else if ('put' in op) validatePut(op.put);
    else if ('deleteRange' in op) validateWrite(op.deleteRange.key, op.deleteRange.rangeEnd);
    else validateTxn(op.txn);
  }
}

/** The keys a branch puts and the ranges it deletes, refusing a key put twice or put inside a deleted range. */
function duplicates(ops: MOp[]): { puts: Set<string>; deletes: MDelete[] } {
  const deletes: MDelete[] = ops.flatMap((op) => ('deleteRange' in op ? [op.deleteRange] : []));
  const hit = (key: string) => deletes.some((d) => inRange(d.key, d.rangeEnd, key));
  const puts = new Set<string>();
  for (const op of ops) {
    if (!('txn' in op)) continue;
    const then = duplicates(op.txn.success);
    const otherwise = duplicates(op.txn.failure);
    for (const key of then.puts) {
      if (puts.has(key) || hit(key)) throw new Refused('ErrDuplicateKey');
      puts.add(key);
    }
    for (const key of otherwise.puts) {
      if ((puts.has(key) && !then.puts.has(key)) || hit(key)) throw new Refused('ErrDuplicateKey');
      puts.add(key);
    }
    deletes.push(...then.deletes, ...otherwise.deletes);
  }
  for (const op of ops) {
    if (!('put' in op)) continue;
    if (puts.has(op.put.key) || hit(op.put.key)) throw new Refused('ErrDuplicateKey');
    puts.add(op.put.key);
  }
  return { puts, deletes };
}
