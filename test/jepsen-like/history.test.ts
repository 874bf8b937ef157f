import { describe, expect, it } from 'vitest';
import { formatHistory, formatHistoryError, HistoryRecorder, pairOperations, parseHistory, type HistoryEvent } from '../../jepsen-like/history.js';

function line(fields: Partial<HistoryEvent> & Record<string, unknown>): string {
  return JSON.stringify({ index: 0, process: 0, type: 'invoke', f: 'read', key: 'x', value: null, time: 0, ...fields });
}

function errorOf(text: string): string {
  const parsed = parseHistory(text);
  if (parsed.ok) throw new Error('expected a parse error');
  return formatHistoryError(parsed.error, 'h.jsonl');
}

describe('history.jsonl', () => {
  it('round-trips through the writer and the parser, pairing invocations with completions', () => {
    let now = 0;
    const recorder = new HistoryRecorder(() => (now += 10));
    recorder.invoke(0, 'write', 'x', 1);
    recorder.invoke(1, 'read', 'x', null);
    recorder.complete(0, 'ok', 1);
    recorder.complete(1, 'ok', 1);
    recorder.invoke(0, 'cas', 'x', [1, 2]);
    recorder.complete(0, 'info', [1, 2]);
    recorder.invoke(2, 'cas', 'y', [null, 3]);
    const text = formatHistory(recorder.events);
    expect(text.split('\n')[0]).toBe('{"index":0,"process":0,"type":"invoke","f":"write","key":"x","value":1,"time":10}');
    const parsed = parseHistory(text);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.value.events).toEqual(recorder.events);
    expect(parsed.value.operations.map((op) => [op.process, op.f, op.outcome, op.value, op.output, op.invoke.index, op.complete?.index ?? null])).toEqual([
      [0, 'write', 'ok', 1, 1, 0, 2],
      [1, 'read', 'ok', null, 1, 1, 3],
      [0, 'cas', 'info', [1, 2], [1, 2], 4, 5],
      // Never completed before the history ended: info, with no output.
      [2, 'cas', 'info', [null, 3], null, 6, null],
    ]);
    expect(pairOperations(recorder.events)).toEqual({ ok: true, value: parsed.value.operations });
  });

  it('skips blank lines and ignores fields beyond the format', () => {
    const parsed = parseHistory(`\n${line({ error: 'x' })}\r\n\n${line({ index: 1, type: 'ok', time: 5 })}\n`);
    expect(parsed.ok && parsed.value.operations.length).toBe(1);
  });

  it('names the line of a malformed event', () => {
    expect(errorOf(`${line({})}\n{"index":1,`)).toMatch(/^h\.jsonl line 2: not JSON \(/);
    expect(errorOf('[1,2]')).toBe('h.jsonl line 1: an event is a JSON object, not [1,2]');
    expect(errorOf(line({ type: 'done' as never }))).toBe('h.jsonl line 1: unknown "type" "done" (one of invoke, ok, fail, info)');
    expect(errorOf('{"index":0,"process":0,"type":"invoke","f":"read","key":"x","time":0}')).toBe('h.jsonl line 1: the event has no "value" (use null for none)');
    expect(errorOf(line({ process: -1 }))).toBe('h.jsonl line 1: "process" must be a non-negative integer, not -1');
    expect(errorOf(line({ index: 1.5 }))).toBe('h.jsonl line 1: "index" must be a non-negative integer, not 1.5');
    expect(errorOf(line({ f: '' }))).toBe('h.jsonl line 1: "f" must be a non-empty string, not ""');
    expect(errorOf(line({ key: { a: 1 } as never }))).toBe('h.jsonl line 1: "key" must be a string, number, boolean or null, not {"a":1}');
    expect(errorOf(line({ time: 'now' as never }))).toBe('h.jsonl line 1: "time" must be a non-negative number of nanoseconds, not "now"');
  });

  it('rejects an index that does not increase and a time that goes back', () => {
    expect(errorOf(`${line({ index: 3 })}\n${line({ index: 3, process: 1 })}`)).toBe('h.jsonl line 2: "index" 3 does not increase (the previous event\'s is 3)');
    expect(errorOf(`${line({ time: 50 })}\n\n${line({ index: 1, process: 1, time: 49 })}`)).toBe('h.jsonl line 3: "time" 49 goes back (the previous event\'s is 50)');
    // Equal times are fine: a clock's resolution is finite.
    expect(parseHistory(`${line({ time: 50 })}\n${line({ index: 1, process: 1, time: 50 })}`).ok).toBe(true);
  });

  it('rejects a completion without a pending invocation, and one that does not match it', () => {
    expect(errorOf(line({ type: 'ok' }))).toBe('h.jsonl line 1: "ok" for process 0, which has no pending invocation');
    expect(errorOf(`${line({})}\n${line({ index: 1, type: 'ok' })}\n${line({ index: 2, type: 'fail' })}`)).toBe(
      'h.jsonl line 3: "fail" for process 0, which has no pending invocation',
    );
    expect(errorOf(`${line({})}\n${line({ index: 1, type: 'ok', f: 'write' })}`)).toBe('h.jsonl line 2: "ok" has f "write" but its invocation on line 1 has f "read"');
    expect(errorOf(`${line({})}\n${line({ index: 1, type: 'ok', key: 'y' })}`)).toBe('h.jsonl line 2: "ok" has key "y" but its invocation on line 1 has key "x"');
  });

  it('rejects a process that invokes twice without completing, or again after an info', () => {
    expect(errorOf(`${line({})}\n${line({ index: 1, process: 1 })}\n${line({ index: 2 })}`)).toBe(
      'h.jsonl line 3: process 0 invokes again before completing its operation invoked on line 1',
    );
    expect(errorOf(`${line({})}\n${line({ index: 1, type: 'info' })}\n${line({ index: 2 })}`)).toBe(
      'h.jsonl line 3: process 0 invokes after its operation ended "info" on line 2; after an info the client goes on under a new process number',
    );
  });

  it('counts positions from 1 when pairing events given as values', () => {
    const events: HistoryEvent[] = [
      { index: 0, process: 0, type: 'invoke', f: 'read', key: 'x', value: null, time: 0 },
      { index: 1, process: 0, type: 'invoke', f: 'read', key: 'x', value: null, time: 0 },
    ];
    const paired = pairOperations(events);
    expect(paired.ok ? null : paired.error).toEqual({ line: 2, message: 'process 0 invokes again before completing its operation invoked on line 1' });
  });

  it('refuses misuse of the recorder', () => {
    const recorder = new HistoryRecorder(() => 0);
    expect(() => recorder.complete(0, 'ok', null)).toThrow('process 0 has no pending operation');
    recorder.invoke(0, 'read', 'x', null);
    expect(() => recorder.invoke(0, 'read', 'x', null)).toThrow('process 0 already has a pending operation');
  });
});
