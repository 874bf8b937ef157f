// conclavectl's global flags besides --endpoints (which cli.ts reads): -w/--write-out, --hex and etcdctl's two
// timeouts, given as Go durations ("5s", "500ms").

import type { Argv } from 'yargs';
import { parseGoDuration } from './format.js';
import { OUTPUT_FORMATS, type OutputFormat } from './printer.js';

const DEFAULT_COMMAND_TIMEOUT = '5s';
const DEFAULT_DIAL_TIMEOUT = '2s';

export function withGlobalOptions(parser: Argv): Argv {
  return parser
    .option('write-out', { alias: 'w', type: 'string', requiresArg: true, choices: OUTPUT_FORMATS, default: 'simple', describe: 'Output format' })
    .option('hex', { type: 'boolean', describe: 'Print keys and values as hex-escaped bytes (simple format)' })
    .option('command-timeout', { type: 'string', requiresArg: true, default: DEFAULT_COMMAND_TIMEOUT, describe: 'Time one request may take on one endpoint' })
    .option('dial-timeout', { type: 'string', requiresArg: true, default: DEFAULT_DIAL_TIMEOUT, describe: 'Time to connect to one endpoint' });
}

export interface GlobalOptions {
  readonly format: OutputFormat;
  readonly hex: boolean;
  readonly commandTimeoutMs: number;
  readonly dialTimeoutMs: number;
}

export type GlobalsResult = { readonly ok: true; readonly options: GlobalOptions } | { readonly ok: false; readonly error: string };

export function globalOptionsOf(argv: Record<string, unknown>): GlobalsResult {
  for (const name of ['write-out', 'command-timeout', 'dial-timeout']) {
    const value = argv[name];
    if (Array.isArray(value)) return { ok: false, error: `--${name}: given ${value.length} times; give it once` };
  }
  const durations: number[] = [];
  for (const name of ['command-timeout', 'dial-timeout']) {
    const text = String(argv[name]);
    const ms = parseGoDuration(text);
    if (ms === undefined || ms <= 0) return { ok: false, error: `--${name}: "${text}" is not a positive duration (e.g. 5s, 500ms, 1m30s)` };
    durations.push(ms);
  }
  const hex = argv['hex'];
  return {
    ok: true,
    options: {
      format: String(argv['write-out']) as OutputFormat,
      hex: Array.isArray(hex) ? hex.includes(true) : hex === true,
      commandTimeoutMs: durations[0] ?? 5000,
      dialTimeoutMs: durations[1] ?? 2000,
    },
  };
}
