// The watch workload's checker: every watcher saw exactly the committed history of its range from its start
// revision, as a contiguous prefix, in order, with the right values.
//
// Operations (docs/jepsen-like.md, "The watch workload"). An event is `[revision, type, key, value]`: type "put"
// (value the number written) or "delete" (value null); keys are the history's names (k0, k1, ...).
// - `put` (key the name): invoke value the value; ok output the revision the put was committed at.
// - `delete` (key the name): ok output `[revision, deleted]`; it made an event only when `deleted` > 0.
// - `watch` (key a label of its range): invoke value `{from, to, startRevision}`, the range of names from `from`
//   (inclusive) to `to` (exclusive; null: to the end of the prefix), and the first revision asked for (0: now);
//   ok (stopped by the harness) or info (ended with an error) output the events it received, in order.
// - `history`: invoke value `{startRevision: 1}`; ok output every event of the prefix, read after healing by a
//   fresh watch from revision 1 up to a put made after everything else (the committed history, the reference).
//
// For each watcher, the expected sequence is the reference's events in its range with revision >= its start
// (for start 0, "now", from its first event on: a watch from now may be created at any revision the member
// serving it had, so a gap before its first event cannot be told from a later creation). Anomalies:
// - `phantom`: an event that is not in the reference, lies outside the watcher's range, or precedes its start.
// - `wrong-value`: an event at a committed revision and key, but with another type or value.
// - `duplicate`: the same (revision, key) delivered twice.
// - `reorder`: an event delivered after one that comes later in the reference.
// - `gap`: a committed event of the range the watcher skipped: it delivered a later one and never this one.
// The reference itself is checked against the writes: `lost-write` (an ok put or delete with an event, missing
// from it), `phantom` (an event no write that did not fail could have made) and `wrong-value`.

import type { JsonValue, Operation } from '../history.js';
import { AnomalyList, type SafetyResult } from './anomalies.js';

export type WatchEventType = 'put' | 'delete';
export type RecordedEvent = readonly [revision: number, type: WatchEventType, key: string, value: number | string | null];

export interface WatchRange {
  readonly from: string;
  readonly to: string | null;
}

export function inRange(range: WatchRange, key: string): boolean {
  return key >= range.from && (range.to === null || key < range.to);
}

/** Events reported per anomaly, at most; the message counts them all. */
const SHOWN_EVENTS = 5;

const identity = (revision: number, key: string): string => `${revision}\u0000${key}`;
const show = (event: RecordedEvent): string => JSON.stringify(event);
const showSome = (events: readonly RecordedEvent[]): string =>
  events.slice(0, SHOWN_EVENTS).map(show).join(', ') + (events.length > SHOWN_EVENTS ? `, ... (${events.length} in all)` : '');

function eventsOf(output: JsonValue): RecordedEvent[] | null {
  if (!Array.isArray(output)) return null;
  const events: RecordedEvent[] = [];
  for (const item of output) {
    if (!Array.isArray(item) || item.length !== 4) return null;
    const [revision, type, key, value] = item;
    if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 1) return null;
    if (type !== 'put' && type !== 'delete') return null;
    if (typeof key !== 'string') return null;
    if (value !== null && typeof value !== 'number' && typeof value !== 'string') return null;
    events.push([revision, type, key, value]);
  }
  return events;
}

function rangeOf(value: JsonValue): (WatchRange & { startRevision: number }) | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { from, to, startRevision } = value as Record<string, JsonValue>;
  if (typeof from !== 'string' || (to !== null && typeof to !== 'string')) return null;
  if (typeof startRevision !== 'number' || !Number.isSafeInteger(startRevision) || startRevision < 0) return null;
  return { from, to, startRevision };
}

/** An operation as anomalies show it: its events counted, not listed (a watch's output can hold thousands). */
function brief(op: Operation): Operation {
  return Array.isArray(op.output) ? { ...op, output: `${op.output.length} events` } : op;
}

