// The mechanisms of the clock and fsync-stall faults on a plain node child, no cluster: the clock preload moves
// the clocks the child reads, and back; the fsync shim holds the child's fdatasync and fsync while the control
// file exists and lets them through once it is gone.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { ClockControl } from '../../jepsen-like/faults/clock-control.js';
import { parseClockSetting } from '../../jepsen-like/faults/clock-setting.js';
import { compileStallShim, FsyncStall } from '../../jepsen-like/faults/fsync-stall.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-fault-mechanisms-'));
const children: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A child that answers each line on stdin with its clocks, as JSON. */
function clockChild(control: ClockControl, name: string) {
  const script = `
    require('node:readline').createInterface({ input: process.stdin }).on('line', () => {
      console.log(JSON.stringify({ wall: Date.now(), constructed: new Date().getTime(), monotonic: performance.now(),
        hrtimeMs: Number(process.hrtime.bigint() / 1000000n), hrtimePairMs: process.hrtime()[0] * 1000 + process.hrtime()[1] / 1e6 }));
    });`;
  const child = spawn(process.execPath, [...control.nodeFlags, '-e', script], { env: { ...process.env, ...control.env(name) } });
  children.push(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return async () => {
    const asked = { wall: Date.now(), monotonic: performance.now() };
    child.stdin.write('\n');
    const line = await lines.next();
    if (line.done === true) throw new Error('the clock child ended');
    const seen = JSON.parse(line.value) as { wall: number; constructed: number; monotonic: number; hrtimeMs: number; hrtimePairMs: number };
    return { ...seen, wallOffset: seen.wall - asked.wall, asked };
  };
}

/** Asks until `holds` does, for at most 3 s (the preload looks at its file every 50 ms). */
async function until<T>(ask: () => Promise<T>, holds: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 3000;
  let value = await ask();
  while (!holds(value) && Date.now() < deadline) {
    await sleep(50);
    value = await ask();
  }
  return value;
}

describe('the clock preload', () => {
  const control = ClockControl.create(join(dir, 'clock'));

  it('jumps every clock the child reads forward, and gives the wall clock back on reset while the monotonic ones never run back', async () => {
    const ask = clockChild(control, 'jumper');
    const before = await ask();
    expect(Math.abs(before.wallOffset)).toBeLessThan(1000);
    control.set('jumper', { wallOffsetMs: 60_000, monotonicOffsetMs: 60_000, rate: 1 });
    const jumped = await until(ask, (c) => c.wallOffset > 59_000);
    expect(jumped.wallOffset).toBeGreaterThan(59_000);
    expect(jumped.wallOffset).toBeLessThan(61_000);
    expect(jumped.constructed - jumped.wall).toBeLessThan(1000);
    expect(jumped.constructed - jumped.wall).toBeGreaterThanOrEqual(0);
    // The monotonic clocks moved by the jump on top of the real time between the questions.
    const realMs = jumped.asked.monotonic - before.asked.monotonic;
    expect(jumped.monotonic - before.monotonic - realMs).toBeGreaterThan(59_000);
    expect(jumped.hrtimeMs - before.hrtimeMs - realMs).toBeGreaterThan(59_000);
    expect(Math.abs(jumped.hrtimePairMs - jumped.hrtimeMs)).toBeLessThan(1000);

    control.reset('jumper');
    const healed = await until(ask, (c) => Math.abs(c.wallOffset) < 1000);
    expect(Math.abs(healed.wallOffset)).toBeLessThan(1000);
    expect(healed.monotonic).toBeGreaterThanOrEqual(jumped.monotonic);
    expect(healed.hrtimeMs).toBeGreaterThanOrEqual(jumped.hrtimeMs);
  });

  it('runs the clocks at a rate, and steps the wall clock alone back', async () => {
    const ask = clockChild(control, 'skewed');
    await ask();
    control.set('skewed', { wallOffsetMs: 0, monotonicOffsetMs: 0, rate: 4 });
    await sleep(200);
    const from = await ask();
    await sleep(600);
    const to = await ask();
    const realMs = to.asked.monotonic - from.asked.monotonic;
    expect(to.monotonic - from.monotonic).toBeGreaterThan(2 * realMs);
    expect(to.wallOffset - from.wallOffset).toBeGreaterThan(realMs);

    control.set('skewed', { wallOffsetMs: -60_000, monotonicOffsetMs: 0, rate: 1 });
    const back = await until(ask, (c) => c.wallOffset < -59_000);
    expect(back.wallOffset).toBeLessThan(-59_000);
    const later = await ask();
    expect(later.monotonic).toBeGreaterThanOrEqual(back.monotonic);
  });

  it('reads only whole settings', () => {
    expect(parseClockSetting('{"wallOffsetMs":1,"monotonicOffsetMs":2,"rate":3}')).toEqual({ wallOffsetMs: 1, monotonicOffsetMs: 2, rate: 3 });
    expect(parseClockSetting('{"wallOffsetMs":1,"monotonicOffsetMs":2,"rate":0}')).toBeNull();
    expect(parseClockSetting('{"wallOffsetMs":1,"rate":1}')).toBeNull();
    expect(parseClockSetting('{"wallOffsetMs":1,"monotonicOffsetMs":2,')).toBeNull();
  });
});

describe('the fsync shim', () => {
  const stall = FsyncStall.create(join(dir, 'fsync'));

  /** A child that syncs a file with `call` on each line of stdin and says "synced" after each. */
  function syncChild(name: string, call: 'fdatasyncSync' | 'fsyncSync') {
    const file = join(dir, `${name}.dat`);
    const script = `
      const fs = require('node:fs');
      const fd = fs.openSync(${JSON.stringify(file)}, 'w');
      require('node:readline').createInterface({ input: process.stdin }).on('line', () => {
        fs.writeSync(fd, 'x');
        fs.${call}(fd);
        console.log('synced');
      });
      console.log('ready');`;
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...stall.env(name) } });
    children.push(child);
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    return { child, next: () => lines.next().then((line) => (line.done === true ? 'ended' : line.value)) };
  }

  for (const call of ['fdatasyncSync', 'fsyncSync'] as const) {
    it(`holds a child's ${call} while the control file exists and releases it when it is removed`, async () => {
      const name = `held-${call}`;
      const { child, next } = syncChild(name, call);
      expect(await next()).toBe('ready');
      // Not stalled: the sync goes through.
      child.stdin.write('\n');
      expect(await next()).toBe('synced');

      stall.stall(name);
      child.stdin.write('\n');
      const synced = next();
      const first = await Promise.race([synced, sleep(1000).then(() => 'still held')]);
      expect(first).toBe('still held');
      expect(stall.release(name)).toBe(true);
      expect(await synced).toBe('synced');
    });
  }

  it('stalls only the member whose control file exists', async () => {
    const held = syncChild('stalled', 'fdatasyncSync');
    const free = syncChild('free', 'fdatasyncSync');
    expect(await held.next()).toBe('ready');
    expect(await free.next()).toBe('ready');
    stall.stall('stalled');
    held.child.stdin.write('\n');
    free.child.stdin.write('\n');
    expect(await free.next()).toBe('synced');
    const heldSync = held.next();
    expect(await Promise.race([heldSync, sleep(500).then(() => 'still held')])).toBe('still held');
    stall.release('stalled');
    expect(await heldSync).toBe('synced');
    // The release removed the control file; a release without a held sync says so.
    expect(existsSync(join(dir, 'fsync', 'stalled.fsync-stall'))).toBe(false);
    expect(stall.release('free')).toBe(false);
  });

  it('names the compiler when there is none', () => {
    expect(() => compileStallShim(join(dir, 'nocc'), 'no-such-cc')).toThrow(/no C compiler: `no-such-cc` was not found/);
  });
});
