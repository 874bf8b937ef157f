// The watch and registry checkers on hand-built histories: each anomaly they name is found, and histories a
// correct cluster produces (info and failed operations, watchers stopped early, crashed instances) pass.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_INVALID, EXIT_VALID, runJepsen } from '../../jepsen-like/command.js';
import { formatHistory, HistoryRecorder, pairOperations, type HistoryEvent, type JsonScalar, type JsonValue, type Operation } from '../../jepsen-like/history.js';
import { checkRegistry } from '../../jepsen-like/checkers/registry.js';
import { checkWatch, type RecordedEvent } from '../../jepsen-like/checkers/watch.js';
import { HistoryBuilder } from './build-history.js';

const kinds = (result: { anomalies: readonly { kind: string }[] }) => result.anomalies.map((a) => a.kind).sort();

// Revisions 2..5 of the prefix: k0 put, k1 put, k0 deleted, k1 put again.
const COMMITTED: RecordedEvent[] = [
  [2, 'put', 'k0', 1],
  [3, 'put', 'k1', 2],
  [4, 'delete', 'k0', null],
  [5, 'put', 'k1', 3],
];
const WHOLE = { from: '', to: null };

/** The writes that made COMMITTED (with a failed and an unknown one that did not), then `watchers`, then the reference. */
type Watcher = { range?: { from: string; to: string | null }; startRevision: number; events: RecordedEvent[]; outcome?: 'ok' | 'info' };
function watchHistory(watchers: Watcher[], committed: RecordedEvent[] = COMMITTED): Operation[] {
  return watchBuilder(watchers, committed).operations();
}

function watchBuilder(watchers: Watcher[], committed: RecordedEvent[]): HistoryBuilder {
  const h = new HistoryBuilder()
    .op(1, 'put', 'k0', 1, 2)
    .op(1, 'put', 'k1', 2, 3)
    .invoke(1, 'put', 'k1', 9)
    .fail(1)
    .op(1, 'delete', 'k0', null, [4, 1])
    .op(1, 'delete', 'k1', null)
    .invoke(1, 'put', 'k0', 7)
    .info(1)
    .op(11, 'put', 'k1', 3, 5);
  watchers.forEach((watcher, i) => {
    h.invoke(20 + i, 'watch', 'w', { ...(watcher.range ?? WHOLE), startRevision: watcher.startRevision });
    if (watcher.outcome === 'info') h.info(20 + i, watcher.events as unknown as JsonValue);
    else h.ok(20 + i, watcher.events as unknown as JsonValue);
  });
  return h.op(99, 'history', null, { startRevision: 1 }, committed as unknown as JsonValue);
}

