// The kill -9 crash-test harness for storage: runs chains of child processes on a data directory, each killed
// with SIGKILL (by itself at a crash point, or by the parent after a random delay), and after each kill
// reopens the directory in this process and checks it (check.ts). State accumulates over the kills of one
// directory; a fresh directory is taken every `freshEvery` kills. Everything is a function of the seed except
// the moment a timed kill lands, so a failing chain is rerun with the printed command. After a violation the
// chain goes on with a fresh directory.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CrashPoint } from '../../../src/storage/index.js';
import { Rng } from '../../sim/prng.js';
import { grow, newDirState, prepareInstall, recoverAndCheck, type ChildOutcome, type DirState, type InstallExpectation } from './check.js';
import { childPlan, CRASH_POINTS, type ChildMode, type ChildPlan } from './plan.js';

export type HarnessMode = 'write' | 'install' | 'mixed';

export interface HarnessOptions {
  readonly seed: number;
  /** Kills in all, spread over the chains. */
  readonly kills: number;
  readonly mode: HarnessMode;
  /** Chains run side by side, each on its own directories (chain i uses seed + i). */
  readonly parallel?: number;
  /** Kills per data directory before a fresh one. */
  readonly freshEvery?: number;
  /** How long a child with a crash point may run before the parent kills it anyway. */
  readonly maxLifeMs?: number;
  /** Where the temporary directories go (default os.tmpdir()). */
  readonly tmpRoot?: string;
  /** Keep the directory of a violation (and print it) instead of deleting it. */
  readonly keepFailed?: boolean;
  /** Progress and violation lines. */
  readonly log?: (line: string) => void;
}

export interface Violation {
  readonly chainSeed: number;
  /** The kill of the chain (1-based) after which the check failed. */
  readonly kill: number;
  readonly childSeed: number;
  readonly childMode: ChildMode;
  readonly dir: string;
  readonly problems: readonly string[];
  readonly replay: string;
}

export interface HarnessReport {
  kills: number;
  /** Kills at a crash point, per point. */
  points: Record<CrashPoint, number>;
  /** Kills by the parent's timer (after a random delay, or a crash point not reached in time). */
  timedKills: number;
  /** Of those, kills timed from before NodeStorage.open (during recovery). */
  killsDuringOpen: number;
  /** Install children killed once they reported the install done. */
  killsAfterInstall: number;
  /** Acknowledgements received from children (ids applied, so committed). */
  acked: number;
  /** Ids recovered as committed, summed over the final state of every directory. */
  recovered: number;
  /** Install children, by what survived: the state before, or the received snapshot. */
  installsKept: number;
  installsTaken: number;
  dirs: number;
  durationMs: number;
  /** Where the time went, summed over chains: children starting (spawn to NodeStorage.open), opening storage, running, and checks. */
  startupMs: number;
  openMs: number;
  runningMs: number;
  checkMs: number;
  violations: Violation[];
}

interface ChildResult extends ChildOutcome {
  readonly acks: number;
  /** Highest id proposed on the directory, counting what this child announced. */
  readonly maxProposed: number;
  readonly problems: string[];
  readonly timed: boolean;
  readonly startupMs: number;
  readonly openMs: number;
  readonly runningMs: number;
}

const START_TIMEOUT_MS = 20_000;

