// kill -9 of a member in the middle of writing, snapshotting, compacting and installing a snapshot: after every
// kill, what was acknowledged is there and nothing else appears as committed (the harness is in crash/, the
// long soak is `npm run crash`). The children run the compiled JavaScript that test/global-setup.ts builds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeStorage, type CrashPoint } from '../../src/storage/index.js';
import { Rng } from '../sim/prng.js';
import { formatReport, runCrashHarness, type HarnessOptions, type HarnessReport } from './crash/harness.js';
import { Writer } from './crash/machine.js';
import { CRASH_POINTS } from './crash/plan.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-crash-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('the crash test writer, in-process', () => {
  it('snapshots and compacts while proposals keep coming (the loop checks snapshotDue between Readies)', async () => {
    const storage = await NodeStorage.open({ dataDir: await tempDir(), limits: { snapshotEntries: 100 } });
    let fatal: Error | null = null;
    const writer = new Writer({ storage, random: new Rng(1).asFunction(), window: 8, snapshotCatchUpEntries: 10, upTo: 1500, onFatal: (error) => (fatal = error) });
    writer.start();
    await writer.whenDone();
    await writer.loop.stop();
    expect(fatal).toBeNull();
    expect(storage.stats().snapshotsTaken).toBeGreaterThan(5);
    expect(storage.stats().compactions).toBeGreaterThan(5);
    expect(storage.firstIndex).toBeGreaterThan(1000);
    await storage.close();
  });
});

describe('storage under kill -9', () => {
  const points = Object.fromEntries(CRASH_POINTS.map((point) => [point, 0])) as Record<CrashPoint, number>;
  let kills = 0;

  async function run(options: Omit<HarnessOptions, 'parallel' | 'tmpRoot' | 'log'>): Promise<HarnessReport> {
    const report = await runCrashHarness({ parallel: 2, maxLifeMs: 400, ...options, tmpRoot: tmpdir(), log: (line) => console.log(line) });
    console.log(`${options.mode}, seed ${options.seed}:\n${formatReport(report)}`);
    kills += report.kills;
    for (const point of CRASH_POINTS) points[point] += report.points[point];
    expect(report.violations.map((violation) => `${violation.replay}\n${violation.problems.join('\n')}`)).toEqual([]);
    expect(report.kills).toBe(options.kills);
    return report;
  }

  it('keeps every acknowledged entry, and only proposed ones, while writing, snapshotting and compacting', async () => {
    const report = await run({ seed: 1001, kills: 90, mode: 'write', freshEvery: 30 });
    expect(report.acked).toBeGreaterThan(1000);
    // Each directory recovers at least the ids acknowledged on it.
    expect(report.recovered).toBeGreaterThanOrEqual(report.acked);
  });

  it('leaves exactly the state before or the received snapshot when killed while installing one', async () => {
    const report = await run({ seed: 2001, kills: 60, mode: 'install', freshEvery: 25 });
    expect(report.installsKept).toBeGreaterThan(0);
    expect(report.installsTaken).toBeGreaterThan(0);
  });

  it('survives writers and installs taking turns on the same directories', async () => {
    const report = await run({ seed: 3001, kills: 50, mode: 'mixed', freshEvery: 25 });
    expect(report.acked).toBeGreaterThan(0);
    expect(report.installsKept + report.installsTaken).toBeGreaterThan(0);
  });

  it('killed the children at every crash point, over at least 200 kills', () => {
    expect(kills).toBeGreaterThanOrEqual(200);
    expect(CRASH_POINTS.filter((point) => points[point] === 0)).toEqual([]);
  });
});