describe('the watch checker', () => {
  it('passes watchers that saw the committed events of their ranges from their starts, whole or as a prefix', () => {
    const result = checkWatch(
      watchHistory([
        { startRevision: 1, events: COMMITTED },
        { range: { from: 'k1', to: 'k2' }, startRevision: 3, events: [COMMITTED[1]!, COMMITTED[3]!] },
        // From now: it was created at revision 3.
        { startRevision: 0, events: [COMMITTED[2]!, COMMITTED[3]!] },
        // Stopped early by an error: what it saw is a prefix.
        { startRevision: 2, events: COMMITTED.slice(0, 2), outcome: 'info' },
        { range: { from: 'k0', to: 'k1' }, startRevision: 5, events: [] },
      ]),
    );
    expect(result.verdict).toBe('valid');
    expect(result.counts).toMatchObject({ watchers: 5, eventsChecked: 10, committedEvents: 4, writesChecked: 4 });
  });

  it('finds a gap in the middle and at the start', () => {
    const middle = checkWatch(watchHistory([{ startRevision: 1, events: [COMMITTED[0]!, COMMITTED[2]!, COMMITTED[3]!] }]));
    expect(kinds(middle)).toEqual(['gap']);
    expect(middle.anomalies[0]!.message).toContain('[3,"put","k1",2]');
    expect(middle.anomalies[0]!.ops.map((op) => op.f)).toEqual(['watch', 'history']);
    const atStart = checkWatch(watchHistory([{ range: { from: 'k1', to: null }, startRevision: 2, events: [COMMITTED[3]!] }]));
    expect(kinds(atStart)).toEqual(['gap']);
    expect(atStart.anomalies[0]!.message).toContain('[3,"put","k1",2]');
  });

  it('finds a duplicate and a reorder', () => {
    expect(kinds(checkWatch(watchHistory([{ startRevision: 1, events: [COMMITTED[0]!, COMMITTED[1]!, COMMITTED[1]!, COMMITTED[2]!] }])))).toEqual(['duplicate']);
    expect(kinds(checkWatch(watchHistory([{ startRevision: 1, events: [COMMITTED[0]!, COMMITTED[2]!, COMMITTED[1]!] }])))).toEqual(['reorder']);
  });

  it('finds phantoms: not committed, outside the range, before the start', () => {
    const notCommitted = checkWatch(watchHistory([{ startRevision: 1, events: [...COMMITTED, [6, 'put', 'k0', 7]] }]));
    expect(kinds(notCommitted)).toEqual(['phantom']);
    expect(kinds(checkWatch(watchHistory([{ range: { from: 'k1', to: 'k2' }, startRevision: 1, events: [COMMITTED[0]!, COMMITTED[1]!] }])))).toEqual(['phantom']);
    expect(kinds(checkWatch(watchHistory([{ startRevision: 3, events: COMMITTED }])))).toEqual(['phantom']);
  });

  it('finds a wrong value or type at a committed revision', () => {
    const result = checkWatch(watchHistory([{ startRevision: 1, events: [[2, 'put', 'k0', 99], COMMITTED[1]!, [4, 'put', 'k0', null]] }]));
    expect(kinds(result)).toEqual(['wrong-value']);
    expect(result.anomalies[0]!.message).toContain('committed [2,"put","k0",1]');
  });

  it('checks the committed history against the writes: lost acknowledged writes, events no write made', () => {
    const lost = checkWatch(watchHistory([], COMMITTED.slice(0, 3)));
    expect(kinds(lost)).toEqual(['lost-write']);
    expect(lost.anomalies[0]!.ops[0]!.value).toBe(3);
    expect(kinds(checkWatch(watchHistory([], [...COMMITTED, [6, 'put', 'k1', 9]])))).toEqual(['phantom']);
    // The unknown put of 7 may have happened.
    expect(checkWatch(watchHistory([], [...COMMITTED, [6, 'put', 'k0', 7]])).verdict).toBe('valid');
  });

  it('is unknown without a committed history, or with events of the wrong shape', () => {
    const none = checkWatch(new HistoryBuilder().op(1, 'put', 'k0', 1, 2).operations());
    expect(none.verdict).toBe('unknown');
    expect(none.reason).toMatch(/no ok history/);
    const bad = checkWatch(watchHistory([{ startRevision: 1, events: [[2, 'put'] as unknown as RecordedEvent] }]));
    expect(bad.verdict).toBe('unknown');
    expect(bad.reason).toMatch(/not a watch history: watch/);
  });
});

/** A history on a clock the test sets, in seconds: `at(s)` then invoke/complete. */
class TimedHistory {
  private nowNs = 0;
  private readonly recorder = new HistoryRecorder(() => this.nowNs);

  at(seconds: number): this {
    this.nowNs = Math.round(seconds * 1e9);
    return this;
  }

  invoke(process: number, f: string, key: JsonScalar, value: JsonValue = null): this {
    this.recorder.invoke(process, f, key, value);
    return this;
  }

  complete(process: number, type: 'ok' | 'fail' | 'info', output: JsonValue = null): this {
    this.recorder.complete(process, type, output);
    return this;
  }

  /** An operation from `start` to `end` seconds. */
  op(process: number, f: string, key: JsonScalar, value: JsonValue, start: number, end: number, output: JsonValue = null, type: 'ok' | 'fail' | 'info' = 'ok'): this {
    return this.at(start).invoke(process, f, key, value).at(end).complete(process, type, output);
  }

