// The `clock` fault's mechanism, on the harness's side: every member runs with the clock preload
// (clock-preload.ts) and a control file of its own under the run's directory; shifting a member's clock is
// writing its file, healing it is removing the file. The harness then asks the member's /debug/vars for its wall
// clock to see the shift took effect (the preload picks a change up within CLOCK_CONTROL_POLL_MS).
//
// Why a preload rather than libfaketime (LD_PRELOAD of the `faketime` package): libfaketime shifts every
// clock_gettime of the process, libuv's loop clock included, so a forward jump also fires every pending timer at
// once and a skew speeds up every timeout; and it is a system package the harness cannot count on. The preload
// moves exactly the clocks JavaScript reads, in-process, per member, at run time, with nothing to install.

import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/process-cluster.js';
import { CLOCK_OBSERVE_TIMEOUT_MS } from '../limits.js';
import type { ClockSetting } from './clock-setting.js';

/** The preload, built: member processes run dist/ whether the harness runs from the sources or not. */
export function clockPreloadPath(): string {
  return join(repoRoot(), 'dist', 'jepsen-like', 'faults', 'clock-preload.js');
}

/** A member's clock as its /debug/vars shows it, against ours; null when it does not answer. */
export async function wallOffsetOf(clientUrl: string): Promise<number | null> {
  try {
    const sent = Date.now();
    const response = await fetch(new URL('/debug/vars', clientUrl), { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return null;
    const vars = (await response.json()) as { clock?: { wallMs?: number } };
    const wallMs = vars.clock?.wallMs;
    return typeof wallMs === 'number' ? wallMs - (sent + Date.now()) / 2 : null;
  } catch {
    return null;
  }
}

export class ClockControl {
  private constructor(private readonly dir: string) {}

  /** Control files go in `dir` (the run's faults/ directory). Fails when the preload has not been built. */
  static create(dir: string): ClockControl {
    const preload = clockPreloadPath();
    if (!existsSync(preload)) throw new Error(`the clock fault's preload ${preload} is missing: build first (npx tsc -p tsconfig.json)`);
    mkdirSync(dir, { recursive: true });
    return new ClockControl(dir);
  }

  /** Flags for node, before the server script. */
  get nodeFlags(): string[] {
    return ['--import', clockPreloadPath()];
  }

  /** The environment of member `name`'s process (not CONCLAVE_*: the server warns of each such variable it does not know). */
  env(name: string): Record<string, string> {
    return { JEPSEN_CLOCK_FILE: this.fileOf(name) };
  }

  /** Shifts member `name`'s clocks (a new file, renamed over the old one, so the preload never reads half of it). */
  set(name: string, setting: ClockSetting): void {
    const file = this.fileOf(name);
    writeFileSync(`${file}.tmp`, JSON.stringify(setting));
    renameSync(`${file}.tmp`, file);
  }

  /** Gives member `name` the real clocks back (a monotonic clock ahead holds still until real time catches up). */
  reset(name: string): void {
    rmSync(this.fileOf(name), { force: true });
  }

  /**
   * Waits until the member's wall clock is within `toleranceMs` of ours shifted by `expectedMs`; returns the
   * offset last seen (null when the member never answered).
   */
  async observe(clientUrl: string, expectedMs: number, toleranceMs: number): Promise<number | null> {
    const deadline = Date.now() + CLOCK_OBSERVE_TIMEOUT_MS;
    let seen: number | null = null;
    while (Date.now() < deadline) {
      seen = await wallOffsetOf(clientUrl);
      if (seen !== null && Math.abs(seen - expectedMs) <= toleranceMs) return seen;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return seen;
  }

  private fileOf(name: string): string {
    return join(this.dir, `${name}.clock.json`);
  }
}
