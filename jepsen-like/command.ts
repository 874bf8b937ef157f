// The command line of the jepsen-like harness, as a function of argv that returns an exit code (cli.ts wires it
// to the process). `check --workload register FILE` checks a recorded history; `run --workload register ...` runs
// the workload against a fresh cluster under faults and checks what it recorded (run.ts).
//
// Exit codes: 0 the history is valid; 1 anomalies were found; 2 the answer is unknown (a search gave up), or the
// input or the flags could not be read, or the run could not be carried out.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { checkRegisterLinearizable, describeOp, type KeyResult, type OpSummary, type Verdict } from './checkers/linearizable.js';
import { formatSafety, SAFETY_CHECKERS, SAFETY_WORKLOADS } from './checkers/safety.js';
import { formatHistoryError, parseHistory } from './history.js';
import { DEFAULT_MAX_SEARCH_STEPS_PER_KEY, DEFAULT_OP_TIMEOUT_MS, DEFAULT_SEARCH_TIMEOUT_MS_PER_KEY, MEMBERSHIP_MIN_NODES, PROGRESS_INTERVAL_MS } from './limits.js';
import { TARGETS, type Target } from './cluster.js';
import { NEMESIS_KINDS, NEMESIS_SHAPES, nemesisSelection, type FaultRecord, type NemesisKind } from './nemesis.js';
import { parseFaults } from './report/faults.js';
import { writeReport } from './report/index.js';
import { RUN_WORKLOADS, runWorkload, supportedNemeses, type RunCheck, type RunOptions, type RunWorkloadName } from './run.js';
import { formatMatrix, runSoak, type NemesisCell } from './soak.js';

export interface JepsenIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_UNKNOWN = 2;

const NAME = 'conclave-jepsen';
const WORKLOADS = Object.keys(RUN_WORKLOADS) as RunWorkloadName[];
/** Histories `check` reads: the register's, and those of the workloads with a safety checker (checkers/). */
const CHECKED_WORKLOADS = ['register', ...SAFETY_WORKLOADS] as const;
/** Operations of an explanation's lists shown in text; --json gives them all. */
const SHOWN = 10;

const EXIT_OF: Record<Verdict, number> = { valid: EXIT_VALID, invalid: EXIT_INVALID, unknown: EXIT_UNKNOWN };

interface Parsed {
  readonly error: Error | undefined;
  readonly argv: Record<string, unknown>;
  readonly output: string;
}

/** The flags `run` and `soak` share: the cluster, the clients, the faults' timing. */
function clusterFlags(inner: Argv): Argv {
  return inner
    .option('nodes', { type: 'number', default: 5, describe: 'Members of the cluster' })
    .option('concurrency', { type: 'number', default: 10, describe: 'Concurrent clients' })
    .option('keys', { type: 'number', default: 5, describe: 'Registers, sets, locks or offices the clients share (snowflake: unused)' })
    .option('op-timeout-ms', { type: 'number', default: DEFAULT_OP_TIMEOUT_MS, describe: 'Deadline of one operation' })
    .option('fault-ms', { type: 'string', default: '2000,6000', describe: 'Shortest and longest fault, in ms' })
    .option('quiet-ms', { type: 'string', default: '1000,3000', describe: 'Shortest and longest quiet spell between faults, in ms' })
    .option('heartbeat-interval', { type: 'number', default: 50, describe: "The members' --heartbeat-interval, in ms" })
    .option('election-timeout', { type: 'number', default: 500, describe: "The members' --election-timeout, in ms" })
    .option('target', { choices: TARGETS, default: 'conclave' as Target, describe: 'What the cluster runs: Conclave, or etcd 3.4 for a baseline' })
    .option('etcd-binary', { type: 'string', default: 'etcd', describe: 'The etcd binary, for --target etcd (Debian package etcd-server)' })
    .option('serializable-reads', { type: 'boolean', default: false, describe: 'Register reads are serializable (any member answers from its own state; stale reads expected)' })
    .option('unfenced-writes', { type: 'boolean', default: false, describe: 'Lock and election writes are plain puts, guarded by no fence (mutual-exclusion violations expected)' });
}

