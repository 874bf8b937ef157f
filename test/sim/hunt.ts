// Finds the first seed on which a (mutant) core violates an invariant of an expected kind.
// Used by the mutation tests; also handy from a REPL.

import type { NodeFactory } from './host.js';
import { type RunOptions, runSchedule, type ScheduleShape, scheduleFromSeed } from './schedule.js';
import type { SimViolation } from './checker.js';

export interface HuntResult {
  readonly seed: number;
  readonly violation: SimViolation;
  readonly tried: number;
  /** Violations of other kinds met on the way (seed -> kind). */
  readonly others: readonly string[];
}

export function hunt(
  factory: NodeFactory,
  expect: { readonly kinds: readonly string[]; readonly message?: RegExp },
  seeds: { readonly start: number; readonly count: number },
  shape: ScheduleShape = {},
  options: RunOptions = {},
): HuntResult | null {
  const others: string[] = [];
  for (let seed = seeds.start; seed < seeds.start + seeds.count; seed++) {
    const { violation } = runSchedule(scheduleFromSeed(seed, shape), { ...options, factory });
    if (violation === null) continue;
    if (expect.kinds.includes(violation.kind) && (expect.message === undefined || expect.message.test(violation.message))) {
      return { seed, violation, tried: seed - seeds.start + 1, others };
    }
    others.push(`${seed}:${violation.kind}`);
  }
  return null;
}