/** dist/test/storage/crash/child.js, whether this module runs compiled (from dist/) or as TypeScript (vitest). */
function childScript(): string {
  const here = fileURLToPath(import.meta.url);
  const script = here.endsWith('.ts') ? join(dirname(here), '../../../dist/test/storage/crash/child.js') : join(dirname(here), 'child.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: build first (npm run build)`);
  return script;
}

function emptyPoints(): Record<CrashPoint, number> {
  return Object.fromEntries(CRASH_POINTS.map((point) => [point, 0])) as Record<CrashPoint, number>;
}

/** Spawns one child on `dir`, reads its reports and kills it per its plan; resolves once it is gone. */
function runChild(script: string, state: DirState, plan: ChildPlan, maxLifeMs: number, live: Set<() => void>): Promise<ChildResult> {
  const firstAck = state.recovered + 1;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, state.dir, String(plan.seed), plan.mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const spawned = performance.now();
    let opening: number | null = null;
    let ready: number | null = null;
    const problems: string[] = [];
    let acks = 0;
    let maxAck = 0;
    let maxProposed = state.maxProposed;
    let crashPoint: CrashPoint | null = null;
    let installed = false;
    let timed = false;
    let stderr = '';
    let pending = '';
    const kill = () => child.kill('SIGKILL');
    live.add(kill);
    let timer: NodeJS.Timeout | null = setTimeout(() => {
      problems.push(`child did not start within ${START_TIMEOUT_MS} ms`);
      kill();
    }, START_TIMEOUT_MS);
    const killIn = (ms: number) => {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timed = true;
        kill();
      }, ms);
    };
    const line = (text: string) => {
      const tag = text.slice(0, 1);
      const rest = text.slice(2);
      switch (tag) {
        case 'O':
          opening = performance.now();
          if (plan.crash === null && plan.killFrom === 'open') killIn(plan.killAfterMs);
          break;
        case 'R':
          ready = performance.now();
          if (plan.crash !== null) killIn(maxLifeMs);
          else if (plan.killFrom === 'ready') killIn(plan.killAfterMs);
          break;
        case 'P':
          maxProposed = Math.max(maxProposed, Number(rest));
          break;
        case 'A': {
          const id = Number(rest);
          const expected = maxAck === 0 ? firstAck : maxAck + 1;
          if (id !== expected && problems.length < 5) problems.push(`acknowledged id ${id}, expected ${expected}`);
          if (id > maxProposed && problems.length < 5) problems.push(`acknowledged id ${id} before proposing it`);
          maxAck = Math.max(maxAck, id);
          acks++;
          break;
        }
        case 'C':
          crashPoint = rest as CrashPoint;
          break;
        case 'I':
          installed = true;
          if (timer !== null) clearTimeout(timer);
          kill(); // nothing more happens in this child
          break;
        case 'F':
          problems.push(`child failed: ${rest}`);
          break;
        default:
          problems.push(`unexpected line from the child: ${JSON.stringify(text.slice(0, 200))}`);
      }
    };
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const text of lines) line(text);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4000) stderr += chunk;
    });
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      live.delete(kill);
      const ended = performance.now();
      const startupMs = (opening ?? ended) - spawned;
      const openMs = opening === null ? 0 : (ready ?? ended) - opening;
      const runningMs = ready === null ? 0 : ended - ready;
      resolve({ acks, maxAck, maxProposed, crashPoint, installed, problems, timed: crashPoint === null && timed, startupMs, openMs, runningMs });
    };
    child.on('error', (error) => {
      problems.push(`child process: ${error.message}`);
      settle();
    });
    child.on('close', (code, signal) => {
      if (pending !== '') problems.push(`a partial line from the child: ${JSON.stringify(pending.slice(0, 200))}`);
      if (signal !== 'SIGKILL') problems.push(`child exited with ${signal ?? `code ${code}`}, not by SIGKILL${stderr === '' ? '' : `: ${stderr.trim().slice(-1500)}`}`);
      settle();
    });
  });
}

/** One chain: `kills` children on a succession of directories under `root`. */
async function runChain(index: number, chainSeed: number, kills: number, root: string, options: HarnessOptions, report: HarnessReport, live: Set<() => void>): Promise<void> {
  const script = childScript();
  const freshEvery = options.freshEvery ?? 25;
  const maxLifeMs = options.maxLifeMs ?? 800;
  const rng = new Rng(chainSeed);
  let state: DirState | null = null;
  let dirs = 0;
  const retire = async (keep: boolean) => {
    if (state === null) return;
    report.recovered += state.recovered;
    if (!keep) await rm(state.dir, { recursive: true, force: true });
    state = null;
  };
  try {
    for (let kill = 1; kill <= kills; kill++) {
      if (state === null || (kill - 1) % freshEvery === 0) {
        await retire(false);
        state = newDirState(join(root, `chain${index}-dir${++dirs}`));
        report.dirs++;
      }
      const current: DirState = state;
      const childSeed = rng.int(0, 0x7fffffff);
      const childMode: ChildMode = options.mode === 'mixed' ? (rng.chance(0.3) ? 'install' : 'write') : options.mode;
      const plan = childPlan(childSeed, childMode);
      const problems: string[] = [];
      let install: InstallExpectation | null = null;
      if (childMode === 'install') {
        if (options.mode === 'install' && rng.chance(0.7)) problems.push(...(await grow(current, rng.int(1, 150), plan.limits, rng)));
        install = await prepareInstall(current, rng, rng.int(50, 250));
      }
      const child = await runChild(script, current, plan, maxLifeMs, live);
      report.kills++;
      report.acked += child.acks;
      if (child.crashPoint !== null) report.points[child.crashPoint]++;
      if (child.crashPoint === null && !child.timed && child.installed) report.killsAfterInstall++;
      if (child.timed) {
        report.timedKills++;
        if (plan.crash === null && plan.killFrom === 'open') report.killsDuringOpen++;
      }
      current.maxProposed = Math.max(current.maxProposed, child.maxProposed);
      problems.push(...child.problems);
      report.startupMs += child.startupMs;
      report.openMs += child.openMs;
      report.runningMs += child.runningMs;
      const checkStarted = performance.now();
      const checked = await recoverAndCheck(current, child, install);
      report.checkMs += performance.now() - checkStarted;
      problems.push(...checked.problems);
      if (checked.install === 'A') report.installsKept++;
      if (checked.install === 'B') report.installsTaken++;
      if (problems.length > 0) {
        const replay = `npm run crash -- --seed ${chainSeed} --parallel 1 --kills ${kill} --mode ${options.mode} --fresh-every ${freshEvery} --max-life-ms ${maxLifeMs}`;
        const violation: Violation = { chainSeed, kill, childSeed, childMode, dir: current.dir, problems, replay };
        report.violations.push(violation);
        options.log?.(
          `VIOLATION chain seed ${chainSeed}, kill ${kill}, child ${childMode} seed ${childSeed} ` +
            `(${child.crashPoint === null ? 'timed kill' : `at ${child.crashPoint}`})${options.keepFailed === true ? `, dir kept: ${current.dir}` : ''}\n  ` +
            problems.join('\n  ') +
            `\n  replay (same children and plans; timed kills land differently): ${replay}`,
        );
        // The chain goes on with a fresh directory (this one's state is no longer known).
        await retire(options.keepFailed === true);
        continue;
      }
      if (report.kills % 100 === 0) options.log?.(`${report.kills} kills, ${report.acked} acks, ${report.violations.length} violations`);
    }
  } finally {
    await retire(false);
  }
}