function parser(): Argv {
  return yargs()
    .scriptName(NAME)
    .usage('$0 <command>\n\nChecks histories of operations against a Conclave cluster for anomalies (docs/jepsen-like.md).')
    .command('check <history>', 'Check a recorded history.jsonl', (inner) =>
      inner
        .positional('history', { type: 'string', describe: 'The history file (JSON Lines, one event a line)' })
        .option('workload', { choices: CHECKED_WORKLOADS, demandOption: true, describe: 'What the history exercised' })
        .option('max-steps', { type: 'number', describe: 'Search steps per key before "unknown"', default: DEFAULT_MAX_SEARCH_STEPS_PER_KEY })
        .option('timeout-ms', { type: 'number', describe: 'Search time per key before "unknown"', default: DEFAULT_SEARCH_TIMEOUT_MS_PER_KEY })
        .option('json', { type: 'boolean', describe: 'Print the full result as JSON', default: false })
        .option('report', { type: 'string', describe: 'Also write report.html (timeline, latency, throughput, anomalies) to this file' })
        .option('nemesis', { type: 'string', describe: "The run's nemesis.jsonl, for the faults in the report (with --report)" }),
    )
    .command('run', 'Run a workload against a fresh cluster under faults, then check its history', (inner) =>
      clusterFlags(inner)
        .option('workload', { choices: WORKLOADS, demandOption: true, describe: 'What the clients do' })
        .option('nemesis', { type: 'string', default: NEMESIS_KINDS.join(','), describe: `Faults, comma-separated: kinds (${NEMESIS_KINDS.join(', ')}) with all their shapes, or shapes (${NEMESIS_SHAPES.join(', ')}); or none` })
        .option('time', { type: 'number', default: 60, describe: 'Seconds of operations under faults' })
        .option('out', { type: 'string', demandOption: true, describe: 'The run directory to write (runs/NAME)' })
        .option('seed', { type: 'number', describe: "The nemesis's and clients' seed (default: chosen at random, and recorded)" }),
    )
    .command('soak', 'Run every workload under every nemesis, one run each, and write the matrix of verdicts', (inner) =>
      clusterFlags(inner)
        .option('workloads', { type: 'string', default: WORKLOADS.join(','), describe: `Workloads, comma-separated (${WORKLOADS.join(', ')})` })
        .option('nemeses', { type: 'string', describe: `Nemeses, one run each, comma-separated; a run of several kinds joins them with + (default: each kind alone, then all of them together)` })
        .option('time', { type: 'number', default: 60, describe: 'Seconds of operations under faults, per run' })
        .option('out', { type: 'string', describe: 'The directory for the runs and matrix.md (default: runs/soak-TIME)' })
        .option('seed', { type: 'number', describe: "The first run's seed; each next run takes the next (default: chosen at random)" }),
    )
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
  if (command === 'run') return run(parsed.argv, io);
  if (command === 'soak') return soak(parsed.argv, io);
  return check(parsed.argv, io);
}

/** "MIN,MAX" (or one number for both) as whole milliseconds, MIN <= MAX; null when it is not that. */
function bounds(text: string): [number, number] | null {
  const parts = text.split(',').map((part) => Number(part.trim()));
  const [low, high] = parts.length === 1 ? [parts[0]!, parts[0]!] : parts;
  if (parts.length > 2 || low === undefined || high === undefined) return null;
  return Number.isSafeInteger(low) && Number.isSafeInteger(high) && low >= 0 && low <= high ? [low, high] : null;
}

/**
 * A --nemesis list ("a,b", or "a+b" within a soak's run) of kinds (all their shapes) and single shapes, or the error
 * naming the unknown ones.
 */
function nemesisOf(text: string, flag: string, separator: string): NemesisCell | string {
  const given = text.split(separator).map((kind) => kind.trim()).filter((kind) => kind !== '' && kind !== 'none');
  const selection = nemesisSelection(given);
  if ('unknown' in selection) return `${flag}: unknown ${selection.unknown.map((k) => `"${k}"`).join(', ')} (a kind: ${NEMESIS_KINDS.join(', ')}; a shape: ${NEMESIS_SHAPES.join(', ')}; or none)`;
  return { label: given.length === 0 ? 'none' : given.join('+'), kinds: selection.kinds, shapes: selection.shapes };
}

/** Why a nemesis cannot be given to a cluster of `nodes` members, or null when it can. */
function nemesisProblem(cell: NemesisCell, nodes: number): string | null {
  if (cell.kinds.includes('membership') && nodes < MEMBERSHIP_MIN_NODES) {
    return `the membership nemesis needs --nodes of at least ${MEMBERSHIP_MIN_NODES} (MEMBERSHIP_MIN_NODES), so that a majority stays while one member is out; not ${nodes}`;
  }
  return null;
}

