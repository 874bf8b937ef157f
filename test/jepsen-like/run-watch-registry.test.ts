// Short `conclave-jepsen run`s of the watch and registry workloads on three real members under kills and
// partitions: each must check valid, with enough events and discoveries checked for that to mean something, and
// with its faults on record.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_VALID, runJepsen } from '../../jepsen-like/command.js';
import { parseHistory } from '../../jepsen-like/history.js';
import type { FaultRecord } from '../../jepsen-like/nemesis.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-watchreg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(workload: string, nemesis: string, seed: number, out: string): Promise<{ code: number; stdout: string; context: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runJepsen(
    ['run', '--workload', workload, '--nemesis', nemesis, '--time', '8', '--nodes', '3', '--concurrency', '6', '--seed', String(seed), '--keys', '3',
      '--fault-ms', '1500,2500', '--quiet-ms', '500,1000', '--out', out],
    { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
  );
  return { code, stdout, context: `${stdout}\n${stderr}` };
}

function faults(out: string): FaultRecord[] {
  return readFileSync(join(out, 'nemesis.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as FaultRecord);
}

describe('conclave-jepsen run --workload watch', () => {
  it('finds every watcher equal to the committed history of its range across kills', async () => {
    const out = join(dir, 'watch');
    const { code, stdout, context } = await run('watch', 'kill', 3, out);
    expect(code, context).toBe(EXIT_VALID);
    expect(stdout.endsWith('overall: valid\n'), context).toBe(true);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { verdict: string; problems: string[]; check: { counts: Record<string, number> }; recovery: { keysRead: number } };
    expect(results.verdict).toBe('valid');
    expect(results.problems, context).toEqual([]);
    expect(results.recovery.keysRead).toBe(1);
    const { counts } = results.check;
    expect(counts['watchers'], context).toBeGreaterThanOrEqual(4);
    // On a loaded machine (two cores, several runs at once) three writers commit under a hundred puts in 8 s.
    expect(counts['eventsChecked'], context).toBeGreaterThan(50);
    expect(counts['committedEvents'], context).toBeGreaterThan(30);
    expect(counts['writesChecked'], context).toBeGreaterThan(30);
    const killed = faults(out).filter((fault) => fault.kind === 'kill');
    expect(killed.length, context).toBeGreaterThan(0);
    // A watcher was open across a kill: it resumed on another member.
    const history = parseHistory(readFileSync(join(out, 'history.jsonl'), 'utf8'));
    if (!history.ok) throw new Error(history.error.message);
    const watches = history.value.operations.filter((op) => op.f === 'watch' && op.complete !== null);
    const across = watches.filter((op) => killed.some((fault) => op.invoke.time < fault.start && op.complete!.time > fault.start));
    expect(across.length, context).toBeGreaterThan(0);
  }, 60_000);
});

describe('conclave-jepsen run --workload registry', () => {
  // This schedule (seed 4: isolate-one, then halves twice) cuts a follower off while renewals go on, lets it
  // rejoin, then deposes the leader: as of 2026-12-02 it often finds `stale-instance` in Conclave, a member that
  // applied the renewals' checkpoints late (src/server/lessor.ts estimates a deadline from its own time of
  // apply) listing an instance more than an election timeout past its lease's expiry while the new leader's grace
  // holds the revoke back. The assertion stands: it is the bug's test.
  it('lists no long-expired instance and misses no live one across partitions', async () => {
    const out = join(dir, 'registry');
    const { code, stdout, context } = await run('registry', 'partition', 4, out);
    expect(code, context).toBe(EXIT_VALID);
    expect(stdout.endsWith('overall: valid\n'), context).toBe(true);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { verdict: string; problems: string[]; check: { counts: Record<string, number> }; network: Record<string, { refused: number; severed: number }> };
    expect(results.verdict).toBe('valid');
    expect(results.problems, context).toEqual([]);
    const { counts } = results.check;
    expect(counts['discoveries'], context).toBeGreaterThan(50);
    expect(counts['missingChecks'], context).toBeGreaterThan(20);
    // Some instance ended (crashed, deregistered, lease lost) and was looked for afterwards.
    expect(counts['expiredChecks'], context).toBeGreaterThan(0);
    expect(faults(out).some((fault) => fault.kind === 'partition')).toBe(true);
    const cutConnections = Object.values(results.network).reduce((sum, door) => sum + door.refused + door.severed, 0);
    expect(cutConnections).toBeGreaterThan(0);
  }, 60_000);
});
