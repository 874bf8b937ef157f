import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, packageVersion, runConclave, runConclavectl, type CliIo } from '../../cmd/cli.js';
import { serverFlagSpecs } from '../../src/server/config.js';

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
      expect(stdout.replace(/\s+/g, ' ')).toContain(`[env: ${spec.env}]`);
    }
  });

  it('validates the flags, then says the server runtime arrives with the node issue and exits 2', async () => {
    const { code, stdout, stderr } = await run(runConclave, ['--name', 'n1', '--heartbeat-interval=50'], { CONCLAVE_ELECTION_TIMEOUT: '500' });
    expect(code).toBe(EXIT_UNAVAILABLE);
    expect(stdout).toBe('');
    expect(stderr).toContain('the flags are valid (member "n1", data dir "n1.conclave", 1 initial member)');
    expect(stderr).toContain('arrives with the node issue');
    expect(stderr.toLowerCase()).not.toMatch(/not implemented|todo/);
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

  it('prints warnings about the environment to stderr', async () => {
    const { code, stderr } = await run(runConclave, [], { CONCLAVE_NAMME: 'x' });
    expect(code).toBe(EXIT_UNAVAILABLE);
    expect(stderr).toContain('conclave: warning: unrecognized environment variable CONCLAVE_NAMME (ignored)');
  });
});

describe('conclavectl', () => {
  it('prints the version and help', async () => {
    expect(await run(runConclavectl, ['--version'])).toEqual({ code: EXIT_OK, stdout: `${version}\n`, stderr: '' });
    const help = await run(runConclavectl, ['--help']);
    expect(help.code).toBe(EXIT_OK);
    expect(help.stdout).toContain('--endpoints');
  });

  it('says the commands arrive with the client issue and exits 2', async () => {
    for (const args of [[], ['get', 'foo'], ['--endpoints', 'http://10.0.0.1:2379,https://n2:2379', 'put', 'k', 'v']]) {
      const { code, stderr } = await run(runConclavectl, args);
      expect(code).toBe(EXIT_UNAVAILABLE);
      expect(stderr).toContain('arrive with the client issue');
      expect(stderr.toLowerCase()).not.toMatch(/not implemented|todo/);
    }
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
