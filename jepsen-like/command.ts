// The command line of the jepsen-like harness, as a function of argv that returns an exit code (cli.ts wires it
// to the process). `check --workload register FILE` checks a recorded history; `run` is not there yet.
//
// Exit codes: 0 the history is valid; 1 anomalies were found; 2 the answer is unknown (a search gave up), or the
// input or the flags could not be read.

import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { checkRegisterLinearizable, describeOp, type KeyResult, type OpSummary, type Verdict } from './checkers/linearizable.js';
import { formatHistoryError, parseHistory } from './history.js';
import { DEFAULT_MAX_SEARCH_STEPS_PER_KEY, DEFAULT_SEARCH_TIMEOUT_MS_PER_KEY } from './limits.js';

export interface JepsenIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_UNKNOWN = 2;

const NAME = 'conclave-jepsen';
const WORKLOADS = ['register'] as const;
/** Operations of an explanation's lists shown in text; --json gives them all. */
const SHOWN = 10;

const EXIT_OF: Record<Verdict, number> = { valid: EXIT_VALID, invalid: EXIT_INVALID, unknown: EXIT_UNKNOWN };

interface Parsed {
  readonly error: Error | undefined;
  readonly argv: Record<string, unknown>;
  readonly output: string;
}

function parser(): Argv {
  return yargs()
    .scriptName(NAME)
    .usage('$0 <command>\n\nChecks histories of operations against a Conclave cluster for anomalies (docs/jepsen-like.md).')
    .command('check <history>', 'Check a recorded history.jsonl', (inner) =>
      inner
        .positional('history', { type: 'string', describe: 'The history file (JSON Lines, one event a line)' })
        .option('workload', { choices: WORKLOADS, demandOption: true, describe: 'What the history exercised' })
        .option('max-steps', { type: 'number', describe: 'Search steps per key before "unknown"', default: DEFAULT_MAX_SEARCH_STEPS_PER_KEY })
        .option('timeout-ms', { type: 'number', describe: 'Search time per key before "unknown"', default: DEFAULT_SEARCH_TIMEOUT_MS_PER_KEY })
        .option('json', { type: 'boolean', describe: 'Print the full result as JSON', default: false }),
    )
    .command('run', 'Run a workload against a cluster under faults (not yet)')
    .demandCommand(1, 'no command given')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .exitProcess(false)
    .wrap(100);
}

function parse(args: readonly string[]): Promise<Parsed> {
  return new Promise((resolve) => {
    void parser().parse([...args], {}, (error: Error | undefined, argv: Record<string, unknown>, output: string) => {
      resolve({ error: error ?? undefined, argv, output });
    });
  });
}

export async function runJepsen(args: readonly string[], io: JepsenIo): Promise<number> {
  const parsed = await parse(args);
  if (parsed.error !== undefined) {
    io.stderr(`${NAME}: ${parsed.error.message}\nRun "${NAME} --help" for the commands.\n`);
    return EXIT_UNKNOWN;
  }
  if (parsed.argv['help'] === true) {
    io.stdout(parsed.output + '\n');
    return EXIT_VALID;
  }
  const [command] = parsed.argv['_'] as string[];
  if (command === 'run') {
    io.stderr(`${NAME}: run is not there yet: it comes with the harness that starts clusters and injects faults; "check" checks a recorded history\n`);
    return EXIT_UNKNOWN;
  }
  return check(parsed.argv, io);
}

function check(argv: Record<string, unknown>, io: JepsenIo): number {
  const path = argv['history'] as string;
  const maxStepsPerKey = argv['max-steps'] as number;
  const timeoutMsPerKey = argv['timeout-ms'] as number;
  for (const [flag, value] of [['--max-steps', maxStepsPerKey], ['--timeout-ms', timeoutMsPerKey]] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      io.stderr(`${NAME}: ${flag} must be a positive integer, not ${String(value)}\n`);
      return EXIT_UNKNOWN;
    }
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    io.stderr(`${NAME}: cannot read ${path}: ${(error as Error).message}\n`);
    return EXIT_UNKNOWN;
  }
  const history = parseHistory(text);
  if (!history.ok) {
    io.stderr(`${NAME}: ${formatHistoryError(history.error, path)}\n`);
    return EXIT_UNKNOWN;
  }
  const result = checkRegisterLinearizable(history.value.operations, { maxStepsPerKey, timeoutMsPerKey });
  if (!result.ok) {
    io.stderr(`${NAME}: ${path}: ${result.message}\n`);
    return EXIT_UNKNOWN;
  }
  if (argv['json'] === true) io.stdout(JSON.stringify(result, null, 2) + '\n');
  else {
    for (const key of result.keys) io.stdout(formatKey(key));
    io.stdout(`overall: ${result.verdict}\n`);
  }
  return EXIT_OF[result.verdict];
}

function formatList(title: string, ops: readonly OpSummary[], skipped = 0): string {
  if (ops.length === 0) return '';
  const shown = ops.slice(0, SHOWN).map((op) => `      ${describeOp(op)}\n`).join('');
  const more = ops.length > SHOWN ? `      (${ops.length - SHOWN} more)\n` : '';
  return `    ${title}${skipped > 0 ? ` (the last ${ops.length} of ${ops.length + skipped})` : ''}:\n${shown}${more}`;
}

function formatKey(key: KeyResult): string {
  const counts = `${key.operations} operations (${key.info} info), ${key.dropped} dropped; ${key.steps} steps, ${Math.round(key.elapsedMs)} ms`;
  let text = `key ${JSON.stringify(key.key)}: ${key.verdict}  [${counts}]\n`;
  if (key.reason !== undefined) text += `    ${key.reason}\n`;
  const explanation = key.explanation;
  if (explanation !== undefined) {
    text += `    ${explanation.reason}\n`;
    text += `    could not be linearized:\n      ${describeOp(explanation.failedOp)}\n`;
    if (explanation.prefix !== null) {
      text += formatList('linearized before it', explanation.prefix.tail, explanation.prefix.count - explanation.prefix.tail.length);
    }
    text += formatList('concurrent with it', explanation.concurrent);
  }
  return text;
}