/** Runs the harness; never leaves a child process or (unless keepFailed) a directory behind. */
export async function runCrashHarness(options: HarnessOptions): Promise<HarnessReport> {
  const started = performance.now();
  const parallel = Math.max(1, Math.min(options.parallel ?? 1, options.kills));
  const report: HarnessReport = {
    kills: 0,
    points: emptyPoints(),
    timedKills: 0,
    killsDuringOpen: 0,
    killsAfterInstall: 0,
    acked: 0,
    recovered: 0,
    installsKept: 0,
    installsTaken: 0,
    dirs: 0,
    durationMs: 0,
    startupMs: 0,
    openMs: 0,
    runningMs: 0,
    checkMs: 0,
    violations: [],
  };
  const root = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'conclave-crash-'));
  const live = new Set<() => void>();
  try {
    const chains: Promise<void>[] = [];
    for (let i = 0; i < parallel; i++) {
      const kills = Math.floor(options.kills / parallel) + (i < options.kills % parallel ? 1 : 0);
      chains.push(runChain(i, options.seed + i, kills, root, options, report, live));
    }
    const results = await Promise.allSettled(chains);
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  } finally {
    for (const kill of live) kill();
    while (live.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    if (options.keepFailed !== true || report.violations.length === 0) await rm(root, { recursive: true, force: true });
  }
  report.durationMs = performance.now() - started;
  return report;
}

/** The report as lines of text. */
export function formatReport(report: HarnessReport): string {
  const seconds = report.durationMs / 1000;
  const width = Math.max(...CRASH_POINTS.map((point) => point.length));
  const atPoints = CRASH_POINTS.reduce((sum, point) => sum + report.points[point], 0);
  return [
    `kills: ${report.kills} in ${seconds.toFixed(1)} s (${(report.kills / seconds).toFixed(1)} kills/s) over ${report.dirs} data directories`,
    `  at a crash point: ${atPoints}, by the parent's timer: ${report.timedKills} (${report.killsDuringOpen} during open), after a completed install: ${report.killsAfterInstall}`,
    ...CRASH_POINTS.map((point) => `  ${point.padEnd(width)}  ${report.points[point]}`),
    `acknowledged: ${report.acked} ids; recovered as committed: ${report.recovered} ids (final state of each directory)`,
    `installs: ${report.installsKept} kept the state before, ${report.installsTaken} took the snapshot`,
    `time per kill: ${(report.startupMs / report.kills).toFixed(0)} ms child start-up, ${(report.openMs / report.kills).toFixed(0)} ms opening storage, ${(report.runningMs / report.kills).toFixed(0)} ms running, ${(report.checkMs / report.kills).toFixed(0)} ms reopening and checking`,
    `violations: ${report.violations.length}`,
  ].join('\n');
}
