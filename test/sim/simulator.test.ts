// Deterministic simulation of the Raft core: thousands of seeded fault schedules (partitions, crashes,
// lossy/duplicating/reordering network, slow disks, leader transfers, membership changes, client
// proposals and reads), with safety invariants checked after every step and liveness after healing.
// A failure prints the shrunk schedule and a one-line replay command.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Schedule } from './model.js';
import { checkSchedules, ignoredFromEnv, scaledRuns } from './property.js';
import { profiles, runSchedule, scheduleFromSeed } from './schedule.js';

const regressions = new URL('./regressions/', import.meta.url);

const T = 150_000;

describe('raft simulator', () => {
  it('3-node clusters: 2500 schedules', { timeout: T }, () => {
    const r = checkSchedules({ name: 'three', shape: { nodes: 3 }, numRuns: scaledRuns(2500), seed: 0x3a11 });
    expect(r.runs).toBeGreaterThanOrEqual(scaledRuns(2500));
  });

  it('5-node clusters: 2500 schedules', { timeout: T }, () => {
    const r = checkSchedules({ name: 'five', shape: { nodes: 5 }, numRuns: scaledRuns(2500), seed: 0x5b22 });
    expect(r.runs).toBeGreaterThanOrEqual(scaledRuns(2500));
  });

  it('long schedules with many faults: 800 schedules', { timeout: T }, () => {
    const r = checkSchedules({
      name: 'long',
      shape: profiles.long,
      numRuns: scaledRuns(800),
      seed: 0x10c3,
    });
    expect(r.runs).toBeGreaterThanOrEqual(scaledRuns(800));
  });

  it('nemesis-heavy: leaders isolated on election, voters rebooted, tiny appends: 1200 schedules', { timeout: T }, () => {
    const r = checkSchedules({
      name: 'nemesis',
      shape: profiles.nemesis,
      numRuns: scaledRuns(1200),
      seed: 0x7e44,
    });
    expect(r.runs).toBeGreaterThanOrEqual(scaledRuns(1200));
  });

  it('replays the regression corpus (shrunk schedules that once exposed core bugs)', () => {
    const files = readdirSync(regressions).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const schedule = JSON.parse(readFileSync(new URL(file, regressions), 'utf8')) as Schedule;
      const { violation } = runSchedule(schedule, { ignore: ignoredFromEnv() });
      expect(violation?.message ?? null, `regressions/${file}`).toBeNull();
    }
  });

  it('is deterministic: same seed, same trace', () => {
    for (const seed of [1, 2, 3]) {
      const schedule = scheduleFromSeed(seed);
      const traces: string[][] = [[], []];
      const stats = traces.map((lines) => runSchedule(schedule, { trace: (l) => lines.push(l) }).stats);
      expect(traces[0]?.length).toBeGreaterThan(100);
      expect(traces[1]).toEqual(traces[0]);
      expect(stats[1]).toEqual(stats[0]);
    }
  });

  it('exercises what it claims to (elections, snapshots, reads, membership)', () => {
    let leaders = 0;
    let installs = 0;
    let reads = 0;
    let applied = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const { stats } = runSchedule(scheduleFromSeed(seed), { ignore: ignoredFromEnv() });
      leaders += stats.leaders;
      installs += stats.snapshotsInstalled;
      reads += stats.reads;
      applied += stats.applied;
    }
    expect(leaders).toBeGreaterThan(80);
    expect(installs).toBeGreaterThan(10);
    expect(reads).toBeGreaterThan(100);
    expect(applied).toBeGreaterThan(4000);
  });
});
