// Soak CLI: runs many seeded schedules and reports throughput and violations.
//
//   npm run sim -- --seeds 1000 [--nodes 3|5] [--start S] [--profile default|long|nemesis] [--workers N]
//   npm run sim -- --replay SEED [--nodes 3|5] [--profile P] [--trace]
//   npm run sim -- --replay-file .sim-failures/<name>.json [--trace]
//
// Exit status 1 when any schedule violates an invariant.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Schedule } from './model.js';
import { type ProfileName, profiles, type ScheduleShape, replayCommand, runSchedule, scheduleFromSeed, summarizeSchedule, traceTail } from './schedule.js';

interface Args {
  seeds: number;
  start: number;
  nodes: 3 | 5 | undefined;
  replay: number | undefined;
  replayFile: string | undefined;
  trace: boolean;
  strict: boolean;
  tail: number;
  ignore: string[];
  profile: ProfileName;
  /** Processes to split the seed range across (one per core). */
  workers: number;
  /** Print the summary as one JSON line (how a worker reports to the parent). */
  json: boolean;
}

interface Summary {
  schedules: number;
  events: number;
  steps: number;
  violations: number;
  proposals: number;
  applied: number;
  reads: number;
  snapshotsInstalled: number;
  leaders: number;
  ignored: Record<string, number>;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seeds: 100, start: 1, nodes: undefined, replay: undefined, replayFile: undefined, trace: false, strict: true, tail: 60, ignore: [], profile: 'default', workers: 1, json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n)) throw new Error(`${flag}: not an integer: ${v}`);
      return n;
    };
    switch (flag) {
      case '--seeds':
        args.seeds = int();
        break;
      case '--start':
        args.start = int();
        break;
      case '--nodes': {
        const n = int();
        if (n !== 3 && n !== 5) throw new Error('--nodes must be 3 or 5');
        args.nodes = n;
        break;
      }
      case '--replay':
        args.replay = int();
        break;
      case '--replay-file':
        args.replayFile = value();
        break;
      case '--trace':
        args.trace = true;
        break;
      case '--no-strict':
        args.strict = false;
        break;
      case '--ignore':
        args.ignore.push(...value().split(','));
        break;
      case '--profile': {
        const p = value();
        if (!(p in profiles)) throw new Error(`--profile must be one of ${Object.keys(profiles).join(', ')}`);
        args.profile = p as ProfileName;
        break;
      }
      case '--workers':
        args.workers = int();
        if (args.workers < 1) throw new Error('--workers must be at least 1');
        break;
      case '--json':
        args.json = true;
        break;
      case '--tail':
        args.tail = int();
        break;
      case '--help':
      case '-h':
        console.log(
          'usage: soak --seeds N [--start S] [--nodes 3|5] [--profile default|long|nemesis] [--workers N]\n' +
            '       soak --replay SEED [--nodes 3|5] [--profile P] [--trace]\n' +
            '       soak --replay-file FILE.json [--trace]\n' +
            '  common: [--no-strict] [--ignore KIND,...] [--tail LINES]',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${flag}`);
    }
  }
  return args;
}

function replay(schedule: Schedule, args: Args, label: string): number {
  console.log(`replaying ${label}: ${summarizeSchedule(schedule)}`);
  const result = runSchedule(schedule, {
    strict: args.strict,
    ignore: args.ignore,
    ...(args.trace ? { trace: (line: string) => console.log(line) } : {}),
  });
  console.log(`stats: ${JSON.stringify(result.stats)}`);
  if (result.violation === null) {
    console.log('no violation');
    return 0;
  }
  if (!args.trace) {
    console.log(`--- last ${args.tail} trace lines ---`);
    for (const line of traceTail(schedule, { strict: args.strict, ignore: args.ignore }, args.tail)) console.log(line);
  }
  console.log(`VIOLATION: ${result.violation.message}`);
  return 1;
}

function shapeOf(args: Args): ScheduleShape {
  return { ...profiles[args.profile], ...(args.nodes === undefined ? {} : { nodes: args.nodes }) };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const shape = shapeOf(args);
  if (args.replayFile !== undefined) {
    const schedule = JSON.parse(readFileSync(args.replayFile, 'utf8')) as Schedule;
    return replay(schedule, args, args.replayFile);
  }
  if (args.replay !== undefined) return replay(scheduleFromSeed(args.replay, shape), args, `seed ${args.replay}`);

  const started = performance.now();
  const summary = args.workers > 1 ? await runWorkers(args) : runRange(args, args.start, args.seeds);
  if (args.json) {
    console.log(JSON.stringify(summary));
    return summary.violations > 0 ? 1 : 0;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${summary.schedules} schedules in ${seconds.toFixed(1)}s on ${args.workers} process(es): ${(summary.schedules / seconds).toFixed(1)} schedules/s, ` +
      `${Math.round(summary.events / seconds)} events/s (${summary.events} messages delivered + ticks + faults; ${summary.steps} queue steps), ` +
      `${summary.violations} violation(s)`,
  );
  console.log(
    `  totals: ${summary.proposals} proposals accepted, ${summary.applied} entries applied, ${summary.reads} reads served, ` +
      `${summary.snapshotsInstalled} snapshots installed, ${summary.leaders} leader terms`,
  );
  const ignored = Object.entries(summary.ignored);
  if (ignored.length > 0) console.log(`  ignored (counted, not failed): ${ignored.map(([k, n]) => `${k}=${n}`).join(' ')}`);
  return summary.violations > 0 ? 1 : 0;
}

