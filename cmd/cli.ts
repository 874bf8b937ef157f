// The command lines of `conclave` (server) and `conclavectl` (client), as functions of argv and environment
// that return an exit code. The executables (conclave.ts, conclavectl.ts) only wire them to the process.
//
// Exit codes: 0 after --help or --version; 1 when the flags are invalid; 2 when the flags are valid but this
// build cannot act on them yet (the server runtime arrives with the node issue, the client commands with
// the client issue).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { formatConfigErrors, resolveServerConfig, serverFlagSpecs, type Env, type RawFlags } from '../src/server/config.js';
import { parseUrlList } from '../src/util/urls.js';
import { runRepair } from './repair.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Env;
  /** Columns for --help; defaults to 100. */
  readonly width?: number;
}

/** The real process's streams and environment. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    width: Math.min(process.stdout.columns ?? 100, 120),
  };
}

export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_UNAVAILABLE = 2;

let cachedVersion: string | undefined;

/** The version in the package.json of this package, found by walking up from this file (cmd/ or dist/cmd/). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'conclave' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    } catch {
      // No readable package.json here: keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the package.json of conclave above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

interface Parsed {
  readonly error: Error | undefined;
  readonly argv: Record<string, unknown>;
  readonly output: string;
}

function parse(parser: Argv, args: readonly string[]): Promise<Parsed> {
  return new Promise((resolve) => {
    void parser.parse([...args], {}, (error: Error | undefined, argv: Record<string, unknown>, output: string) => {
      resolve({ error: error ?? undefined, argv, output });
    });
  });
}

function baseParser(scriptName: string, io: CliIo): Argv {
  return yargs()
    .scriptName(scriptName)
    // Values stay strings (src/server/config.ts parses them, whether they come from argv or the environment).
    .parserConfiguration({
      'camel-case-expansion': false,
      'dot-notation': false,
      'duplicate-arguments-array': true,
      'parse-numbers': false,
      'parse-positional-numbers': false,
    })
    .version(packageVersion())
    .help()
    .alias('h', 'help')
    .exitProcess(false)
    .wrap(io.width ?? 100);
}

/** Handles --help, --version and parse errors; returns an exit code when the run is over. */
function handleCommon(name: string, parsed: Parsed, io: CliIo): number | undefined {
  if (parsed.error !== undefined) {
    io.stderr(`${name}: ${parsed.error.message}\nRun "${name} --help" for the list of flags.\n`);
    return EXIT_USAGE;
  }
  if (parsed.argv['help'] === true || parsed.argv['version'] === true) {
    io.stdout(parsed.output + '\n');
    return EXIT_OK;
  }
  return undefined;
}

export async function runConclave(args: readonly string[], io: CliIo): Promise<number> {
  if (args[0] === 'repair') return runRepair(args.slice(1), io);
  let parser = baseParser('conclave', io)
    .usage(
      '$0 [flags]\n$0 repair --data-dir DIR [--confirm]   (see "conclave repair --help")\n\n' +
        'Runs one member of a Conclave cluster. Every flag may also be set through the environment variable ' +
        'shown with it; a flag given on the command line wins over the environment.',
    )
    .strict()
    .epilogue(
      [
        'Example: the first member of a three-member cluster',
        '  conclave --name n1 \\',
        '    --listen-peer-urls http://10.0.0.1:2380 \\',
        '    --initial-advertise-peer-urls http://10.0.0.1:2380 \\',
        '    --listen-client-urls http://10.0.0.1:2379 \\',
        '    --advertise-client-urls http://10.0.0.1:2379 \\',
        '    --initial-cluster n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,n3=http://10.0.0.3:2380',
      ].join('\n'),
    );
  for (const spec of serverFlagSpecs) {
    parser = parser.option(spec.flag, {
      requiresArg: true,
      describe: `${spec.description} [env: ${spec.env}]`,
      defaultDescription: spec.defaultDescription,
      group: `${spec.group} flags:`,
    });
  }
  const parsed = await parse(parser, args);
  const done = handleCommon('conclave', parsed, io);
  if (done !== undefined) return done;

  const flags: Record<string, string | readonly string[]> = {};
  for (const spec of serverFlagSpecs) {
    const value = parsed.argv[spec.flag];
    if (typeof value === 'string') flags[spec.flag] = value;
    else if (Array.isArray(value)) flags[spec.flag] = value.map(String);
  }
  const result = resolveServerConfig(flags as RawFlags, io.env);
  for (const warning of result.warnings) io.stderr(`conclave: warning: ${warning}\n`);
  if (!result.ok) {
    io.stderr(`${formatConfigErrors(result.errors)}\nRun "conclave --help" for the list of flags.\n`);
    return EXIT_USAGE;
  }
  const { config } = result;
  io.stderr(
    `conclave ${packageVersion()}: the flags are valid (member "${config.name}", data dir "${config.dataDir}", ` +
      `${config.initialCluster.length} initial member${config.initialCluster.length === 1 ? '' : 's'}), ` +
      'but this build contains no server runtime yet: it arrives with the node issue. No member was started.\n',
  );
  return EXIT_UNAVAILABLE;
}

export const CTL_ENDPOINTS_ENV = 'CONCLAVECTL_ENDPOINTS';
const DEFAULT_ENDPOINTS = 'http://127.0.0.1:2379';

export async function runConclavectl(args: readonly string[], io: CliIo): Promise<number> {
  const parser = baseParser('conclavectl', io)
    .usage('$0 [--endpoints URLs] <command> [args]\n\nTalks to a Conclave cluster.')
    .strictOptions()
    .option('endpoints', {
      requiresArg: true,
      describe: `Comma-separated client URLs of cluster members [env: ${CTL_ENDPOINTS_ENV}]`,
      defaultDescription: `"${DEFAULT_ENDPOINTS}"`,
    });
  const parsed = await parse(parser, args);
  const done = handleCommon('conclavectl', parsed, io);
  if (done !== undefined) return done;

  const fromFlag = parsed.argv['endpoints'];
  const fromEnv = io.env[CTL_ENDPOINTS_ENV];
  if (Array.isArray(fromFlag)) {
    io.stderr(`conclavectl: --endpoints: given ${fromFlag.length} times; give it once (lists are comma-separated)\n`);
    return EXIT_USAGE;
  }
  const text = typeof fromFlag === 'string' ? fromFlag : (fromEnv ?? DEFAULT_ENDPOINTS);
  const source = typeof fromFlag === 'string' ? '' : fromEnv !== undefined ? ` (from ${CTL_ENDPOINTS_ENV})` : '';
  const endpoints = parseUrlList(text, { schemes: ['http', 'https'], bareOnly: true });
  if (!endpoints.ok) {
    io.stderr(`conclavectl: --endpoints${source}: ${endpoints.error}\n`);
    return EXIT_USAGE;
  }
  const command = parsed.argv['_'];
  const asked = Array.isArray(command) && command.length > 0 ? ` (asked for "${command.map(String).join(' ')}")` : '';
  io.stderr(
    `conclavectl ${packageVersion()}: this build has no client commands yet${asked}: they arrive with the client issue, ` +
      'and the server runtime with the node issue. Nothing was sent.\n',
  );
  return EXIT_UNAVAILABLE;
}
