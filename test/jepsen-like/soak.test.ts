// The short form of `npm run jepsen:soak`: three runs of the set workload (under kills, and twice under no fault,
// which must not share a directory) on three real members, and the matrix they leave: one row per run with its counts, faults and verdict, the fault time
// summed, the overall verdict. Bad flags are refused before anything starts.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_UNKNOWN, EXIT_VALID, runJepsen } from '../../jepsen-like/command.js';
import type { SoakMatrix } from '../../jepsen-like/soak.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function jepsen(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runJepsen(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

describe('conclave-jepsen soak', () => {
  it('runs each workload under each nemesis and writes the matrix of verdicts with the fault time', async () => {
    const out = join(dir, 'soak');
    const { code, stdout, stderr } = await jepsen(['soak', '--workloads', 'set', '--nemeses', 'kill,none,none', '--time', '8', '--nodes', '3', '--concurrency', '3',
      '--keys', '2', '--seed', '11', '--fault-ms', '1500,2000', '--quiet-ms', '300,600', '--out', out]);
    expect(code, `${stdout}\n${stderr}`).toBe(EXIT_VALID);
    expect(stderr).toMatch(/soak 1\/3: set under kill, seed 11/);
    expect(stderr).toMatch(/soak 2\/3: set under none, seed 12/);
    expect(stderr).toMatch(/soak 3\/3: set under none, seed 13/);
    const matrix = JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')) as SoakMatrix;
    const context = JSON.stringify(matrix, null, 2);
    expect(matrix.rows.map((row) => [row.workload, row.nemesis, row.verdict])).toEqual([['set', 'kill', 'valid'], ['set', 'none', 'valid'], ['set', 'none', 'valid']]);
    expect(new Set(matrix.rows.map((row) => row.dir)).size).toBe(3);
    const [killed, quiet] = matrix.rows;
    expect(killed!.faults, context).toBeGreaterThan(0);
    expect(killed!.faultTimeS, context).toBeGreaterThan(1);
    expect(quiet!.faults).toBe(0);
    expect(matrix.totalFaultTimeS).toBeCloseTo(killed!.faultTimeS, 6);
    // Enough to mean something, even on a loaded machine.
    for (const row of matrix.rows) expect(row.ok, context).toBeGreaterThan(5);
    expect(matrix.verdict).toBe('valid');
    const table = readFileSync(join(out, 'matrix.md'), 'utf8');
    expect(table).toMatch(/^\| set \| kill \| 11 \| \d+ \| \d+ \| \d+ \| \d+ \| \d+\.\d \| valid \| - \|$/m);
    expect(table).toMatch(/overall: valid\n$/);
    expect(stdout).toBe(table);
    // Each run keeps its own directory, as `run` writes it.
    for (const row of matrix.rows) expect(existsSync(join(row.dir, 'history.jsonl')), row.dir).toBe(true);
  }, 120_000);

  it('refuses an unknown workload or nemesis before starting anything', async () => {
    const unknownWorkload = await jepsen(['soak', '--workloads', 'set,nope', '--out', join(dir, 'no1')]);
    expect(unknownWorkload.code).toBe(EXIT_UNKNOWN);
    expect(unknownWorkload.stderr).toMatch(/--workloads: unknown "nope"/);
    const unknownKind = await jepsen(['soak', '--workloads', 'set', '--nemeses', 'kill+bogus', '--out', join(dir, 'no2')]);
    expect(unknownKind.code).toBe(EXIT_UNKNOWN);
    expect(unknownKind.stderr).toMatch(/--nemeses: unknown "bogus"/);
    expect(existsSync(join(dir, 'no1'))).toBe(false);
    expect(existsSync(join(dir, 'no2'))).toBe(false);
  });
});
