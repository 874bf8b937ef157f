// The set (or append) workload's checker: every acknowledged element is in the final read. Operations, per set
// (the key): `add`, invoke value the element (a JSON scalar, unique per add); `read`, ok output the set's elements
// as an array. The final read of a set is its last ok read, and it must begin after every add of that set has
// completed (the harness reads after healing and waiting), or the check is unknown for it. Anomalies:
// - `lost`: an add acknowledged ok whose element the final read lacks.
// - `unexpected`: the final read holds an element no add ever tried.
// - `failed-but-present`: the final read holds an element whose every add failed (fail means certainly not).
// An info add may or may not be present; both are counted.

import type { JsonScalar, Operation } from '../history.js';
import { AnomalyList, byKey, type SafetyResult } from './anomalies.js';

const isScalar = (value: unknown): value is JsonScalar => value === null || ['boolean', 'number', 'string'].includes(typeof value);
/** Elements compared as JSON scalars: 1 and "1" differ. */
const identity = (value: JsonScalar): string => JSON.stringify(value);

export function checkSet(operations: readonly Operation[]): SafetyResult {
  const anomalies = new AnomalyList();
  const counts: Record<string, number> = { sets: 0, acknowledged: 0, infoPresent: 0, infoAbsent: 0, failed: 0 };
  const unknown: string[] = [];
  for (const [key, ops] of byKey(operations)) {
    counts.sets = (counts.sets ?? 0) + 1;
    const adds = new Map<string, Operation[]>();
    let final: Operation | undefined;
    for (const op of ops) {
      if (op.f === 'add') {
        if (!isScalar(op.value)) return malformed(`add (index ${op.invoke.index}) of ${JSON.stringify(op.value)}, not a scalar element`);
        const id = identity(op.value);
        adds.set(id, [...(adds.get(id) ?? []), op]);
      } else if (op.f === 'read' && op.outcome === 'ok') {
        if (!Array.isArray(op.output) || !op.output.every(isScalar)) return malformed(`read (index ${op.invoke.index}) answered ${JSON.stringify(op.output)}, not an array of elements`);
        if (final === undefined || (op.complete?.index ?? 0) > (final.complete?.index ?? 0)) final = op;
      }
    }
    const name = JSON.stringify(key);
    if (adds.size === 0) continue;
    const lastAddDone = Math.max(...[...adds.values()].flat().map((op) => op.complete?.time ?? Infinity));
    if (final === undefined || final.invoke.time <= lastAddDone) {
      unknown.push(final === undefined ? `${name} has no ok read` : `${name}'s last read began before its last add completed`);
      continue;
    }
    const present = new Set((final.output as JsonScalar[]).map(identity));
    for (const [id, tried] of adds) {
      const outcomes = new Set(tried.map((op) => op.outcome));
      if (outcomes.has('ok')) {
        counts.acknowledged = (counts.acknowledged ?? 0) + 1;
        if (!present.has(id)) anomalies.add('lost', `${name}: ${id} was added (acknowledged) but the final read lacks it`, [...tried.filter((op) => op.outcome === 'ok'), final]);
      } else if (outcomes.has('info')) {
        if (present.has(id)) counts.infoPresent = (counts.infoPresent ?? 0) + 1;
        else counts.infoAbsent = (counts.infoAbsent ?? 0) + 1;
      } else {
        counts.failed = (counts.failed ?? 0) + 1;
        if (present.has(id)) anomalies.add('failed-but-present', `${name}: every add of ${id} failed, yet the final read holds it`, [...tried, final]);
      }
    }
    for (const id of present) if (!adds.has(id)) anomalies.add('unexpected', `${name}: the final read holds ${id}, which no add tried`, [final]);
  }
  return anomalies.result(counts, unknown.length > 0 ? unknown.join('; ') : undefined);
}

function malformed(message: string): SafetyResult {
  return { verdict: 'unknown', anomalies: [], reason: `not a set history: ${message}`, counts: {} };
}
