// The register workload's operations, as the linearizability search takes them: split by key (a register per key
// is checked on its own, P-compositionality), values interned as small integers, and stripped of operations that
// can change no verdict.
//
// f is `read` (ok value: the value read, null when absent), `write` (value v) or `cas` (value [expected, new]; ok
// = swapped, fail = not swapped). Values compare as JSON scalars; the register starts at null.

import type { JsonScalar, JsonValue, Operation } from '../history.js';

export type RegisterKind = 'read' | 'write' | 'cas';

export interface RegisterOp {
  /** Position among its key's kept operations, in invocation order. */
  readonly id: number;
  readonly source: Operation;
  readonly kind: RegisterKind;
  /** Completed ok, so it must be linearized; otherwise info, and it may be, anywhere after its invocation, or not. */
  readonly required: boolean;
  /** Position among its key's kept operations of the same kind of outcome (ok, or info), in invocation order. */
  readonly slot: number;
  /** The invocation's index. */
  readonly call: number;
  /** The completion's index; Infinity for info, which constrains nothing after it. */
  readonly ret: number;
  /** Interned: the value read, the value written, or cas's expected value. */
  readonly a: number;
  /** Interned: cas's new value; -1 for read and write. */
  readonly b: number;
}

export interface RegisterKey {
  readonly key: JsonScalar;
  readonly ops: readonly RegisterOp[];
  /** Interned id -> value; id 0 is null, the initial value. */
  readonly values: readonly JsonScalar[];
  /** Operations left out: failed ones, info reads, and info writes and cas whose effect nothing could observe. */
  readonly dropped: number;
  /** A completed operation no linearization can hold: it reads or expects a value nothing produces. */
  readonly impossible: { readonly op: RegisterOp; readonly reason: string } | null;
}

export type RegisterKeysResult = { readonly ok: true; readonly keys: RegisterKey[] } | { readonly ok: false; readonly message: string };

const KINDS: ReadonlySet<string> = new Set<RegisterKind>(['read', 'write', 'cas']);

function isScalar(value: JsonValue): value is JsonScalar {
  return value === null || typeof value !== 'object';
}

function where(op: Operation): string {
  return `the operation invoked at index ${op.invoke.index} (process ${op.process})`;
}

/** The shape errors of one operation, or undefined. */
function shapeError(op: Operation): string | undefined {
  if (!KINDS.has(op.f)) return `${where(op)} has f ${JSON.stringify(op.f)}; the register workload's are read, write and cas`;
  if (op.outcome === 'fail') return undefined;
  if (op.f === 'write' && !isScalar(op.value)) return `${where(op)} writes ${JSON.stringify(op.value)}; values are JSON scalars`;
  if (op.f === 'cas' && !(Array.isArray(op.value) && op.value.length === 2 && isScalar(op.value[0]!) && isScalar(op.value[1]!))) {
    return `${where(op)} is a cas with value ${JSON.stringify(op.value)}; it must be [expected, new] with scalar values`;
  }
  if (op.f === 'read' && op.outcome === 'ok' && !isScalar(op.output)) return `${where(op)} read ${JSON.stringify(op.output)}; values are JSON scalars`;
  return undefined;
}

class Interner {
  readonly values: JsonScalar[] = [null];
  private readonly ids = new Map<string, number>([['null', 0]]);

  id(value: JsonScalar): number {
    const text = JSON.stringify(value);
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(text, id);
    }
    return id;
  }
}

/** Validates the operations and groups them by key, in order of each key's first operation. */
export function registerKeys(operations: readonly Operation[]): RegisterKeysResult {
  const groups = new Map<string, Operation[]>();
  for (const op of operations) {
    const error = shapeError(op);
    if (error !== undefined) return { ok: false, message: error };
    const text = JSON.stringify(op.key);
    const group = groups.get(text);
    if (group === undefined) groups.set(text, [op]);
    else group.push(op);
  }
  return { ok: true, keys: [...groups.values()].map((group) => registerKey(group)) };
}

interface Draft {
  readonly source: Operation;
  readonly kind: RegisterKind;
  readonly required: boolean;
  readonly a: number;
  readonly b: number;
}

function registerKey(group: readonly Operation[]): RegisterKey {
  const interner = new Interner();
  const drafts: Draft[] = [];
  for (const source of group) {
    // A failed operation certainly did not happen; an info read changes nothing and returned nothing.
    if (source.outcome === 'fail' || (source.f === 'read' && source.outcome === 'info')) continue;
    const kind = source.f as RegisterKind;
    const required = source.outcome === 'ok';
    if (kind === 'read') drafts.push({ source, kind, required, a: interner.id(source.output as JsonScalar), b: -1 });
    else if (kind === 'write') drafts.push({ source, kind, required, a: interner.id(source.value as JsonScalar), b: -1 });
    else {
      const [expected, next] = source.value as [JsonScalar, JsonScalar];
      drafts.push({ source, kind, required, a: interner.id(expected), b: interner.id(next) });
    }
  }
  const kept = pruneOptional(drafts);
  const slots = { required: 0, optional: 0 };
  const ops: RegisterOp[] = kept.map((draft, id) => ({
    id,
    ...draft,
    slot: draft.required ? slots.required++ : slots.optional++,
    call: draft.source.invoke.index,
    ret: draft.required ? draft.source.complete!.index : Infinity,
  }));
  const produced = producedValues(ops);
  let impossible: RegisterKey['impossible'] = null;
  for (const op of ops) {
    if (!op.required || op.kind === 'write' || produced.has(op.a)) continue;
    const value = JSON.stringify(interner.values[op.a]);
    impossible = { op, reason: op.kind === 'read' ? `it read ${value}, which no write or cas produced` : `its cas expected ${value}, which no write or cas produced` };
    break;
  }
  return { key: group[0]!.key, ops, values: interner.values, dropped: group.length - ops.length, impossible };
}

function producedValues(ops: readonly { kind: RegisterKind; a: number; b: number }[]): Set<number> {
  const produced = new Set<number>([0]);
  for (const op of ops) {
    if (op.kind === 'write') produced.add(op.a);
    else if (op.kind === 'cas') produced.add(op.b);
  }
  return produced;
}

/**
 * Drops info writes and cas that no linearization needs, until none is left to drop: one whose new value no kept
 * read returns and no kept cas expects (placed anywhere, it is overwritten before anything looks, so leaving it
 * out changes nothing), and a cas whose expected value nothing produces (it can never swap). Each drop can make
 * another possible, hence the loop.
 */
function pruneOptional(drafts: readonly Draft[]): Draft[] {
  let kept = [...drafts];
  for (;;) {
    const observed = new Set<number>();
    for (const op of kept) if ((op.kind === 'read' && op.required) || op.kind === 'cas') observed.add(op.a);
    const produced = producedValues(kept);
    const next = kept.filter((op) => op.required || (observed.has(op.kind === 'write' ? op.a : op.b) && (op.kind !== 'cas' || produced.has(op.a))));
    if (next.length === kept.length) return kept;
    kept = next;
  }
}
