// A test-only preload (`node --import`) that moves this process's wall clock: Date.now() and `new Date()` read
// the real time plus an offset in ms, read from the file <CONCLAVE_TEST_CLOCK_DIR>/<member name>.clock (the
// member's --name; re-read every 20 ms, so a test can jump the clock of a running member). The monotonic clock (performance.now) is left alone, as a
// real clock step (NTP, an operator) leaves CLOCK_MONOTONIC alone.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.CONCLAVE_TEST_CLOCK_DIR;
const name = process.argv.find((arg) => arg.startsWith('--name='))?.slice('--name='.length);
if (dir !== undefined && name !== undefined) {
  const file = join(dir, `${name}.clock`);
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  let offsetMs = 0;
  const read = () => {
    try {
      const value = Number(readFileSync(file, 'utf8').trim());
      offsetMs = Number.isFinite(value) ? value : 0;
    } catch {
      offsetMs = 0;
    }
  };
  read();
  setInterval(read, 20).unref();
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + offsetMs);
      else super(...args);
    }
    static now() {
      return realNow() + offsetMs;
    }
  }
  globalThis.Date = SkewedDate;
}
