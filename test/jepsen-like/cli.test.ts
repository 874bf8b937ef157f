import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID, runJepsen } from '../../jepsen-like/command.js';
import { formatHistory, HistoryRecorder } from '../../jepsen-like/history.js';
import { NEMESIS_KINDS } from '../../jepsen-like/nemesis.js';
import { generateRegisterHistory } from './register-histories.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function historyFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Two keys: x as a register should be, y with a read of a value overwritten before the read began. */
function anomalous(): string {
  let now = 0;
  const h = new HistoryRecorder(() => (now += 1_000));
  for (const key of ['x', 'y']) {
    h.invoke(0, 'write', key, 1);
    h.complete(0, 'ok', 1);
    h.invoke(0, 'write', key, 2);
    h.complete(0, 'ok', 2);
  }
  h.invoke(1, 'read', 'x', null);
  h.complete(1, 'ok', 2);
  h.invoke(1, 'read', 'y', null);
  h.complete(1, 'ok', 1);
  return formatHistory(h.events);
}

async function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runJepsen(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

describe('conclave-jepsen check', () => {
  it('prints each key valid and exits 0 for a linearizable history', async () => {
    const path = historyFile('valid.jsonl', formatHistory(generateRegisterHistory({ seed: 1, clients: 4, operations: 400, keys: 2, infoRate: 0.1 })));
    const { code, stdout, stderr } = await run(['check', '--workload', 'register', path]);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^key "k\d": valid {2}\[\d+ operations \(\d+ info\), \d+ dropped; \d+ steps, \d+ ms\]\nkey "k\d": valid .*\noverall: valid\n$/);
    expect(code).toBe(EXIT_VALID);
  });

  it('explains the anomalous key and exits 1', async () => {
    const { code, stdout } = await run(['check', '--workload', 'register', historyFile('anomalous.jsonl', anomalous())]);
    expect(code).toBe(EXIT_INVALID);
    expect(stdout).toContain('key "x": valid');
    expect(stdout).toContain('key "y": invalid');
    expect(stdout).toContain('    could not be linearized:\n      read -> 1 by process 1 (ok, index 10..11)\n');
    expect(stdout).toContain('    linearized before it:\n      write 1 by process 0 (ok, index 4..5)\n      write 2 by process 0 (ok, index 6..7)\n');
    expect(stdout.endsWith('overall: invalid\n')).toBe(true);
  });

  it('checks the safety workloads too: an ID issued twice is named with its operations, exit 1; a clean set exits 0', async () => {
    let now = 0;
    const ids = new HistoryRecorder(() => (now += 1_000));
    for (const [process, id] of [[0, '41'], [1, '42'], [1, '41']] as const) {
      ids.invoke(process, 'generate', `w${process}`, null);
      ids.complete(process, 'ok', id);
    }
    const duplicated = await run(['check', '--workload', 'snowflake', historyFile('ids.jsonl', formatHistory(ids.events))]);
    expect(duplicated.code).toBe(EXIT_INVALID);
    expect(duplicated.stdout).toContain('duplicate-id: ID 41 was issued twice: by process 0 and by process 1\n');
    expect(duplicated.stdout).toContain('not-monotonic: process 1 issued 41 after 42\n');
    expect(duplicated.stdout).toMatch(/checked: issued 3, unique 2, processes 2, anomalies:duplicate-id 1, anomalies:not-monotonic 1\n/);
    const set = new HistoryRecorder(() => (now += 1_000));
    set.invoke(0, 'add', 's', 1);
    set.complete(0, 'ok', 1);
    set.invoke(1, 'read', 's', null);
    set.complete(1, 'ok', [1]);
    const clean = await run(['check', '--workload', 'set', historyFile('set.jsonl', formatHistory(set.events))]);
    expect(clean.code).toBe(EXIT_VALID);
    expect(clean.stdout.endsWith('overall: valid\n')).toBe(true);
  });

  it('gives the whole result as JSON with --json', async () => {
    const { code, stdout } = await run(['check', '--workload', 'register', '--json', historyFile('anomalous.jsonl', anomalous())]);
    expect(code).toBe(EXIT_INVALID);
    const result = JSON.parse(stdout) as { verdict: string; keys: { key: string; verdict: string; explanation?: { failedOp: { output: number } } }[] };
    expect(result.verdict).toBe('invalid');
    expect(result.keys.map((key) => [key.key, key.verdict, key.explanation?.failedOp.output])).toEqual([
      ['x', 'valid', undefined],
      ['y', 'invalid', 1],
    ]);
  });

  it('exits 2 when the search gives up', async () => {
    const path = historyFile('long.jsonl', formatHistory(generateRegisterHistory({ seed: 2, clients: 4, operations: 400, keys: 1 })));
    const { code, stdout } = await run(['check', '--workload', 'register', '--max-steps', '5', path]);
    expect(code).toBe(EXIT_UNKNOWN);
    expect(stdout).toContain('key "k0": unknown');
    expect(stdout).toContain('    the search took 5 steps without an answer (the limit maxStepsPerKey, --max-steps)\n');
    expect(stdout.endsWith('overall: unknown\n')).toBe(true);
  });

  it('exits 2 on input it cannot read, naming the file and line', async () => {
    const missing = join(dir, 'missing.jsonl');
    expect((await run(['check', '--workload', 'register', missing])).stderr).toMatch(/^conclave-jepsen: cannot read .*missing\.jsonl: ENOENT/);
    const broken = historyFile('broken.jsonl', '{"index":0,"process":0,"type":"ok","f":"read","key":"x","value":1,"time":0}\n');
    expect(await run(['check', '--workload', 'register', broken])).toEqual({
      code: EXIT_UNKNOWN,
      stdout: '',
      stderr: `conclave-jepsen: ${broken} line 1: "ok" for process 0, which has no pending invocation\n`,
    });
    const notRegister = historyFile('incr.jsonl', '{"index":0,"process":0,"type":"invoke","f":"incr","key":"x","value":1,"time":0}\n');
    expect((await run(['check', '--workload', 'register', notRegister])).stderr).toContain('has f "incr"; the register workload\'s are read, write and cas');
    expect((await run(['check', '--workload', 'bank', broken])).code).toBe(EXIT_UNKNOWN);
    expect((await run(['check', broken])).stderr).toContain('Missing required argument: workload');
    expect((await run(['check', '--workload', 'register', '--max-steps', '0', broken])).stderr).toBe('conclave-jepsen: --max-steps must be a positive integer, not 0\n');
  });

  it('refuses a run with flags it cannot use, with exit code 2, before starting anything', async () => {
    const out = join(dir, 'never');
    const flags = ['run', '--workload', 'register', '--out', out];
    expect((await run(['run', '--out', out])).stderr).toContain('Missing required argument: workload');
    const flood = await run([...flags, '--nemesis', 'partition,flood,bridge']);
    expect(flood.code).toBe(EXIT_UNKNOWN);
    expect(flood.stdout).toBe('');
    expect(flood.stderr).toMatch(/^conclave-jepsen: --nemesis: unknown "flood" \(a kind: partition, .*delay, loss.*; a shape: isolate-one, .*bridge, ring.*; or none\)\n$/);
    expect((await run([...flags, '--nodes', '0'])).stderr).toBe('conclave-jepsen: --nodes must be a positive integer, not 0\n');
    expect((await run([...flags, '--fault-ms', '5,2'])).stderr).toContain('--fault-ms must be "MIN,MAX"');
    expect((await run([...flags, '--seed', '1.5'])).stderr).toBe('conclave-jepsen: --seed must be an integer, not 1.5\n');
    expect(existsSync(out)).toBe(false);
  });

  it('is the executable dist/jepsen-like/cli.js, with its exit codes', async () => {
    const cli = fileURLToPath(new URL('../../dist/jepsen-like/cli.js', import.meta.url));
    const path = historyFile('anomalous.jsonl', anomalous());
    const failed = await promisify(execFile)(process.execPath, [cli, 'check', '--workload', 'register', path]).catch((error: { code: number; stdout: string }) => error);
    expect('code' in failed && failed.code).toBe(EXIT_INVALID);
    expect(failed.stdout).toContain('overall: invalid');
    const valid = await promisify(execFile)(process.execPath, [cli, 'check', '--workload', 'register', historyFile('x.jsonl', '')]);
    expect(valid.stdout).toBe('overall: valid\n');
  });
});