  events(): readonly HistoryEvent[] {
    return this.recorder.events;
  }

  operations(): Operation[] {
    const paired = pairOperations(this.recorder.events);
    if (!paired.ok) throw new Error(paired.error.message);
    return paired.value;
  }
}

const E = { electionTimeoutMs: 500 };
const TTL = 2;
/** Instance a of svc registered at 0..0.01 s with a 2 s lease, renewed at 0.5..0.51 s. */
function registered(): TimedHistory {
  return new TimedHistory()
    .op(1, 'register', 'a', { service: 'svc', ttlSeconds: TTL }, 0, 0.01, { lease: 7, ttl: TTL })
    .op(1, 'renew', 'a', 7, 0.5, 0.51, TTL);
}
const discover = (h: TimedHistory, start: number, listed: string[], service = 'svc') => h.op(5, 'discover', service, E, start, start + 0.01, listed);

describe('the registry checker', () => {
  it('passes discoveries that list live instances and drop expired ones, around crashes, failures and deregistrations', () => {
    const h = registered()
      .op(2, 'register', 'b', { service: 'svc', ttlSeconds: TTL }, 0.2, 0.3, { lease: 8, ttl: TTL });
    discover(h, 1, ['a', 'b']);
    h.op(1, 'crash', 'a', null, 1.1, 1.1);
    // A failed renewal extends nothing; b is deregistered.
    h.op(2, 'renew', 'b', 8, 1.2, 1.3, null, 'fail');
    h.op(2, 'deregister', 'b', { service: 'svc' }, 1.4, 1.5, 1);
    // a's lease may live until 2.51 s, and be listed until 3.01 s.
    discover(h, 2.9, ['a']);
    discover(h, 3.5, []);
    // Another service's discovery does not see a or b.
    discover(h, 3.6, [], 'other');
    // A renewal answered 0: the lease was gone.
    h.op(1, 'renew', 'a', 7, 3.7, 3.8, 0);
    const result = checkRegistry(h.operations());
    expect(result.verdict).toBe('valid');
    expect(result.counts).toMatchObject({ instances: 2, discoveries: 4, listed: 3, crashes: 1, expiredRenewals: 1 });
    // a and b certainly live during the first discovery (2 checks), a during the second.
    expect(result.counts['missingChecks']).toBe(2);
    // b after its deregistration (twice), a after its lease's bound (once).
    expect(result.counts['expiredChecks']).toBe(3);
  });

  it('finds an instance listed more than TTL + election timeout after its last renewal ended', () => {
    const h = registered();
    discover(h, 3.1, ['a']);
    const result = checkRegistry(h.operations());
    expect(kinds(result)).toEqual(['stale-instance']);
    expect(result.anomalies[0]!.ops.map((op) => op.f)).toEqual(['renew', 'discover']);
  });

  it('gives no bound to an instance with a renewal of unknown outcome, which may take effect at any time', () => {
    const h = registered().op(1, 'renew', 'a', 7, 1, 2, null, 'info');
    discover(h, 9, ['a']);
    expect(checkRegistry(h.operations()).verdict).toBe('valid');
    // A renewal the history ends before completing neither; a failed one extends nothing.
    const open = registered().at(1).invoke(3, 'renew', 'a', 7);
    discover(open, 9, ['a']);
    expect(checkRegistry(open.operations()).verdict).toBe('valid');
    const failed = registered().op(1, 'renew', 'a', 7, 1, 2, null, 'fail');
    discover(failed, 3.1, ['a']);
    expect(kinds(checkRegistry(failed.operations()))).toEqual(['stale-instance']);
  });

  it('finds an instance listed after its deregistration completed', () => {
    const h = registered().op(1, 'deregister', 'a', { service: 'svc' }, 0.6, 0.7, 1);
    discover(h, 0.8, ['a']);
    expect(kinds(checkRegistry(h.operations()))).toEqual(['stale-instance']);
  });

  it('finds a registered instance with a live lease missing from a discovery', () => {
    const h = registered();
    discover(h, 1, []);
    const result = checkRegistry(h.operations());
    expect(kinds(result)).toEqual(['missing-instance']);
    expect(result.anomalies[0]!.ops.map((op) => op.f)).toEqual(['register', 'renew', 'discover']);
  });

  it('excuses absence when the instance is not certainly there: registering meanwhile, deregistering, lease not certainly alive', () => {
    // Registration still in flight when the discovery began.
    const concurrent = new TimedHistory().at(0).invoke(1, 'register', 'a', { service: 'svc', ttlSeconds: TTL });
    discover(concurrent, 0.1, []);
    concurrent.at(0.2).complete(1, 'ok', { lease: 7, ttl: TTL });
    expect(checkRegistry(concurrent.operations()).verdict).toBe('valid');
    // A deregister invoked before the discovery completed, even one of unknown outcome.
    const leaving = registered().at(0.9).invoke(1, 'deregister', 'a', { service: 'svc' });
    discover(leaving, 1, []);
    leaving.at(1.1).complete(1, 'info');
    expect(checkRegistry(leaving.operations()).verdict).toBe('valid');
    // The last ok renewal was sent at 0.5 s: after 2.5 s the lease may have expired.
    const late = registered();
    discover(late, 2.5, []);
    expect(checkRegistry(late.operations()).verdict).toBe('valid');
  });

  it('finds an instance no register of that service tried', () => {
    const h = registered();
    discover(h, 1, ['a', 'ghost']);
    discover(h, 1.1, ['a'], 'other');
    expect(kinds(checkRegistry(h.operations()))).toEqual(['unregistered-instance', 'unregistered-instance']);
  });

  it('is unknown for a discovery without its election timeout, or operations of the wrong shape', () => {
    const noTimeout = registered().op(5, 'discover', 'svc', null, 1, 1.01, ['a']);
    expect(checkRegistry(noTimeout.operations()).reason).toMatch(/electionTimeoutMs/);
    const badRenew = registered().op(1, 'renew', 'a', 7, 1, 1.1, 'two');
    expect(checkRegistry(badRenew.operations()).verdict).toBe('unknown');
  });
});