/** Runs seeds [start, start + count) in this process; violations are printed as they are found. */
function runRange(args: Args, start: number, count: number): Summary {
  const shape = shapeOf(args);
  const summary: Summary = { schedules: 0, events: 0, steps: 0, violations: 0, proposals: 0, applied: 0, reads: 0, snapshotsInstalled: 0, leaders: 0, ignored: {} };
  for (let seed = start; seed < start + count; seed++) {
    const schedule = scheduleFromSeed(seed, shape);
    const result = runSchedule(schedule, { strict: args.strict, ignore: args.ignore });
    for (const [kind, n] of result.ignored) summary.ignored[kind] = (summary.ignored[kind] ?? 0) + n;
    const s = result.stats;
    summary.schedules++;
    summary.events += s.delivered + s.ticks + s.faults;
    summary.steps += s.events;
    summary.proposals += s.proposals;
    summary.applied += s.applied;
    summary.reads += s.reads;
    summary.snapshotsInstalled += s.snapshotsInstalled;
    summary.leaders += s.leaders;
    if (result.violation !== null) {
      summary.violations++;
      // A worker's stdout carries its JSON summary; its findings go to stderr, which the parent passes through.
      const report = args.json ? console.error : console.log;
      report(`\nVIOLATION seed ${seed} (${summarizeSchedule(schedule)})`);
      report(`  ${result.violation.message.split('\n').join('\n  ')}`);
      report(`  replay: ${replayCommand(seed, args.nodes, args.profile)}`);
    }
  }
  return summary;
}

/** Splits the seed range into one contiguous slice per worker process and adds up their summaries. */
async function runWorkers(args: Args): Promise<Summary> {
  const script = fileURLToPath(import.meta.url);
  const perWorker = Math.ceil(args.seeds / args.workers);
  const slices: { start: number; count: number }[] = [];
  for (let start = args.start; start < args.start + args.seeds; start += perWorker) {
    slices.push({ start, count: Math.min(perWorker, args.start + args.seeds - start) });
  }
  const common = ['--profile', args.profile, '--json', ...(args.nodes === undefined ? [] : ['--nodes', String(args.nodes)])];
  if (!args.strict) common.push('--no-strict');
  if (args.ignore.length > 0) common.push('--ignore', args.ignore.join(','));
  const summaries = await Promise.all(
    slices.map(
      ({ start, count }) =>
        new Promise<Summary>((resolve, reject) => {
          const child = spawn(process.execPath, [script, '--seeds', String(count), '--start', String(start), ...common], { stdio: ['ignore', 'pipe', 'inherit'] });
          let output = '';
          child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.on('error', reject);
          child.on('close', () => {
            const line = output.trim().split('\n').pop() ?? '';
            try {
              resolve(JSON.parse(line) as Summary);
            } catch {
              reject(new Error(`worker for seeds ${start}..${start + count - 1} ended without a summary`));
            }
          });
        }),
    ),
  );
  const total: Summary = { schedules: 0, events: 0, steps: 0, violations: 0, proposals: 0, applied: 0, reads: 0, snapshotsInstalled: 0, leaders: 0, ignored: {} };
  for (const summary of summaries) {
    for (const key of ['schedules', 'events', 'steps', 'violations', 'proposals', 'applied', 'reads', 'snapshotsInstalled', 'leaders'] as const) total[key] += summary[key];
    for (const [kind, n] of Object.entries(summary.ignored)) total.ignored[kind] = (total.ignored[kind] ?? 0) + n;
  }
  return total;
}

process.exitCode = await main();
