// Soak CLI: runs many seeded schedules and reports throughput and violations.
//
//   npm run sim -- --seeds 1000 [--nodes 3|5] [--start S] [--profile default|long|nemesis]
//   npm run sim -- --replay SEED [--nodes 3|5] [--profile P] [--trace]
//   npm run sim -- --replay-file .sim-failures/<name>.json [--trace]
//
// Exit status 1 when any schedule violates an invariant.

import { readFileSync } from 'node:fs';
import type { Schedule } from './model.js';
import { type ProfileName, profiles, replayCommand, runSchedule, scheduleFromSeed, summarizeSchedule, traceTail } from './schedule.js';

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
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seeds: 100, start: 1, nodes: undefined, replay: undefined, replayFile: undefined, trace: false, strict: true, tail: 60, ignore: [], profile: 'default' };
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
      case '--tail':
        args.tail = int();
        break;
      case '--help':
      case '-h':
        console.log(
          'usage: soak --seeds N [--start S] [--nodes 3|5] [--profile default|long|nemesis]\n' +
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

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const shape = { ...profiles[args.profile], ...(args.nodes === undefined ? {} : { nodes: args.nodes }) };
  if (args.replayFile !== undefined) {
    const schedule = JSON.parse(readFileSync(args.replayFile, 'utf8')) as Schedule;
    return replay(schedule, args, args.replayFile);
  }
  if (args.replay !== undefined) return replay(scheduleFromSeed(args.replay, shape), args, `seed ${args.replay}`);

  const started = performance.now();
  let events = 0;
  let steps = 0;
  let violations = 0;
  const ignored = new Map<string, number>();
  const totals = { proposals: 0, applied: 0, reads: 0, snapshotsInstalled: 0, leaders: 0 };
  for (let seed = args.start; seed < args.start + args.seeds; seed++) {
    const schedule = scheduleFromSeed(seed, shape);
    const result = runSchedule(schedule, { strict: args.strict, ignore: args.ignore });
    for (const [kind, n] of result.ignored) ignored.set(kind, (ignored.get(kind) ?? 0) + n);
    const s = result.stats;
    events += s.delivered + s.ticks + s.faults;
    steps += s.events;
    totals.proposals += s.proposals;
    totals.applied += s.applied;
    totals.reads += s.reads;
    totals.snapshotsInstalled += s.snapshotsInstalled;
    totals.leaders += s.leaders;
    if (result.violation !== null) {
      violations++;
      console.log(`\nVIOLATION seed ${seed} (${summarizeSchedule(schedule)})`);
      console.log(`  ${result.violation.message.split('\n').join('\n  ')}`);
      console.log(`  replay: ${replayCommand(seed, args.nodes, args.profile)}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${args.seeds} schedules in ${seconds.toFixed(1)}s: ${(args.seeds / seconds).toFixed(1)} schedules/s, ` +
      `${Math.round(events / seconds)} events/s (${events} messages delivered + ticks + faults; ${steps} queue steps), ` +
      `${violations} violation(s)`,
  );
  console.log(
    `  totals: ${totals.proposals} proposals accepted, ${totals.applied} entries applied, ${totals.reads} reads served, ` +
      `${totals.snapshotsInstalled} snapshots installed, ${totals.leaders} leader terms`,
  );
  if (ignored.size > 0) console.log(`  ignored (counted, not failed): ${[...ignored].map(([k, n]) => `${k}=${n}`).join(' ')}`);
  return violations > 0 ? 1 : 0;
}

process.exitCode = main();
