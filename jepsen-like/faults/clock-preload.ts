// The `clock` fault's mechanism, inside the member: a preload the harness gives a member process
// (`node --import dist/jepsen-like/faults/clock-preload.js`, with JEPSEN_CLOCK_FILE naming the member's control
// file), so that nothing in src/ knows about it. It wraps the clocks JavaScript reads:
//
//   wall       Date.now(), new Date()                               (snowflake IDs, revoke timestamps)
//   monotonic  performance.now(), process.hrtime(), hrtime.bigint()  (lease expiry, peer liveness)
//
// Each reads the real clock shifted by the control file's setting (clock-control.ts writes it): the offsets at
// the moment the preload read the setting, growing from then on at `rate` times real time. The file is looked at
// every CLOCK_CONTROL_POLL_MS (a stat; read only when it changed), no file meaning no shift.
//
// What it cannot move: timers. setTimeout and setInterval run on libuv's own loop clock, which this does not
// touch, so Raft's ticks (a setInterval in src/server/member.ts) and every timeout keep real time; only code that
// reads a clock and compares (the lessor, peer liveness) sees the shift.
//
// A monotonic clock never runs backwards: a setting that would take it back (healing a forward jump or a fast
// skew) holds it still until real time catches up, as the OS guarantees of CLOCK_MONOTONIC. The wall clock steps
// back as it is told to, as an NTP step would.

import { readFileSync, statSync } from 'node:fs';
import { CLOCK_CONTROL_POLL_MS } from '../limits.js';
import { parseClockSetting, type ClockSetting } from './clock-setting.js';

const file = process.env['JEPSEN_CLOCK_FILE'];
if (file !== undefined && file !== '') install(file);

function install(path: string): void {
  const realPerformanceNow = performance.now.bind(performance);
  const RealDate = Date;
  const realDateNow = RealDate.now.bind(RealDate);
  const realHrtimeBigint = process.hrtime.bigint.bind(process.hrtime);

  let setting: ClockSetting = { wallOffsetMs: 0, monotonicOffsetMs: 0, rate: 1 };
  let anchorMs = realPerformanceNow();
  let seen = '';
  const driftMs = (realMs: number) => (realMs - anchorMs) * (setting.rate - 1);

  const poll = () => {
    const stats = statSync(path, { throwIfNoEntry: false });
    const stamp = stats === undefined ? 'none' : `${stats.ino}:${stats.mtimeMs}:${stats.size}`;
    if (stamp === seen) return;
    seen = stamp;
    let next: ClockSetting = { wallOffsetMs: 0, monotonicOffsetMs: 0, rate: 1 };
    if (stats !== undefined) {
      try {
        const parsed = parseClockSetting(readFileSync(path, 'utf8'));
        if (parsed !== null) next = parsed;
      } catch {
        seen = '';
        return;
      }
    }
    setting = next;
    anchorMs = realPerformanceNow();
  };
  poll();
  setInterval(poll, CLOCK_CONTROL_POLL_MS).unref();

  let lastMonotonicMs = -Infinity;
  const monotonicMs = () => {
    const real = realPerformanceNow();
    lastMonotonicMs = Math.max(lastMonotonicMs, real + setting.monotonicOffsetMs + driftMs(real));
    return lastMonotonicMs;
  };
  const wallMs = () => realDateNow() + setting.wallOffsetMs + driftMs(realPerformanceNow());

  // performance.now() and hrtime share one shifted clock; hrtime counts from its own (arbitrary) origin.
  const hrtimeOriginNs = realHrtimeBigint() - BigInt(Math.round(realPerformanceNow() * 1e6));
  const hrtimeBigint = () => hrtimeOriginNs + BigInt(Math.round(monotonicMs() * 1e6));
  const hrtime = (previous?: readonly [number, number]): [number, number] => {
    let ns = hrtimeBigint();
    if (previous !== undefined) ns -= BigInt(previous[0]) * 1_000_000_000n + BigInt(previous[1]);
    return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  };
  hrtime.bigint = hrtimeBigint;

  performance.now = () => Math.round(monotonicMs() * 1000) / 1000;
  process.hrtime = hrtime as typeof process.hrtime;

  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(Math.round(wallMs()));
      else super(...(args as [string | number | Date]));
    }

    static override now(): number {
      return Math.round(wallMs());
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}
