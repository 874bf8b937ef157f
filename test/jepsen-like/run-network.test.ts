// A short `conclave-jepsen run` of the register workload on five real members under the network nemeses: bridge
// and ring partitions, delayed links and lossy links. The history must check valid, and the faults must really
// have happened: on record in nemesis.jsonl with the links they touched, and counted by the front doors (frames
// held back by a delay, data frames dropped by a loss).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_VALID, runJepsen } from '../../jepsen-like/command.js';
import type { FaultRecord } from '../../jepsen-like/nemesis.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-netnem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conclave-jepsen run under network faults', () => {
  it('checks valid under bridge and ring partitions, delay and loss, with the faults counted by the doors', async () => {
    const out = join(dir, 'run');
    let stdout = '';
    let stderr = '';
    const code = await runJepsen(
      ['run', '--workload', 'register', '--nemesis', 'bridge,ring,delay,loss', '--time', '12', '--nodes', '5', '--concurrency', '5', '--seed', '13',
        '--fault-ms', '1200,2000', '--quiet-ms', '200,500', '--out', out],
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
    );
    const context = `${stdout}\n${stderr}`;
    expect(code, context).toBe(EXIT_VALID);
    expect(stdout).toMatch(/overall: valid\n$/);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      problems: string[];
      operations: { ok: number };
      faults: { byShape: Record<string, number> };
      network: Record<string, { refused: number; severed: number; framesDropped: number; framesDelayed: number }>;
    };
    expect(results.problems, context).toEqual([]);
    expect(results.operations.ok, context).toBeGreaterThan(50);

    const faults = readFileSync(join(out, 'nemesis.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as FaultRecord);
    // Seed 13 draws bridge, delay-random, loss-one and ring first (the order is the seed's; the shapes do not
    // depend on the cluster), and four faults fit in the run's 12 s even at their longest.
    expect(new Set(faults.map((f) => f.kind)), context).toEqual(new Set(['partition', 'delay', 'loss']));
    expect(faults.map((f) => f.shape).slice(0, 4), context).toEqual(['bridge', 'delay-random', 'loss-one', 'ring']);
    for (const fault of faults) {
      expect(fault.links!.length).toBeGreaterThan(0);
      if (fault.kind === 'partition') expect(['bridge', 'ring']).toContain(fault.shape);
      if (fault.kind === 'delay') expect(fault.linkFault!.delayMs).toBeGreaterThan(0);
      if (fault.kind === 'loss') expect(fault.linkFault!.lossProbability).toBeGreaterThan(0);
    }
    const doors = Object.values(results.network);
    const sum = (field: 'refused' | 'severed' | 'framesDropped' | 'framesDelayed') => doors.reduce((total, door) => total + door[field], 0);
    expect(sum('refused') + sum('severed'), context).toBeGreaterThan(0);
    expect(sum('framesDelayed'), context).toBeGreaterThan(0);
    expect(sum('framesDropped'), context).toBeGreaterThan(0);
  }, 90_000);
});