/** The options `run` and `soak` share, read and checked from the flags; a string names what is wrong. */
function clusterOptions(argv: Record<string, unknown>): Omit<RunOptions, 'workload' | 'nemesis' | 'nemesisShapes' | 'out' | 'seed'> | string {
  const positive: [string, string, number][] = [
    ['--time', 'time', 1],
    ['--nodes', 'nodes', 1],
    ['--concurrency', 'concurrency', 1],
    ['--keys', 'keys', 1],
    ['--op-timeout-ms', 'op-timeout-ms', 1],
    ['--heartbeat-interval', 'heartbeat-interval', 1],
    ['--election-timeout', 'election-timeout', 1],
  ];
  for (const [flag, name, least] of positive) {
    const value = argv[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < least) return `${flag} must be a positive integer, not ${String(value)}`;
  }
  const faultMs = bounds(String(argv['fault-ms']));
  const quietMs = bounds(String(argv['quiet-ms']));
  if (faultMs === null || faultMs[0] === 0) return `--fault-ms must be "MIN,MAX" in positive ms, not ${String(argv['fault-ms'])}`;
  if (quietMs === null) return `--quiet-ms must be "MIN,MAX" in ms, not ${String(argv['quiet-ms'])}`;
  return {
    timeS: argv['time'] as number,
    nodes: argv['nodes'] as number,
    concurrency: argv['concurrency'] as number,
    keys: argv['keys'] as number,
    opTimeoutMs: argv['op-timeout-ms'] as number,
    faultMs,
    quietMs,
    heartbeatIntervalMs: argv['heartbeat-interval'] as number,
    electionTimeoutMs: argv['election-timeout'] as number,
    progressIntervalMs: PROGRESS_INTERVAL_MS,
    target: argv['target'] as Target,
    etcdBinary: argv['etcd-binary'] as string,
    serializableReads: argv['serializable-reads'] === true,
    unfencedWrites: argv['unfenced-writes'] === true,
  };
}

/** --seed, or one drawn at random; a string names what is wrong. */
function seedOf(argv: Record<string, unknown>): number | string {
  const seedGiven = argv['seed'];
  if (seedGiven !== undefined && (typeof seedGiven !== 'number' || !Number.isSafeInteger(seedGiven))) return `--seed must be an integer, not ${String(seedGiven)}`;
  return (seedGiven as number | undefined) ?? Math.floor(Math.random() * 2 ** 31);
}

