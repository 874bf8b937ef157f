// Inputs for the report's tests: a small register history that is not linearizable on key "y" (a read of a value
// overwritten before it began), with ok, fail and info operations, values that try to inject markup, and faults.

import { checkRegisterLinearizable } from '../../jepsen-like/checkers/linearizable.js';
import type { Operation } from '../../jepsen-like/history.js';
import type { FaultRecord } from '../../jepsen-like/nemesis.js';
import type { ReportInput } from '../../jepsen-like/report/index.js';
import { HistoryBuilder } from './build-history.js';

/** A value no page may turn into markup. */
export const INJECTED = '</script><script>window.injected=1</script><img src=x onerror=alert(2)>';

export function invalidRegisterOperations(): Operation[] {
  const h = new HistoryBuilder();
  h.op(0, 'write', 'x', 1).op(0, 'write', 'x', 2);
  h.invoke(1, 'read', 'x').invoke(2, 'write', 'y', INJECTED).ok(1, 2).ok(2);
  h.invoke(3, 'write', 'x', 7).fail(3);
  h.invoke(4, 'cas', 'x', [2, 3]).info(4);
  h.op(0, 'write', 'y', 'later');
  // Stale: "later" was written before this read began.
  h.invoke(1, 'read', 'y').invoke(2, 'read', 'x').ok(2, 2).ok(1, INJECTED);
  h.invoke(5, 'write', 'x', 8).invoke(0, 'read', 'y').ok(0, 'later');
  return h.operations();
}

/** Times on the HistoryBuilder's clock (1 µs an event). */
export const FAULTS: FaultRecord[] = [
  { index: 0, kind: 'partition', shape: 'isolate-one', nodes: ['n1'], groups: [['n1'], ['n2', 'n3']], start: 2_000, end: 9_000 },
  { index: 1, kind: 'kill', shape: 'kill-leader', nodes: ['<b>n2</b>'], start: 14_000, end: 19_000 },
];

export function invalidRegisterReport(): ReportInput {
  const operations = invalidRegisterOperations();
  const result = checkRegisterLinearizable(operations);
  if (!result.ok || result.verdict !== 'invalid') throw new Error('the fixture history should be invalid');
  return { title: `register <i>fixture</i>`, operations, faults: FAULTS, check: { kind: 'linearizable', result }, parameters: { workload: 'register', note: INJECTED, nodes: 3 } };
}
