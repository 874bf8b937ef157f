// The lock checker catches what a lock without fencing allows, in a real run: with --unfenced-writes a holder's
// writes are plain puts, and the workload's stalled holder (the first client's first hold stops renewing its lease
// and waits past its expiry, as a paused process would) writes after the lock has passed to another client. On one
// contended lock that happens in every run, so the run must come out invalid, naming the stale write; the same run
// with fenced writes refuses it and checks valid (run-recipes.test.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_INVALID, runJepsen } from '../../jepsen-like/command.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-unfenced-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conclave-jepsen run --workload lock --unfenced-writes', () => {
  it('is invalid: a stalled holder wrote after the lock moved on, and nothing refused it', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runJepsen(
      ['run', '--workload', 'lock', '--unfenced-writes', '--nemesis', 'none', '--time', '8', '--nodes', '3', '--concurrency', '4', '--keys', '1', '--seed', '3',
        '--out', join(dir, 'run')],
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
    );
    expect(code, `${stdout}\n${stderr}`).toBe(EXIT_INVALID);
    expect(stdout).toMatch(/^token-went-back: "l0": the write accepted at revision \d+ carries token \d+, after one with token \d+ was accepted/m);
    expect(stdout).toMatch(/refusedWrites 0/);
    expect(stdout.endsWith('overall: invalid\n')).toBe(true);
  }, 90_000);
});