async function run(argv: Record<string, unknown>, io: JepsenIo): Promise<number> {
  const fail = (message: string) => {
    io.stderr(`${NAME}: ${message}\n`);
    return EXIT_UNKNOWN;
  };
  const common = clusterOptions(argv);
  if (typeof common === 'string') return fail(common);
  const nemesis = nemesisOf(String(argv['nemesis']), '--nemesis', ',');
  if (typeof nemesis === 'string') return fail(nemesis);
  const problem = nemesisProblem(nemesis, common.nodes);
  if (problem !== null) return fail(`--nemesis: ${problem}`);
  const seed = seedOf(argv);
  if (typeof seed === 'string') return fail(seed);
  const options: RunOptions = { ...common, workload: argv['workload'] as RunWorkloadName, nemesis: nemesis.kinds, nemesisShapes: nemesis.shapes, out: argv['out'] as string, seed };
  io.stderr(`${NAME}: ${options.workload} on ${options.nodes} ${options.target} members, ${options.concurrency} clients, ${options.timeS}s, nemesis ${options.nemesis.join(',') || 'none'}, seed ${seed}, into ${options.out}\n`);
  let report: Awaited<ReturnType<typeof runWorkload>>;
  try {
    report = await runWorkload(options, (line) => io.stderr(`${line}\n`));
  } catch (error) {
    return fail(`the run could not be carried out: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const problem of report.problems) io.stderr(`${NAME}: ${problem}\n`);
  const check = report.check;
  if (check === null) return EXIT_UNKNOWN;
  if (check.kind === 'linearizable' && !check.result.ok) return fail(`the recorded history cannot be checked: ${check.result.message}`);
  const operations = report.results['operations'] as { ok: number; fail: number; info: number };
  const faults = report.results['faults'] as { total: number };
  io.stdout(`${operations.ok} ok, ${operations.fail} fail, ${operations.info} info; ${faults.total} faults; seed ${seed}\n`);
  if (check.kind === 'safety') {
    io.stdout(formatSafety(check.result));
    return EXIT_OF[check.result.verdict];
  }
  const result = check.result as Extract<typeof check.result, { ok: true }>;
  for (const key of result.keys) io.stdout(formatKey(key));
  io.stdout(`overall: ${result.verdict}\n`);
  return EXIT_OF[result.verdict];
}

async function soak(argv: Record<string, unknown>, io: JepsenIo): Promise<number> {
  const fail = (message: string) => {
    io.stderr(`${NAME}: ${message}\n`);
    return EXIT_UNKNOWN;
  };
  const common = clusterOptions(argv);
  if (typeof common === 'string') return fail(common);
  const workloads = String(argv['workloads']).split(',').map((w) => w.trim()).filter((w) => w !== '');
  const unknown = workloads.filter((w) => !(WORKLOADS as readonly string[]).includes(w));
  if (unknown.length > 0 || workloads.length === 0) return fail(`--workloads: ${unknown.length > 0 ? `unknown ${unknown.map((w) => `"${w}"`).join(', ')}` : 'none given'} (of ${WORKLOADS.join(', ')})`);
  const cells: NemesisCell[] = [];
  if (argv['nemeses'] === undefined) {
    const kinds = supportedNemeses(common.target);
    cells.push(...kinds.map((kind) => ({ label: kind, kinds: [kind], shapes: {} })), { label: kinds.join('+'), kinds, shapes: {} });
  } else {
    for (const text of String(argv['nemeses']).split(',')) {
      const cell = nemesisOf(text, '--nemeses', '+');
      if (typeof cell === 'string') return fail(cell);
      const problem = nemesisProblem(cell, common.nodes);
      if (problem !== null) return fail(`--nemeses ${cell.label}: ${problem}`);
      cells.push(cell);
    }
  }
  const seed = seedOf(argv);
  if (typeof seed === 'string') return fail(seed);
  const out = (argv['out'] as string | undefined) ?? join('runs', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const matrix = await runSoak({ ...common, workloads: workloads as RunWorkloadName[], cells, out, seed }, (line) => io.stderr(`${line}\n`));
  io.stdout(formatMatrix(matrix));
  return matrix.verdict === 'valid' ? EXIT_VALID : matrix.verdict === 'invalid' ? EXIT_INVALID : EXIT_UNKNOWN;
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
  const faults = reportFaults(argv, io);
  if (faults === null) return EXIT_UNKNOWN;
  const workload = argv['workload'] as (typeof CHECKED_WORKLOADS)[number];
  // The verdict's exit code, or EXIT_UNKNOWN when the report asked for could not be written.
  const report = (check: RunCheck, code: number): number => {
    const reportPath = argv['report'] as string | undefined;
    if (reportPath === undefined) return code;
    const parameters = { history: path, workload, nemesis: argv['nemesis'] ?? 'none', maxStepsPerKey, timeoutMsPerKey };
    const written = writeCheckReport(reportPath, { title: `${workload} history: ${path}`, operations: history.value.operations, faults, check, parameters }, io);
    return written ? code : EXIT_UNKNOWN;
  };
  if (workload !== 'register') {
    const safety = SAFETY_CHECKERS[workload](history.value.operations);
    if (argv['json'] === true) io.stdout(JSON.stringify(safety, null, 2) + '\n');
    else io.stdout(formatSafety(safety));
    return report({ kind: 'safety', result: safety }, EXIT_OF[safety.verdict]);
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
  return report({ kind: 'linearizable', result }, EXIT_OF[result.verdict]);
}

/** The faults for --report: none without --nemesis; null (after saying why) when the file cannot be read or --report is missing. */
function reportFaults(argv: Record<string, unknown>, io: JepsenIo): FaultRecord[] | null {
  const path = argv['nemesis'] as string | undefined;
  if (path === undefined) return [];
  if (argv['report'] === undefined) {
    io.stderr(`${NAME}: --nemesis FILE is read only for --report FILE; give --report too\n`);
    return null;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    io.stderr(`${NAME}: cannot read ${path}: ${(error as Error).message}\n`);
    return null;
  }
  const faults = parseFaults(text);
  if (!faults.ok) {
    io.stderr(`${NAME}: ${formatHistoryError(faults.error, path)}\n`);
    return null;
  }
  return faults.value;
}

function writeCheckReport(path: string, input: Parameters<typeof writeReport>[1], io: JepsenIo): boolean {
  try {
    const { bytes } = writeReport(path, input);
    io.stderr(`${NAME}: wrote ${path} (${Math.round(bytes / 1024)} KB)\n`);
    return true;
  } catch (error) {
    io.stderr(`${NAME}: cannot write --report ${path}: ${(error as Error).message}\n`);
    return false;
  }
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
