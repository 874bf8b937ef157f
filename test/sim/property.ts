// Runs many fast-check-generated schedules; on failure saves the shrunk schedule under .sim-failures/
// and throws an error carrying the violation, the replay commands and the tail of the trace.

import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Schedule } from './model.js';
import { type RunOptions, runSchedule, type ScheduleShape, scheduleArb, summarizeSchedule, traceTail } from './schedule.js';

/** Violation kinds to tolerate, from the SIM_IGNORE environment variable (comma-separated). */
export function ignoredFromEnv(): string[] {
  return (process.env['SIM_IGNORE'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** SIM_RUNS scales the number of runs (e.g. SIM_RUNS=10 for a longer local soak). */
export function scaledRuns(runs: number): number {
  const factor = Number(process.env['SIM_RUNS'] ?? '1');
  return Math.max(1, Math.round(runs * (Number.isFinite(factor) && factor > 0 ? factor : 1)));
}

export interface PropertyRun {
  readonly name: string;
  readonly shape: ScheduleShape;
  readonly numRuns: number;
  readonly seed: number;
  readonly options?: RunOptions;
}

export function checkSchedules(run: PropertyRun): { runs: number; events: number } {
  const options: RunOptions = { ignore: ignoredFromEnv(), ...run.options };
  let events = 0;
  let runs = 0;
  const property = fc.property(scheduleArb(run.shape), (schedule: Schedule) => {
    const result = runSchedule(schedule, options);
    runs++;
    events += result.stats.delivered + result.stats.ticks + result.stats.faults;
    if (result.violation !== null) throw result.violation;
  });
  const out = fc.check(property, { numRuns: run.numRuns, seed: run.seed, interruptAfterTimeLimit: 100_000 });
  if (!out.failed || out.counterexample === null) return { runs, events };
  const [schedule] = out.counterexample;
  const dir = '.sim-failures';
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/${run.name}-seed${out.seed}.json`;
  writeFileSync(file, `${JSON.stringify(schedule, null, 1)}\n`);
  const violation = runSchedule(schedule, options).violation;
  const tail = traceTail(schedule, options, 40);
  const message = [
    `simulation '${run.name}' found a violation after ${out.numRuns} run(s) (${out.numShrinks} shrinks):`,
    `  ${violation?.message ?? String(out.errorInstance)}`,
    `  schedule: ${summarizeSchedule(schedule)}`,
    `  replay:   npm run sim -- --replay-file ${file} [--trace]`,
    `  fast-check: fc.assert(property, { seed: ${out.seed}, path: ${JSON.stringify(out.counterexamplePath)} })`,
    `  last trace lines:`,
    ...tail.map((line) => `    ${line}`),
  ].join('\n');
  throw new Error(message);
}
