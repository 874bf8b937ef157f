// Short `conclave-jepsen run`s of the lock, election and snowflake workloads on three real members under faults:
// each history must check valid, the faults must have happened, and the check must have counted what makes it
// mean something (acquisitions confirmed by the grants reads, writes accepted and refused, IDs issued and worker
// IDs handed over and refused).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_VALID, runJepsen } from '../../jepsen-like/command.js';
import { parseHistory, type Operation } from '../../jepsen-like/history.js';
import type { FaultRecord } from '../../jepsen-like/nemesis.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-recipes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  readonly context: string;
  readonly results: { verdict: string; problems: string[]; operations: { ok: number; fail: number; info: number }; recovery: { keysRead: number }; check: { counts: Record<string, number> } };
  readonly faults: FaultRecord[];
  readonly operations: readonly Operation[];
}

async function run(workload: string, nemesis: string, seconds: number, extra: string[] = []): Promise<Ran> {
  const out = join(dir, workload);
  let stdout = '';
  let stderr = '';
  const code = await runJepsen(
    ['run', '--workload', workload, '--nemesis', nemesis, '--time', String(seconds), '--nodes', '3', '--concurrency', '6', '--seed', '11',
      '--fault-ms', '1500,2500', '--quiet-ms', '500,1000', '--out', out, ...extra],
    { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
  );
  const context = `${stdout}\n${stderr}`;
  expect(code, context).toBe(EXIT_VALID);
  expect(stdout.endsWith('overall: valid\n'), context).toBe(true);
  const history = parseHistory(readFileSync(join(out, 'history.jsonl'), 'utf8'));
  if (!history.ok) throw new Error(history.error.message);
  return {
    context,
    results: JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Ran['results'],
    faults: readFileSync(join(out, 'nemesis.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as FaultRecord),
    operations: history.value.operations,
  };
}

/** What a lock or election run's check must have counted for its verdict to mean something. */
function expectFencedCounts(counts: Record<string, number>, names: number, context: string): void {
  expect(counts['names']).toBe(names);
  expect(counts['acquisitions'], context).toBeGreaterThan(8);
  // The grants reads ran after every acquisition, so each one was confirmed.
  expect(counts['acquisitionsConfirmed']).toBe(counts['acquisitions']);
  expect(counts['acceptedWrites'], context).toBeGreaterThan(8);
  // The stalled holders' writes (the first client's first hold stalls in every run).
  expect(counts['refusedWrites'], context).toBeGreaterThan(0);
}

const okOf = (ops: readonly Operation[], f: string) => ops.filter((op) => op.f === f && op.outcome === 'ok');

describe('conclave-jepsen run --workload lock and election', () => {
  it('lock: every acknowledged acquisition is in the committed history, fenced writes accepted and stalled holders refused, across partitions and kills', async () => {
    const { context, results, faults, operations } = await run('lock', 'partition,kill', 8, ['--keys', '3']);
    expect(results.verdict).toBe('valid');
    expect(results.problems, context).toEqual([]);
    expect(new Set(faults.map((f) => f.kind)), context).toEqual(new Set(['partition', 'kill']));
    expectFencedCounts(results.check.counts, 3, context);
    expect(results.recovery.keysRead).toBe(3);
    expect(okOf(operations, 'grants').map((op) => op.key).sort()).toEqual(['l0', 'l1', 'l2']);
    // Holders hand over: tokens grow per lock, and writes carry the token they were granted.
    const tokens = okOf(operations, 'acquire').map((op) => op.output as number);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(okOf(operations, 'release').length, context).toBeGreaterThan(5);
  }, 60_000);

  it('election: every leader confirmed, its writes accepted under its term and a stalled one refused, across kills and pauses', async () => {
    const { context, results, faults, operations } = await run('election', 'kill,pause', 8, ['--keys', '3']);
    expect(results.problems, context).toEqual([]);
    expect(new Set(faults.map((f) => f.kind)), context).toEqual(new Set(['kill', 'pause']));
    expectFencedCounts(results.check.counts, 3, context);
    expect(okOf(operations, 'campaign').length).toBe(results.check.counts['acquisitions']);
    expect(okOf(operations, 'resign').length, context).toBeGreaterThan(5);
  }, 60_000);
});

describe('conclave-jepsen run --workload snowflake', () => {
  it('issues unique, per-holding increasing IDs while worker IDs are released, lost by stalled holders and handed to others, across kills and pauses', async () => {
    const { context, results, faults, operations } = await run('snowflake', 'kill,pause', 8);
    expect(results.problems, context).toEqual([]);
    expect(faults.length, context).toBeGreaterThan(1);
    const counts = results.check.counts;
    expect(counts['issued'], context).toBeGreaterThan(300);
    expect(counts['unique']).toBe(counts['issued']);
    expect(counts['processes'], context).toBeGreaterThan(6);
    // Stalled holders were refused by their generators, and worker IDs were handed out again.
    expect(operations.some((op) => op.f === 'generate' && op.outcome === 'fail'), context).toBe(true);
    const workerIds = okOf(operations, 'allocate').map((op) => op.output as number);
    expect(new Set(workerIds).size, context).toBeLessThan(workerIds.length);
  }, 60_000);
});
