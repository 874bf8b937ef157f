import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, packageVersion, runConclave, runConclavectl, type CliIo } from '../../cmd/cli.js';
import { serverFlagSpecs } from '../../src/server/config.js';
import { freePort, serverBin } from '../support/process-cluster.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(
  main: (args: readonly string[], io: CliIo) => Promise<number>,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('conclave', () => {
  it('prints the version of package.json', async () => {
    expect(packageVersion()).toBe(version);
    expect(await run(runConclave, ['--version'])).toEqual({ code: EXIT_OK, stdout: `${version}\n`, stderr: '' });
  });

  it('lists every server flag and its environment variable in --help', async () => {
    const { code, stdout, stderr } = await run(runConclave, ['--help']);
    expect(code).toBe(EXIT_OK);
    expect(stderr).toBe('');
    for (const spec of serverFlagSpecs) {
      expect(stdout).toContain(`--${spec.flag} `);
      // yargs may break a long variable name across lines in the description column.
      expect(stdout.replace(/\s+/g, '')).toContain(`[env:${spec.env}]`);
    }
  });

  it('with valid flags runs the member until SIGTERM, then stops gracefully and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-cli-'));
    try {
      const [client, peer] = [await freePort(), await freePort()];
      const child = spawn(process.execPath, [serverBin(), '--name', 'n1', `--data-dir=${join(dir, 'data')}`, `--listen-client-urls=http://127.0.0.1:${client}`, `--advertise-client-urls=http://127.0.0.1:${client}`, `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`, `--initial-cluster=n1=http://127.0.0.1:${peer}`, '--heartbeat-interval=50'], {
        env: { ...process.env, CONCLAVE_ELECTION_TIMEOUT: '500' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      for (let waited = 0; !stderr.includes('became leader') && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      const health = (await (await fetch(`http://127.0.0.1:${client}/health`)).json()) as { health: string };
      expect(health.health).toBe('true');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // JSON log lines (a warning about the test's own CONCLAVE_* variables may come first).
      const lines = stderr.trim().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; name: string });
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['member started', 'serving client requests', 'became leader', 'stopping on signal', 'member stopped']));
      expect(new Set(lines.map((l) => l.name))).toEqual(new Set(['n1']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it('exits 1 with the reason when the member cannot start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-cli-'));
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = (taken.address() as { port: number }).port;
      const peer = await freePort();
      const args = ['--name', 'n1', `--data-dir=${join(dir, 'data')}`, `--listen-client-urls=http://127.0.0.1:${port}`, `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`, `--initial-cluster=n1=http://127.0.0.1:${peer}`];
      const { code, stderr } = await run(runConclave, args, { CONCLAVE_NAMME: 'x', CONCLAVE_LOG_LEVEL: 'error' });
      expect(code).toBe(EXIT_FAILURE);
      expect(stderr).toContain('conclave: warning: unrecognized environment variable CONCLAVE_NAMME (ignored)');
      expect(stderr).toMatch(/conclave: cannot start member "n1": cannot listen for clients: .*EADDRINUSE/);
    } finally {
      taken.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 naming the flag when a flag is invalid', async () => {
    const { code, stderr } = await run(runConclave, ['--heartbeat-interval', '2000']);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain('conclave: --heartbeat-interval: 2000 ms must be less than --election-timeout (1000 ms)');
    expect(stderr).not.toContain('node issue');
  });

  it('exits 1 naming the environment variable when its value is invalid', async () => {
    const { code, stderr } = await run(runConclave, [], { CONCLAVE_INITIAL_CLUSTER: 'n1' });
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain('--initial-cluster (from CONCLAVE_INITIAL_CLUSTER): entry "n1" is not of the form name=peerURL');
  });

  it.each([
    [['--nme', 'x'], 'Unknown argument: nme'],
    [['--name'], 'Not enough arguments following: name'],
    [['start'], 'Unknown argument: start'],
    [['--name', 'a', '--name', 'b'], '--name: given 2 times'],
  ])('rejects %j', async (args, message) => {
    const { code, stderr } = await run(runConclave, args);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain(message);
  });
});

describe('conclavectl', () => {
  it('prints the version and help', async () => {
    expect(await run(runConclavectl, ['--version'])).toEqual({ code: EXIT_OK, stdout: `${version}\n`, stderr: '' });
    const help = await run(runConclavectl, ['--help']);
    expect(help.code).toBe(EXIT_OK);
    expect(help.stdout).toContain('--endpoints');
  });

  it('lists its commands in --help, and exits 1 when given none', async () => {
    const help = await run(runConclavectl, ['--help']);
    for (const command of ['put', 'get', 'del', 'txn', 'compaction', 'member', 'endpoint']) expect(help.stdout).toContain(`conclavectl ${command}`);
    const none = await run(runConclavectl, []);
    expect(none.code).toBe(EXIT_USAGE);
    expect(none.stderr).toContain('conclavectl: no command given');
    expect(none.stderr.toLowerCase()).not.toMatch(/not implemented|todo|client issue/);
  });

  it('validates --endpoints, from the flag or CONCLAVECTL_ENDPOINTS', async () => {
    const bad = await run(runConclavectl, ['--endpoints', 'localhost:2379', 'get', 'k']);
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.stderr).toContain('conclavectl: --endpoints: "localhost:2379" has scheme "localhost"');
    const badEnv = await run(runConclavectl, ['get', 'k'], { CONCLAVECTL_ENDPOINTS: 'http://a:1,,' });
    expect(badEnv.code).toBe(EXIT_USAGE);
    expect(badEnv.stderr).toContain('conclavectl: --endpoints (from CONCLAVECTL_ENDPOINTS): empty entry in the list');
    expect((await run(runConclavectl, ['--bogus'])).code).toBe(EXIT_USAGE);
  });
});