export function checkWatch(operations: readonly Operation[]): SafetyResult {
  const anomalies = new AnomalyList();
  const counts: Record<string, number> = { watchers: 0, eventsChecked: 0, committedEvents: 0, writesChecked: 0 };
  const reference = operations.filter((op) => op.f === 'history' && op.outcome === 'ok').pop();
  if (reference === undefined) return anomalies.result(counts, 'no ok history op: the committed history was not read after healing');
  const committed = eventsOf(reference.output);
  if (committed === null) return malformed(`history (index ${reference.invoke.index}) answered ${JSON.stringify(reference.output).slice(0, 200)}, not a list of [revision, type, key, value]`);
  counts.committedEvents = committed.length;

  // Position of each committed (revision, key) in the reference; the reference must itself be in order, once each.
  const position = new Map<string, number>();
  for (let i = 0; i < committed.length; i++) {
    const [revision, , key] = committed[i]!;
    const id = identity(revision, key);
    if (position.has(id)) anomalies.add('duplicate', `the committed history holds ${show(committed[i]!)} twice`, [brief(reference)]);
    else if (i > 0 && revision < committed[i - 1]![0]) anomalies.add('reorder', `the committed history holds ${show(committed[i]!)} after ${show(committed[i - 1]!)}`, [brief(reference)]);
    else position.set(id, i);
  }

  checkAgainstWrites(operations, committed, position, reference, anomalies, counts);
  const lastCovered = committed.length === 0 ? 0 : committed[committed.length - 1]![0];

  for (const op of operations) {
    if (op.f !== 'watch' || op.outcome === 'fail' || op.complete === null) continue;
    const range = rangeOf(op.value);
    if (range === null) return malformed(`watch (index ${op.invoke.index}) asked for ${JSON.stringify(op.value)}, not {from, to, startRevision}`);
    const seen = eventsOf(op.output);
    if (seen === null) return malformed(`watch (index ${op.invoke.index}) answered ${JSON.stringify(op.output).slice(0, 200)}, not a list of [revision, type, key, value]`);
    counts.watchers = (counts.watchers ?? 0) + 1;
    counts.eventsChecked = (counts.eventsChecked ?? 0) + seen.length;
    checkWatcher(op, range, seen, committed, position, lastCovered, reference, anomalies);
  }
  return anomalies.result(counts);
}

function checkWatcher(
  op: Operation,
  range: WatchRange & { startRevision: number },
  seen: readonly RecordedEvent[],
  committed: readonly RecordedEvent[],
  position: ReadonlyMap<string, number>,
  lastCovered: number,
  reference: Operation,
  anomalies: AnomalyList,
): void {
  const names = range.from === '' && range.to === null ? 'the whole prefix' : `${JSON.stringify(range.from)}..${range.to === null ? 'the end' : JSON.stringify(range.to)}`;
  const label = `the watch of ${names} from ${range.startRevision === 0 ? 'now' : `revision ${range.startRevision}`}`;
  const phantom: RecordedEvent[] = [];
  const wrong: RecordedEvent[] = [];
  const duplicate: RecordedEvent[] = [];
  const reordered: RecordedEvent[] = [];
  const delivered = new Set<number>();
  // Expected events start at the first committed one of the range at or after the start revision; a watch from
  // now starts at its first event, if that is a committed one of its range.
  let start = range.startRevision;
  if (start === 0) {
    const first = seen.find((event) => position.has(identity(event[0], event[2])) && inRange(range, event[2]));
    start = first === undefined ? Infinity : first[0];
  }
  let furthest = -1;
  for (const event of seen) {
    const [revision, type, key, value] = event;
    const at = position.get(identity(revision, key));
    if (at === undefined || !inRange(range, key) || revision < start) {
      // Beyond the reference's last revision the event cannot be known committed: that too is a phantom, since
      // the reference was read after every watcher stopped.
      phantom.push(event);
      continue;
    }
    const expected = committed[at]!;
    if (expected[1] !== type || expected[3] !== value) wrong.push(event);
    if (delivered.has(at)) {
      duplicate.push(event);
      continue;
    }
    delivered.add(at);
    if (at < furthest) reordered.push(event);
    else furthest = at;
  }
  const skipped: RecordedEvent[] = [];
  for (let at = 0; at < furthest; at++) {
    const event = committed[at]!;
    if (event[0] >= start && inRange(range, event[2]) && !delivered.has(at)) skipped.push(event);
  }
  const ops = [brief(op), brief(reference)];
  if (phantom.length > 0) anomalies.add('phantom', `${label} received events not committed in its range from its start (the committed history ends at revision ${lastCovered}): ${showSome(phantom)}`, ops);
  if (wrong.length > 0) anomalies.add('wrong-value', `${label} received events whose type or value differs from the committed ones: ${wrong.slice(0, SHOWN_EVENTS).map((e) => `${show(e)} (committed ${show(committed[position.get(identity(e[0], e[2]))!]!)})`).join(', ')}`, ops);
  if (duplicate.length > 0) anomalies.add('duplicate', `${label} received events twice: ${showSome(duplicate)}`, ops);
  if (reordered.length > 0) anomalies.add('reorder', `${label} received events after later ones: ${showSome(reordered)}`, ops);
  if (skipped.length > 0) anomalies.add('gap', `${label} skipped committed events of its range it had passed: ${showSome(skipped)}`, ops);
}

