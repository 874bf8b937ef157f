// The guard of the reserved prefixes (src/protocol/reserved-keys.ts) over the keys a command writes. A plain write
// may meet none of them; a registry write (the member's own command, never built from a client's request) must
// lie wholly under the registry's. kv-validate.ts applies it to every write op, in both branches of a txn, before
// a command is proposed and again when it applies, so a command that reached the log some other way (an older
// member, a forwarded proposal) is refused on every member alike, before it writes anything.
//
// A delete whose range spans a reserved prefix (an "every key" delete, [\0, \0)) is refused whole, not clipped to
// the keys around the prefix: a clipped delete would answer a count and prev_kvs, and give watchers events, for a
// range other than the one asked for, and a txn's compares over the same range would still see the reserved keys.
// Refused, it means one thing; the message names the two ranges that delete the rest.

import { ConclaveError } from '../protocol/errors.js';
import type { KeyRange } from '../protocol/kv.js';
import { REGISTRY_PREFIX, RESERVED_PREFIXES, reservedRange } from '../protocol/reserved-keys.js';
import { compareBytes, spanOf, type Span } from './kv-layout.js';

interface Reserved {
  readonly prefix: string;
  readonly owner: string;
  readonly start: Uint8Array;
  readonly end: Uint8Array;
}

const reserved = (prefix: string, owner: string): Reserved => {
  const { key, rangeEnd } = reservedRange(prefix);
  return { prefix, owner, start: key, end: rangeEnd };
};

const RESERVED: readonly Reserved[] = RESERVED_PREFIXES.map(({ prefix, owner }) => reserved(prefix, owner));
const REGISTRY = RESERVED.find((r) => r.prefix === REGISTRY_PREFIX) as Reserved;

/** Whether the span holds a key of the reserved range (an empty range, end at or before start, holds none). */
function meets(span: Span, range: Reserved): boolean {
  if (span.single) return compareBytes(span.key, range.start) >= 0 && compareBytes(span.key, range.end) < 0;
  const low = compareBytes(span.start, range.start) > 0 ? span.start : range.start;
  const high = span.end === null || compareBytes(span.end, range.end) > 0 ? range.end : span.end;
  return compareBytes(low, high) < 0;
}

function within(span: Span, range: Reserved): boolean {
  if (span.single) return meets(span, range);
  return compareBytes(span.start, range.start) >= 0 && span.end !== null && compareBytes(span.end, range.end) <= 0;
}

const MAX_SHOWN = 64;

/** A key as the message shows it: JSON-quoted, one char per byte (so "\u0000registry/..."), cut when long. */
function shown(key: Uint8Array): string {
  const text = String.fromCharCode(...key.subarray(0, MAX_SHOWN));
  return `${JSON.stringify(text)}${key.length > MAX_SHOWN ? '…' : ''}`;
}

function describe(span: Span): string {
  if (span.single) return `key ${shown(span.key)}`;
  return `range [${shown(span.start)}, ${span.end === null ? 'end of the key space' : shown(span.end)})`;
}

/** ErrReservedKey when a plain write of this key or range meets a reserved prefix; `verb` says what the write was. */
export function refuseReserved(range: KeyRange, verb: 'put' | 'delete'): ConclaveError | null {
  const span = spanOf(range);
  const hit = RESERVED.find((r) => meets(span, r));
  if (hit === undefined) return null;
  const target = `${verb} of ${describe(span)}`;
  if (span.single || within(span, hit)) return new ConclaveError('ErrReservedKey', `${target}: ${JSON.stringify(hit.prefix)} is reserved for ${hit.owner}; nothing was ${verb === 'put' ? 'written' : 'deleted'}`);
  const before = compareBytes(span.start, hit.start) < 0 ? describe({ single: false, start: span.start, end: hit.start }) : null;
  const after = span.end === null || compareBytes(span.end, hit.end) > 0 ? describe({ single: false, start: hit.end, end: span.end }) : null;
  const rest = [before, after].filter((part): part is string => part !== null).join(' and ');
  return new ConclaveError('ErrReservedKey', `${target} spans the reserved prefix ${JSON.stringify(hit.prefix)} (${hit.owner}); nothing was deleted: delete ${rest} to delete the rest`);
}

/** ErrReservedKey when a registry write's key or range does not lie wholly under the registry's prefix. */
export function refuseOutsideRegistry(range: KeyRange): ConclaveError | null {
  const span = spanOf(range);
  if (within(span, REGISTRY)) return null;
  return new ConclaveError('ErrReservedKey', `a registry write of ${describe(span)}: the registry writes under ${JSON.stringify(REGISTRY.prefix)} only`);
}
