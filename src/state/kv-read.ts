// Reads: which versions a range holds at a revision, and the etcd range response built from them (filters, sort,
// limit, count). Versions come from the current records (at the current revision) or from the history records (at a
// past one); either way they stream into a Selection that keeps only what the response needs, and values are
// fetched for the returned keys alone.

import { ConclaveError } from '../protocol/errors.js';
import type { KeyValue, RangeRequest, RangeResponse, SortTarget } from '../protocol/kv.js';
import type { StateReader } from './backend.js';
import { compareBytes, currentBounds, currentKey, EMPTY, eventKey, historyBounds, historyRevision, parseHistoryKey, spanOf, successor, type Span } from './kv-layout.js';
import { decodeCurrent, decodeEvent, decodeHistory, type VersionRef } from './kv-records.js';

/** The revisions a read is served against. */
export interface ReadView {
  /** The revision the store is at for this read (inside a txn that wrote: the txn's revision). */
  readonly revision: number;
  readonly compactRevision: number;
  /** Rows per backend call when walking history. */
  readonly pageRows: number;
}

/**
 * The live versions of a span at the current revision, in key order: one point read for a single key, else one
 * backend range (a consistent view taken at the call), so the result never mixes two states.
 */
export function currentVersions(reader: StateReader, span: Span): VersionRef[] | Promise<VersionRef[]> {
  if (span.single) {
    const bytes = reader.get(currentKey(span.key));
    return bytes === undefined ? [] : [decodeCurrent(span.key, bytes)];
  }
  return reader.range(currentBounds(span)).then((rows) => rows.map((row) => decodeCurrent(row.key.subarray(1), row.value)));
}

/** The value of a version, from its event record. */
export function valueOf(reader: StateReader, ref: VersionRef): Uint8Array {
  const bytes = reader.get(eventKey(ref.modRevision, ref.sub));
  const event = bytes === undefined ? undefined : decodeEvent(bytes);
  if (event?.type !== 'put') throw new ConclaveError('ErrInternal', `no event record for the version of a key at revision ${ref.modRevision}.${ref.sub}`);
  return event.value;
}

export function keyValueOf(ref: VersionRef, value: Uint8Array): KeyValue {
  return { key: ref.key, createRevision: ref.createRevision, modRevision: ref.modRevision, version: ref.version, value, lease: ref.lease };
}

/**
 * Feeds `sink` the versions live at `revision` (a past one) in a span, in key order, walking the history records a
 * page at a time. Records written meanwhile have higher revisions and are skipped; compaction waits for reads.
 */
export async function historyVersions(reader: StateReader, span: Span, revision: number, pageRows: number, sink: (ref: VersionRef) => void): Promise<void> {
  const { start: first, end } = historyBounds(span);
  let start = first;
  // The latest record at or below `revision` of the key being walked, with the key's history-key prefix.
  let prefix: Uint8Array | null = null;
  let candidate: { key: Uint8Array; value: Uint8Array } | null = null;
  const flush = () => {
    if (candidate === null) return;
    const found = decodeHistory(candidate.value);
    if (found !== null) {
      const { key, revision: modRevision, sub } = parseHistoryKey(candidate.key);
      sink({ key, createRevision: found.createRevision, modRevision, sub, version: found.version, lease: found.lease });
    }
    candidate = null;
  };
  for (;;) {
    const rows = await reader.range({ start, end, limit: pageRows });
    for (const row of rows) {
      const keyEnd = row.key.length - 12;
      if (prefix === null || keyEnd !== prefix.length || compareBytes(row.key.subarray(0, keyEnd), prefix) !== 0) {
        flush();
        prefix = row.key.subarray(0, keyEnd);
      }
      if (historyRevision(row.key).revision <= revision) candidate = row;
    }
    if (rows.length < pageRows) break;
    start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
  }
  flush();
}

/** Serves a range request. Throws ErrFutureRev / ErrCompacted as etcd does. */
export async function readRange(reader: StateReader, request: RangeRequest, view: ReadView): Promise<RangeResponse> {
  const asked = request.revision ?? 0;
  if (asked > view.revision) throw new ConclaveError('ErrFutureRev', `revision ${asked}, the store is at ${view.revision}`);
  if (asked > 0 && asked < view.compactRevision) throw new ConclaveError('ErrCompacted', `revision ${asked}, compacted through ${view.compactRevision}`);
  const selection = new Selection(request);
  const span = spanOf(request);
  if (asked > 0 && asked !== view.revision) {
    await historyVersions(reader, span, asked, view.pageRows, (ref) => selection.offer(ref));
  } else if (span.single) {
    for (const ref of currentVersions(reader, span) as VersionRef[]) selection.offer(ref);
  } else {
    // Rows past the limit are only counted: no need to decode them.
    for (const row of await reader.range(currentBounds(span))) {
      if (selection.wants()) selection.offer(decodeCurrent(row.key.subarray(1), row.value));
      else selection.skip();
    }
  }
  return selection.response(reader);
}

