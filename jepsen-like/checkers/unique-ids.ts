// The snowflake workload's checker. Operations: `generate`, key the generator (its worker, or a name), invoke
// value null (or the count asked for), ok output one ID or an array of IDs, each a decimal string (64-bit IDs do
// not fit a JSON number). Anomalies:
// - `duplicate-id`: one ID issued twice, by any two operations (of one generator or of two).
// - `not-monotonic`: a process's IDs, in the order its operations completed, do not strictly increase.
// Info and failed operations issued nothing anyone saw, so they constrain nothing.

import type { JsonValue, Operation } from '../history.js';
import { AnomalyList, type SafetyResult } from './anomalies.js';

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

function idsOf(output: JsonValue): bigint[] | null {
  const values = Array.isArray(output) ? output : [output];
  const ids: bigint[] = [];
  for (const value of values) {
    if (typeof value !== 'string' || !DECIMAL.test(value)) return null;
    ids.push(BigInt(value));
  }
  return ids;
}

export function checkUniqueIds(operations: readonly Operation[]): SafetyResult {
  const anomalies = new AnomalyList();
  const issuedBy = new Map<bigint, Operation>();
  const lastOf = new Map<number, { id: bigint; op: Operation }>();
  let issued = 0;
  let generators = 0;
  for (const op of operations) {
    if (op.f !== 'generate' || op.outcome !== 'ok') continue;
    const ids = idsOf(op.output);
    if (ids === null) {
      return { verdict: 'unknown', anomalies: [], reason: `not a snowflake history: generate (index ${op.invoke.index}) answered ${JSON.stringify(op.output)}, not decimal ID strings`, counts: {} };
    }
    for (const id of ids) {
      issued++;
      const first = issuedBy.get(id);
      if (first !== undefined) anomalies.add('duplicate-id', `ID ${id} was issued twice: by process ${first.process} and by process ${op.process}`, first === op ? [op] : [first, op]);
      else issuedBy.set(id, op);
      const last = lastOf.get(op.process);
      if (last === undefined) generators++;
      else if (id <= last.id) anomalies.add('not-monotonic', `process ${op.process} issued ${id} after ${last.id}`, last.op === op ? [op] : [last.op, op]);
      lastOf.set(op.process, { id, op });
    }
  }
  return anomalies.result({ issued, unique: issuedBy.size, processes: generators });
}