describe('conclave-jepsen check --workload watch|registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-watchreg-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  async function check(workload: string, events: readonly HistoryEvent[]): Promise<{ code: number; stdout: string }> {
    const path = join(dir, `${workload}-${events.length}.jsonl`);
    writeFileSync(path, formatHistory(events));
    let stdout = '';
    const code = await runJepsen(['check', '--workload', workload, path], { stdout: (text) => (stdout += text), stderr: () => undefined });
    return { code, stdout };
  }

  it('prints a watcher\'s gap with its operations and exits 1; a clean watch history exits 0', async () => {
    const gap = await check('watch', watchBuilder([{ startRevision: 1, events: [COMMITTED[0]!, COMMITTED[3]!] }], COMMITTED).events());
    expect(gap.code).toBe(EXIT_INVALID);
    expect(gap.stdout).toMatch(/^gap: the watch of the whole prefix from revision 1 skipped committed events of its range it had passed: \[3,"put","k1",2\], \[4,"delete","k0",null\]\n    watch /m);
    expect(gap.stdout.endsWith('overall: invalid\n')).toBe(true);
    const clean = await check('watch', watchBuilder([{ startRevision: 1, events: COMMITTED }], COMMITTED).events());
    expect(clean.code).toBe(EXIT_VALID);
  });

  it('prints a stale instance and exits 1; a clean registry history exits 0', async () => {
    const stale = registered();
    discover(stale, 3.1, ['a']);
    const found = await check('registry', stale.events());
    expect(found.code).toBe(EXIT_INVALID);
    expect(found.stdout).toContain('stale-instance: discovery of "svc" listed "a" although the discovery began 90 ms after');
    const clean = registered();
    discover(clean, 1, ['a']);
    expect((await check('registry', clean.events())).code).toBe(EXIT_VALID);
  });
});
