// The history format of the jepsen-like harness, which other tools read: JSON Lines in real-time order, one event
// a line, `{"index":n,"process":p,"type":"invoke"|"ok"|"fail"|"info","f":...,"key":k,"value":v,"time":ns}`.
//
// A process invokes one operation at a time and completes it with `ok` (it took effect, with this result),
// `fail` (it certainly did not take effect) or `info` (unknown: it may take effect at any time after its
// invocation, or never). After an `info` the process never invokes again: the client goes on under a new process
// number, since the old one may still have an operation in flight. An invocation the history ends before
// completing counts as `info`. See docs/jepsen-like.md.

export type EventType = 'invoke' | 'ok' | 'fail' | 'info';
export type Outcome = Exclude<EventType, 'invoke'>;
export type JsonScalar = null | boolean | number | string;
export type JsonValue = JsonScalar | JsonValue[] | { [key: string]: JsonValue };

export interface HistoryEvent {
  /** Strictly increasing along the history. */
  readonly index: number;
  readonly process: number;
  readonly type: EventType;
  readonly f: string;
  readonly key: JsonScalar;
  readonly value: JsonValue;
  /** Nanoseconds on one monotonic clock; never decreases along the history. */
  readonly time: number;
}

/** An invocation paired with its completion. */
export interface Operation {
  readonly process: number;
  readonly f: string;
  readonly key: JsonScalar;
  /** 'info' as well when the history ends before the operation completes. */
  readonly outcome: Outcome;
  /** The invocation's value. */
  readonly value: JsonValue;
  /** The completion's value; null when there is no completion. */
  readonly output: JsonValue;
  readonly invoke: HistoryEvent;
  readonly complete: HistoryEvent | null;
}

/** Where a history breaks the format: the 1-based line (or, for events given as values, position + 1). */
export interface HistoryError {
  readonly line: number;
  readonly message: string;
}

export type HistoryResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: HistoryError };

export function formatHistoryError(error: HistoryError, source = 'history'): string {
  return `${source} line ${error.line}: ${error.message}`;
}

const EVENT_TYPES: ReadonlySet<string> = new Set<EventType>(['invoke', 'ok', 'fail', 'info']);

function isScalar(value: unknown): value is JsonScalar {
  return value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string';
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Checks one decoded line's shape; returns the event or what is wrong with it. */
function eventOf(decoded: unknown): HistoryEvent | string {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) return `an event is a JSON object, not ${describe(decoded)}`;
  const record = decoded as Record<string, unknown>;
  for (const field of ['index', 'process', 'type', 'f', 'key', 'value', 'time']) {
    if (!(field in record)) return `the event has no "${field}"${field === 'value' || field === 'key' ? ' (use null for none)' : ''}`;
  }
  const { index, process, type, f, key, value, time } = record;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) return `"index" must be a non-negative integer, not ${describe(index)}`;
  if (typeof process !== 'number' || !Number.isSafeInteger(process) || process < 0) return `"process" must be a non-negative integer, not ${describe(process)}`;
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) return `unknown "type" ${describe(type)} (one of invoke, ok, fail, info)`;
  if (typeof f !== 'string' || f === '') return `"f" must be a non-empty string, not ${describe(f)}`;
  if (!isScalar(key)) return `"key" must be a string, number, boolean or null, not ${describe(key)}`;
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) return `"time" must be a non-negative number of nanoseconds, not ${describe(time)}`;
  return { index, process, type: type as EventType, f, key, value: value as JsonValue, time };
}

/**
 * Pairs invocations with completions, checking the order of the history: index strictly increasing, time never
 * decreasing, one pending operation per process, completions matching their invocation's f and key, no
 * invocation by a process after its info. `lineOf` maps an event's position to the line it came from.
 */
