// The Snowflake generator on a fake clock: increasing, never repeated IDs whose parts parse back; a full sequence
// waits for the next millisecond; a clock moving backwards is waited out up to the bound and refused beyond it;
// nothing is issued once the lease is not alive, or before the worker ID's not-before time. And the segment
// allocator: consecutive blocks, the next fetched at half, no number twice under concurrent callers.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT, parseSnowflake, SegmentAllocator, SnowflakeGenerator, type SnowflakeLayout } from '../../src/client/snowflake.js';
import { ConclaveError } from '../../src/protocol/errors.js';

/** A wall clock that moves only when told, or when the generator sleeps. */
class FakeClock {
  constructor(public nowMs = DEFAULT_LAYOUT.epochMs + 1_000_000) {}
  readonly now = (): number => this.nowMs;
  readonly slept: number[] = [];
  readonly sleep = async (ms: number): Promise<void> => {
    this.slept.push(ms);
    this.nowMs += ms;
  };
}

const alive = { id: 7, alive: true };

describe('Snowflake generator', () => {
  it('IDs increase, never repeat, and parse back to their time, worker and sequence; a full sequence waits a millisecond', async () => {
    const clock = new FakeClock();
    const layout: SnowflakeLayout = { ...DEFAULT_LAYOUT, sequenceBits: 3 };
    const generator = new SnowflakeGenerator(5, alive, { layout, nowMs: clock.now, sleep: clock.sleep });
    const start = clock.nowMs;
    const ids = await generator.nextBatch(20);
    for (let i = 1; i < ids.length; i++) expect((ids[i] as bigint) > (ids[i - 1] as bigint)).toBe(true);
    expect(ids.map((id) => generator.parse(id))).toEqual(ids.map((_, i) => ({ timestampMs: start + Math.floor(i / 8), workerId: 5, sequence: i % 8 })));
    expect(clock.slept).toEqual([1, 1]);
  });

  it('parse inverts the layout for any parts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 20 }), fc.nat(), fc.nat(), fc.nat(), (timestampBits, workerBits, sequenceBits, t, w, s) => {
        const layout = { timestampBits, workerBits, sequenceBits, epochMs: 1000 };
        const parts = { timestamp: t % 2 ** timestampBits, workerId: w % 2 ** workerBits, sequence: s % 2 ** sequenceBits };
        const id = (BigInt(parts.timestamp) << BigInt(workerBits + sequenceBits)) | (BigInt(parts.workerId) << BigInt(sequenceBits)) | BigInt(parts.sequence);
        expect(parseSnowflake(id.toString(), layout)).toEqual({ timestampMs: parts.timestamp + 1000, workerId: parts.workerId, sequence: parts.sequence });
      }),
    );
    expect(() => parseSnowflake('12x')).toThrow(ConclaveError);
    expect(() => parseSnowflake((1n << 63n).toString())).toThrow(/does not fit/);
  });

  it('a clock moving backwards is waited out up to maxBackwardsWaitMs, refused beyond it with ErrClockMovedBackwards', async () => {
    const clock = new FakeClock();
    const generator = new SnowflakeGenerator(1, alive, { nowMs: clock.now, sleep: clock.sleep, maxBackwardsWaitMs: 50 });
    const first = await generator.next();
    clock.nowMs -= 40;
    const second = await generator.next();
    expect(second > first).toBe(true);
    expect(clock.slept).toEqual([40]);
    clock.nowMs -= 51;
    await expect(generator.next()).rejects.toMatchObject({ code: 'ErrClockMovedBackwards' });
  });

  it('issues nothing once its lease is not alive, and nothing before its not-before time', async () => {
    const clock = new FakeClock();
    const lease = { id: 9, alive: true };
    const generator = new SnowflakeGenerator(2, lease, { nowMs: clock.now, sleep: clock.sleep, notBeforeMs: clock.nowMs + 30 });
    const id = await generator.next();
    expect(clock.slept).toEqual([30]);
    expect(generator.parse(id).timestampMs).toBe(clock.nowMs);
    lease.alive = false;
    await expect(generator.next()).rejects.toMatchObject({ code: 'ErrLeaseNotFound' });
    await expect(generator.nextBatch(3)).rejects.toMatchObject({ code: 'ErrLeaseNotFound' });
  });

  it('refuses layouts over 63 bits and worker IDs that do not fit', () => {
    expect(() => new SnowflakeGenerator(0, alive, { layout: { ...DEFAULT_LAYOUT, timestampBits: 42 } })).toThrow(/63/);
    expect(() => new SnowflakeGenerator(1024, alive)).toThrow(/does not fit 10 bits/);
  });
});

describe('segment allocator', () => {
  it('hands out consecutive blocks, fetching the next at half, and no number twice under concurrent callers', async () => {
    let next = 0;
    const reserves: number[] = [];
    const allocator = new SegmentAllocator(async (count) => {
      reserves.push(next);
      const start = next;
      next += count;
      await new Promise((resolve) => setImmediate(resolve));
      return { start, count };
    }, 10);
    const first = await Promise.all(Array.from({ length: 4 }, () => allocator.next()));
    expect(first.sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    expect(reserves).toEqual([0]);
    await allocator.next();
    await allocator.next(); // 5: half of the block used, the next is fetched now.
    await new Promise((resolve) => setImmediate(resolve));
    expect(reserves).toEqual([0, 10]);
    const rest = await Promise.all(Array.from({ length: 30 }, () => allocator.next()));
    const all = [...first, 4, 5, ...rest];
    expect(new Set(all).size).toBe(all.length);
    expect(Math.max(...all)).toBe(35);
  });
});
