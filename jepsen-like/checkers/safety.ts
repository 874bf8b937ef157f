// The safety checkers by workload name, as `conclave-jepsen check --workload NAME` runs them, and the text it prints
// for a result.

import type { Operation } from '../history.js';
import type { SafetyResult } from './anomalies.js';
import { checkFencedWrites } from './fenced.js';
import { describeOp } from './linearizable.js';
import { checkRegistry } from './registry.js';
import { checkSet } from './set.js';
import { checkUniqueIds } from './unique-ids.js';
import { checkWatch } from './watch.js';

export const SAFETY_WORKLOADS = ['lock', 'election', 'snowflake', 'set', 'watch', 'registry'] as const;
export type SafetyWorkload = (typeof SAFETY_WORKLOADS)[number];

export const SAFETY_CHECKERS: Record<SafetyWorkload, (operations: readonly Operation[]) => SafetyResult> = {
  lock: checkFencedWrites,
  election: checkFencedWrites,
  snowflake: checkUniqueIds,
  set: checkSet,
  watch: checkWatch,
  registry: checkRegistry,
};

/** Counts, then each anomaly with its operations, then the verdict. */
export function formatSafety(result: SafetyResult): string {
  const lines = [`checked: ${Object.entries(result.counts).map(([name, count]) => `${name} ${count}`).join(', ') || 'nothing'}`];
  for (const anomaly of result.anomalies) {
    lines.push(`${anomaly.kind}: ${anomaly.message}`);
    for (const op of anomaly.ops) lines.push(`    ${describeOp(op)}`);
  }
  if (result.reason !== undefined) lines.push(`unknown: ${result.reason}`);
  lines.push(`overall: ${result.verdict}`);
  return lines.join('\n') + '\n';
}
