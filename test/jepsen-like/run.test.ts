// A short `conclave-jepsen run` of the register workload on three real members under partitions and kills: the
// history must check valid, the faults must really have happened (in nemesis.jsonl, cuts counted by the front
// doors, the killed member started again), and enough operations must have succeeded for the check to mean
// something.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_VALID, runJepsen } from '../../jepsen-like/command.js';
import { parseHistory } from '../../jepsen-like/history.js';
import type { FaultRecord } from '../../jepsen-like/nemesis.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conclave-jepsen run --workload register', () => {
  it('checks valid under partitions and kills, with the faults and enough operations on record', async () => {
    const out = join(dir, 'run');
    let stdout = '';
    let stderr = '';
    const code = await runJepsen(
      ['run', '--workload', 'register', '--nemesis', 'partition,kill', '--time', '20', '--nodes', '3', '--concurrency', '6', '--seed', '8',
        '--fault-ms', '1500,3000', '--quiet-ms', '500,1500', '--out', out],
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
    );
    const context = `${stdout}\n${stderr}`;
    expect(code, context).toBe(EXIT_VALID);
    expect(stdout).toMatch(/overall: valid\n$/);
    expect(stderr).toMatch(/\[\d+s\/20s\] \d+ ops\/s; ok \d+/);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      verdict: string;
      seed: number;
      problems: string[];
      operations: { ok: number; info: number };
      recovery: { keysRead: number };
      network: Record<string, { refused: number; severed: number }>;
    };
    expect(results.verdict).toBe('valid');
    expect(results.seed).toBe(8);
    expect(results.problems, context).toEqual([]);
    expect(results.operations.ok, context).toBeGreaterThan(200);
    expect(results.recovery.keysRead).toBe(5);

    const faults = readFileSync(join(out, 'nemesis.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as FaultRecord);
    expect(new Set(faults.map((f) => f.kind))).toEqual(new Set(['partition', 'kill']));
    for (const fault of faults) expect(fault.end).toBeGreaterThan(fault.start);
    // The cuts took effect at the front doors: connections across them were ended or refused.
    const cutConnections = Object.values(results.network).reduce((sum, door) => sum + door.refused + door.severed, 0);
    expect(cutConnections).toBeGreaterThan(0);
    // A killed member was started again on its data directory: its log shows two starts.
    const killed = faults.find((f) => f.kind === 'kill')!.nodes[0]!;
    const starts = readFileSync(join(out, 'logs', `${killed}.log`), 'utf8').split('serving client requests').length - 1;
    expect(starts).toBeGreaterThanOrEqual(2);

    const history = parseHistory(readFileSync(join(out, 'history.jsonl'), 'utf8'));
    expect(history.ok).toBe(true);
    // The report of the run, with its verdict and faults (report.test.ts and report-chromium.test.ts test its drawing).
    const report = readFileSync(join(out, 'report.html'), 'utf8');
    expect(report).toContain('<span class="verdict valid" id="verdict">valid</span>');
    expect(report).toContain(`"${faults[0]!.shape} ${faults[0]!.nodes.join(',')}"`);
    expect(stderr).toMatch(/report\.html: \d+ KB, built in \d+ ms/);
    if (history.ok) {
      const okReads = history.value.operations.filter((o) => o.f === 'read' && o.outcome === 'ok' && o.output !== null);
      expect(okReads.length).toBeGreaterThan(0);
    }
  }, 90_000);
});

describe('conclave-jepsen run --workload set', () => {
  it('finds every acknowledged element in the final reads across kills, and records each add with its element', async () => {
    const out = join(dir, 'set');
    let stdout = '';
    let stderr = '';
    const code = await runJepsen(
      ['run', '--workload', 'set', '--nemesis', 'kill', '--time', '8', '--nodes', '3', '--concurrency', '4', '--seed', '5', '--keys', '3',
        '--fault-ms', '1500,2500', '--quiet-ms', '500,1000', '--out', out],
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
    );
    const context = `${stdout}\n${stderr}`;
    expect(code, context).toBe(EXIT_VALID);
    expect(stdout).toMatch(/checked: sets 3, acknowledged \d+, /);
    expect(stdout.endsWith('overall: valid\n')).toBe(true);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { verdict: string; check: { counts: { acknowledged: number } }; recovery: { keysRead: number } };
    expect(results.verdict).toBe('valid');
    expect(results.check.counts.acknowledged, context).toBeGreaterThan(100);
    expect(results.recovery.keysRead).toBe(3);
    const faults = readFileSync(join(out, 'nemesis.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as FaultRecord);
    expect(faults.some((fault) => fault.kind === 'kill')).toBe(true);
    const history = parseHistory(readFileSync(join(out, 'history.jsonl'), 'utf8'));
    if (!history.ok) throw new Error(history.error.message);
    const reads = history.value.operations.filter((o) => o.f === 'read' && o.outcome === 'ok');
    expect(reads.map((o) => o.key).sort()).toEqual(['s0', 's1', 's2']);
    const added = history.value.operations.filter((o) => o.f === 'add' && o.outcome === 'ok').map((o) => o.value);
    expect(new Set(added).size).toBe(added.length);
  }, 90_000);
});
