// The storage crash soak: many kill -9s of a member writing, snapshotting, compacting and installing snapshots.
//
//   npm run crash -- --kills 2000 [--seed S] [--mode write|install|mixed] [--parallel P] [--fresh-every N]
//                    [--max-life-ms MS] [--keep] [--tmp DIR]
//
// Prints kills/s, the kills at each crash point, acknowledged and recovered ids and the violations (each with
// the command that reruns its chain). Exit status 1 on any violation.

import { availableParallelism } from 'node:os';
import { formatReport, runCrashHarness, type HarnessMode, type HarnessOptions } from './harness.js';

function parseArgs(argv: readonly string[]): HarnessOptions {
  let kills = 1000;
  let seed = Date.now() % 1_000_000_000;
  let mode: HarnessMode = 'mixed';
  let parallel = Math.min(4, availableParallelism());
  let freshEvery = 50;
  let maxLifeMs = 800;
  let keepFailed = false;
  let tmpRoot: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (min: number): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, got ${v}`);
      return n;
    };
    switch (flag) {
      case '--kills':
        kills = int(1);
        break;
      case '--seed':
        seed = int(0);
        break;
      case '--mode': {
        const v = value();
        if (v !== 'write' && v !== 'install' && v !== 'mixed') throw new Error('--mode must be write, install or mixed');
        mode = v;
        break;
      }
      case '--parallel':
        parallel = int(1);
        break;
      case '--fresh-every':
        freshEvery = int(1);
        break;
      case '--max-life-ms':
        maxLifeMs = int(1);
        break;
      case '--keep':
        keepFailed = true;
        break;
      case '--tmp':
        tmpRoot = value();
        break;
      default:
        throw new Error(`unknown argument ${flag} (see the head of test/storage/crash/soak.ts)`);
    }
  }
  return { kills, seed, mode, parallel, freshEvery, maxLifeMs, keepFailed, tmpRoot, log: (line) => console.log(line) };
}

async function main(): Promise<void> {
  let options: HarnessOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  console.log(
    `crash soak: ${options.kills} kills, mode ${options.mode}, seed ${options.seed} (chains ${options.seed}..${options.seed + (options.parallel ?? 1) - 1}), ` +
      `${options.parallel} in parallel, a fresh directory every ${options.freshEvery} kills`,
  );
  const report = await runCrashHarness(options);
  console.log(formatReport(report));
  process.exitCode = report.violations.length > 0 ? 1 : 0;
}

await main();