/** The reference against the writes: each committed event made by a write that did not fail, each ok write's event in it. */
function checkAgainstWrites(
  operations: readonly Operation[],
  committed: readonly RecordedEvent[],
  position: ReadonlyMap<string, number>,
  reference: Operation,
  anomalies: AnomalyList,
  counts: Record<string, number>,
): void {
  // (key, value) of puts that may have happened; keys that a delete may have been applied to.
  const mayPut = new Set<string>();
  const mayDelete = new Set<string>();
  for (const op of operations) {
    if (op.outcome === 'fail' || typeof op.key !== 'string') continue;
    if (op.f === 'put') mayPut.add(JSON.stringify([op.key, op.value]));
    if (op.f === 'delete') mayDelete.add(op.key);
    if (op.outcome !== 'ok') continue;
    let expected: RecordedEvent | null = null;
    if (op.f === 'put' && typeof op.output === 'number' && (typeof op.value === 'number' || typeof op.value === 'string')) expected = [op.output, 'put', op.key, op.value];
    if (op.f === 'delete' && Array.isArray(op.output) && typeof op.output[0] === 'number' && typeof op.output[1] === 'number' && op.output[1] > 0) expected = [op.output[0], 'delete', op.key, null];
    if (expected === null) continue;
    counts.writesChecked = (counts.writesChecked ?? 0) + 1;
    const at = position.get(identity(expected[0], expected[2]));
    if (at === undefined) anomalies.add('lost-write', `${op.f} of ${JSON.stringify(op.key)} was acknowledged at revision ${expected[0]}, but the committed history has no event there: ${show(expected)}`, [op, brief(reference)]);
    else if (committed[at]![1] !== expected[1] || committed[at]![3] !== expected[3]) anomalies.add('wrong-value', `${op.f} of ${JSON.stringify(op.key)} was acknowledged at revision ${expected[0]} as ${show(expected)}, but the committed history has ${show(committed[at]!)}`, [op, brief(reference)]);
  }
  const unexplained = committed.filter(([, type, key, value]) => (type === 'put' ? !mayPut.has(JSON.stringify([key, value])) : !mayDelete.has(key)));
  if (unexplained.length > 0) anomalies.add('phantom', `the committed history holds events no write that did not fail could have made: ${showSome(unexplained)}`, [brief(reference)]);
}

function malformed(message: string): SafetyResult {
  return { verdict: 'unknown', anomalies: [], reason: `not a watch history: ${message}`, counts: {} };
}