function pairChecked(events: readonly HistoryEvent[], lineOf: (position: number) => number): HistoryResult<Operation[]> {
  const fail = (position: number, message: string): HistoryResult<Operation[]> => ({ ok: false, error: { line: lineOf(position), message } });
  const pending = new Map<number, number>();
  // process -> position of the info that ended it
  const retired = new Map<number, number>();
  const operations: (Operation | undefined)[] = [];
  const slotOf = new Map<number, number>();
  for (let position = 0; position < events.length; position++) {
    const event = events[position]!;
    if (position > 0) {
      const previous = events[position - 1]!;
      if (event.index <= previous.index) return fail(position, `"index" ${event.index} does not increase (the previous event's is ${previous.index})`);
      if (event.time < previous.time) return fail(position, `"time" ${event.time} goes back (the previous event's is ${previous.time})`);
    }
    const open = pending.get(event.process);
    if (event.type === 'invoke') {
      if (open !== undefined) {
        return fail(position, `process ${event.process} invokes again before completing its operation invoked on line ${lineOf(open)}`);
      }
      const ended = retired.get(event.process);
      if (ended !== undefined) {
        return fail(position, `process ${event.process} invokes after its operation ended "info" on line ${lineOf(ended)}; after an info the client goes on under a new process number`);
      }
      pending.set(event.process, position);
      slotOf.set(position, operations.length);
      operations.push(undefined);
      continue;
    }
    if (open === undefined) return fail(position, `"${event.type}" for process ${event.process}, which has no pending invocation`);
    const invoke = events[open]!;
    if (event.f !== invoke.f) return fail(position, `"${event.type}" has f ${describe(event.f)} but its invocation on line ${lineOf(open)} has f ${describe(invoke.f)}`);
    if (event.key !== invoke.key) return fail(position, `"${event.type}" has key ${describe(event.key)} but its invocation on line ${lineOf(open)} has key ${describe(invoke.key)}`);
    pending.delete(event.process);
    if (event.type === 'info') retired.set(event.process, position);
    operations[slotOf.get(open)!] = operationOf(invoke, event);
  }
  for (const open of pending.values()) operations[slotOf.get(open)!] = operationOf(events[open]!, null);
  return { ok: true, value: operations as Operation[] };
}

function operationOf(invoke: HistoryEvent, complete: HistoryEvent | null): Operation {
  return {
    process: invoke.process,
    f: invoke.f,
    key: invoke.key,
    outcome: complete === null ? 'info' : (complete.type as Outcome),
    value: invoke.value,
    output: complete === null ? null : complete.value,
    invoke,
    complete,
  };
}

export interface ParsedHistory {
  readonly events: readonly HistoryEvent[];
  /** In invocation order. */
  readonly operations: readonly Operation[];
}

/** Parses and checks history.jsonl text. Blank lines are skipped; fields beyond the format's are ignored. */
export function parseHistory(text: string): HistoryResult<ParsedHistory> {
  const events: HistoryEvent[] = [];
  const lines: number[] = [];
  const rows = text.split('\n');
  for (let row = 0; row < rows.length; row++) {
    const line = rows[row]!.trim();
    if (line === '') continue;
    let decoded: unknown;
    try {
      decoded = JSON.parse(line);
    } catch (error) {
      return { ok: false, error: { line: row + 1, message: `not JSON (${(error as Error).message})` } };
    }
    const event = eventOf(decoded);
    if (typeof event === 'string') return { ok: false, error: { line: row + 1, message: event } };
    events.push(event);
    lines.push(row + 1);
  }
  const paired = pairChecked(events, (position) => lines[position]!);
  return paired.ok ? { ok: true, value: { events, operations: paired.value } } : paired;
}

/** Pairs events already in memory (a recorder's, a generator's) into operations; errors count positions from 1. */
export function pairOperations(events: readonly HistoryEvent[]): HistoryResult<Operation[]> {
  return pairChecked(events, (position) => position + 1);
}

/** One event as its line, without the newline; the fields in the format's order. */
export function formatEvent(event: HistoryEvent): string {
  const { index, process, type, f, key, value, time } = event;
  return JSON.stringify({ index, process, type, f, key, value, time });
}

/** A whole history as history.jsonl text. */
export function formatHistory(events: readonly HistoryEvent[]): string {
  return events.map((event) => formatEvent(event) + '\n').join('');
}

/**
 * Builds a history as it happens: numbers the events, stamps their time (held monotonic), and remembers each
 * process's pending invocation so a completion needs only its outcome and value.
 */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private readonly pending = new Map<number, HistoryEvent>();
  private lastTimeNs = 0;

  constructor(private readonly nowNs: () => number = monotonicNs()) {}

  invoke(process: number, f: string, key: JsonScalar, value: JsonValue): HistoryEvent {
    if (this.pending.has(process)) throw new Error(`process ${process} already has a pending operation`);
    const event = this.append({ process, type: 'invoke', f, key, value });
    this.pending.set(process, event);
    return event;
  }

  complete(process: number, type: Outcome, value: JsonValue): HistoryEvent {
    const invoke = this.pending.get(process);
    if (invoke === undefined) throw new Error(`process ${process} has no pending operation`);
    this.pending.delete(process);
    return this.append({ process, type, f: invoke.f, key: invoke.key, value });
  }

  private append(fields: Omit<HistoryEvent, 'index' | 'time'>): HistoryEvent {
    this.lastTimeNs = Math.max(this.lastTimeNs, this.nowNs());
    const event: HistoryEvent = { index: this.events.length, ...fields, time: this.lastTimeNs };
    this.events.push(event);
    return event;
  }
}

/** Nanoseconds since the call, on the process's monotonic clock. */
export function monotonicNs(): () => number {
  const start = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - start);
}
