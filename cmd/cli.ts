// The command lines of `conclave` (server) and `conclavectl` (client), as functions of argv and environment
// that return an exit code. The executables (conclave.ts, conclavectl.ts) only wire them to the process.
//
// Exit codes: 0 after --help or --version; 1 when the flags are invalid. conclave runs the member (cmd/serve.ts)
// and exits 0 after a requested stop or its removal from the cluster, 1 when it cannot start or fails. conclavectl's
// commands (cmd/ctl/) exit 0 when done and 1 on an error, printed as etcdctl prints it ("Error: ...").

import yargs, { type Argv } from 'yargs';
import { formatConfigErrors, resolveServerConfig, serverFlagSpecs, type Env, type RawFlags } from '../src/server/config.js';
import { packageVersion } from '../src/server/version.js';
import { parseUrlList } from '../src/util/urls.js';
import { runRepair } from './repair.js';
import { serve } from './serve.js';
import { runCtlCommand, withCtlCommands, type MatchedCommand } from './ctl/commands.js';
import { globalOptionsOf, withGlobalOptions } from './ctl/global.js';

export { packageVersion };

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Env;
  /** Columns for --help; defaults to 100. */
  readonly width?: number;
  /** Standard input, for conclavectl commands that read it (put's value, txn); defaults to the process's. */
  readonly stdin?: () => AsyncIterable<string | Uint8Array>;
  /** A monotonic clock in nanoseconds (conclavectl endpoint health's "took"); defaults to process.hrtime. */
  readonly nowNs?: () => bigint;
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
export const EXIT_FAILURE = 1;

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
  return serve(result.config, io);
}

export const CTL_ENDPOINTS_ENV = 'CONCLAVECTL_ENDPOINTS';
const DEFAULT_ENDPOINTS = 'http://127.0.0.1:2379';

export async function runConclavectl(args: readonly string[], io: CliIo): Promise<number> {
  const found: { matched?: MatchedCommand } = {};
  const base = baseParser('conclavectl', io)
    .usage('$0 [--endpoints URLs] [-w simple|json|fields|table] <command> [args]\n\nTalks to a Conclave cluster, as etcdctl does to etcd.')
    .strict()
    .demandCommand(1, 'no command given')
    .option('endpoints', {
      requiresArg: true,
      describe: `Comma-separated client URLs of cluster members [env: ${CTL_ENDPOINTS_ENV}]`,
      defaultDescription: `"${DEFAULT_ENDPOINTS}"`,
    });
  const parser = withCtlCommands(withGlobalOptions(base), (matched) => {
    found.matched = matched;
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
  const globals = globalOptionsOf(parsed.argv);
  if (!globals.ok || found.matched === undefined) {
    io.stderr(`conclavectl: ${globals.ok ? 'no command given' : globals.error}\nRun "conclavectl --help" for the list of flags.\n`);
    return EXIT_USAGE;
  }
  return runCtlCommand(found.matched, parsed.argv, {
    ...globals.options,
    endpoints: endpoints.urls,
    output: { out: io.stdout, err: io.stderr },
    stdin: io.stdin ?? (() => process.stdin),
    nowNs: io.nowNs ?? (() => process.hrtime.bigint()),
  });
}
