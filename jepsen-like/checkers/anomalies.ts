// The result shape of the safety checkers (fenced writes, unique IDs, sets): a verdict and the anomalies found,
// each naming its kind and the operations that show it, by their history indexes (to find and draw them).

import type { Operation } from '../history.js';
import { summarize, type OpSummary, type Verdict } from './linearizable.js';

export interface Anomaly {
  readonly kind: string;
  readonly message: string;
  readonly ops: readonly OpSummary[];
}

export interface SafetyResult {
  readonly verdict: Verdict;
  readonly anomalies: readonly Anomaly[];
  /** Why the verdict is unknown, when it is. */
  readonly reason?: string;
  /** What was checked, for the report (counts by name). */
  readonly counts: Readonly<Record<string, number>>;
}

/** Anomalies shown per kind at most; the count says how many there were. */
export const MAX_ANOMALIES_PER_KIND = 20;

export class AnomalyList {
  private readonly found: Anomaly[] = [];
  private readonly perKind = new Map<string, number>();

  add(kind: string, message: string, ops: readonly Operation[]): void {
    const seen = (this.perKind.get(kind) ?? 0) + 1;
    this.perKind.set(kind, seen);
    if (seen <= MAX_ANOMALIES_PER_KIND) this.found.push({ kind, message, ops: ops.map(summarize) });
  }

  get size(): number {
    return this.found.length;
  }

  result(counts: Record<string, number>, unknownReason?: string): SafetyResult {
    for (const [kind, seen] of this.perKind) counts[`anomalies:${kind}`] = seen;
    if (this.found.length > 0) return { verdict: 'invalid', anomalies: this.found, counts };
    if (unknownReason !== undefined) return { verdict: 'unknown', anomalies: [], reason: unknownReason, counts };
    return { verdict: 'valid', anomalies: [], counts };
  }
}

/** Whether `a` completed before `b` was invoked (real-time precedence). */
export function precedes(a: Operation, b: Operation): boolean {
  return a.complete !== null && a.complete.time < b.invoke.time;
}

/** Operations grouped by key, in history order. */
export function byKey(operations: readonly Operation[]): Map<Operation['key'], Operation[]> {
  const groups = new Map<Operation['key'], Operation[]>();
  for (const op of operations) {
    const group = groups.get(op.key);
    if (group === undefined) groups.set(op.key, [op]);
    else group.push(op);
  }
  return groups;
}
