// A history recorded against etcd 3.4, not hand-built: `conclave-jepsen run --workload register --target etcd
// --serializable-reads --nemesis partition --time 20 --nodes 3 --concurrency 6 --seed 4`, cut down to key r0's
// first 2,300 events. Serializable reads are served by whichever member is asked from its own state, so a member
// cut off from the majority answers with what it had: here process 0 read 659 after a cas had replaced 659 with 668
// and completed. The checker must call that invalid, and name the stale read as the operation that cannot be
// linearized. (The same run with linearizable reads checks valid: docs/jepsen-like.md, "Baseline".)

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkRegisterLinearizable } from '../../jepsen-like/checkers/linearizable.js';
import { parseHistory } from '../../jepsen-like/history.js';

const fixture = fileURLToPath(new URL('./fixtures/etcd-serializable-stale-read.jsonl', import.meta.url));

describe('an etcd history with serializable reads under partitions', () => {
  it('is invalid, and the stale read is the operation that cannot be linearized', () => {
    const history = parseHistory(readFileSync(fixture, 'utf8'));
    if (!history.ok) throw new Error(history.error.message);
    const result = checkRegisterLinearizable(history.value.operations);
    if (!result.ok) throw new Error(result.message);
    expect(result.verdict).toBe('invalid');
    const [key] = result.keys;
    expect(key?.key).toBe('r0');
    expect(key?.verdict).toBe('invalid');
    const failed = key?.explanation?.failedOp;
    expect(failed).toMatchObject({ f: 'read', process: 0, outcome: 'ok', output: 659 });
    // The value the register held by then: the cas that swapped 659 for 668 had completed before the read began.
    expect(key?.explanation?.prefix?.value).toBe(668);
  });

  it('becomes valid once the stale read is dropped: the anomaly is that read, not the rest of the history', () => {
    const text = readFileSync(fixture, 'utf8');
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { index: number; process: number; f: string });
    // The read by process 0 at index 2291..2292 (the last operation of the fixture).
    const kept = lines.filter((event) => !(event.process === 0 && event.index >= 2291));
    const history = parseHistory(kept.map((event) => JSON.stringify(event)).join('\n'));
    if (!history.ok) throw new Error(history.error.message);
    const result = checkRegisterLinearizable(history.value.operations);
    if (!result.ok) throw new Error(result.message);
    expect(result.verdict).toBe('valid');
  });
});