type Mode = 'none' | 'first' | 'last' | 'all';

/**
 * What a range keeps of the versions it walks. etcd counts every key in the range, filters by revisions, sorts,
 * then cuts at the limit; here, when the order is by key, only the first (or last) limit+1 keys are kept.
 */
class Selection {
  private count = 0;
  private passed = 0;
  private kept: VersionRef[] = [];
  private readonly mode: Mode;
  /** Keys kept in first/last mode: one more than the limit, to tell whether there are more. */
  private readonly cap: number;
  private readonly order: 'ascend' | 'descend';
  private readonly target: SortTarget;
  private readonly filtered: boolean;

  constructor(private readonly request: RangeRequest) {
    this.filtered = [request.minModRevision, request.maxModRevision, request.minCreateRevision, request.maxCreateRevision].some((bound) => (bound ?? 0) !== 0);
    const limit = request.limit ?? 0;
    this.cap = limit > 0 ? limit + 1 : Number.POSITIVE_INFINITY;
    this.target = request.sortTarget ?? 'key';
    // etcd: no order with a target other than the key means ascending.
    const order = request.sortOrder ?? 'none';
    this.order = order === 'descend' ? 'descend' : 'ascend';
    if (request.countOnly === true) this.mode = 'none';
    else if (this.target === 'key') this.mode = this.order === 'ascend' ? 'first' : 'last';
    else this.mode = 'all';
  }

  /** Whether the next version could change the response beyond its count. */
  wants(): boolean {
    return this.mode !== 'none' && (this.filtered || this.mode !== 'first' || this.kept.length < this.cap);
  }

  /** Counts a version that wants() declined. */
  skip(): void {
    this.count++;
    this.passed++;
  }

  offer(ref: VersionRef): void {
    this.count++;
    if (this.mode === 'none' || !this.passes(ref)) return;
    this.passed++;
    if (this.mode === 'first') {
      if (this.kept.length < this.cap) this.kept.push(ref);
    } else {
      this.kept.push(ref);
      if (this.mode === 'last' && this.kept.length >= 2 * this.cap) this.kept = this.kept.slice(this.kept.length - this.cap);
    }
  }

  private passes(ref: VersionRef): boolean {
    const r = this.request;
    if ((r.maxModRevision ?? 0) !== 0 && ref.modRevision > (r.maxModRevision as number)) return false;
    if ((r.minModRevision ?? 0) !== 0 && ref.modRevision < (r.minModRevision as number)) return false;
    if ((r.maxCreateRevision ?? 0) !== 0 && ref.createRevision > (r.maxCreateRevision as number)) return false;
    if ((r.minCreateRevision ?? 0) !== 0 && ref.createRevision < (r.minCreateRevision as number)) return false;
    return true;
  }

  response(reader: StateReader): RangeResponse {
    if (this.mode === 'none') return { kvs: [], more: false, count: this.count };
    const limit = this.request.limit ?? 0;
    const keysOnly = this.request.keysOnly === true;
    let picked: { ref: VersionRef; value: Uint8Array | undefined }[];
    if (this.mode === 'first') {
      picked = this.kept.map((ref) => ({ ref, value: undefined }));
    } else if (this.mode === 'last') {
      picked = this.kept.slice(Math.max(0, this.kept.length - this.cap)).reverse().map((ref) => ({ ref, value: undefined }));
    } else {
      // Sorting by value needs every value; other targets sort on the index alone. Ties stay in key order.
      picked = this.kept.map((ref) => ({ ref, value: this.target === 'value' ? valueOf(reader, ref) : undefined }));
      const sign = this.order === 'descend' ? -1 : 1;
      const target = this.target;
      picked.sort((a, b) => sign * compareBy(target, a, b));
    }
    const more = limit > 0 && this.passed > limit;
    if (limit > 0 && picked.length > limit) picked = picked.slice(0, limit);
    const kvs = picked.map(({ ref, value }) => keyValueOf(ref, keysOnly ? EMPTY : (value ?? valueOf(reader, ref))));
    return { kvs, more, count: this.count };
  }
}

function compareBy(target: SortTarget, a: { ref: VersionRef; value: Uint8Array | undefined }, b: { ref: VersionRef; value: Uint8Array | undefined }): number {
  switch (target) {
    case 'key':
      return compareBytes(a.ref.key, b.ref.key);
    case 'version':
      return a.ref.version - b.ref.version;
    case 'create':
      return a.ref.createRevision - b.ref.createRevision;
    case 'mod':
      return a.ref.modRevision - b.ref.modRevision;
    case 'value':
      return compareBytes(a.value as Uint8Array, b.value as Uint8Array);
  }
}
