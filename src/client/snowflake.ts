// Snowflake IDs: timestamp | worker | sequence (41/10/12 bits by default, Twitter's epoch), minted by a generator
// that holds its worker ID through a lease. It issues nothing once the lease is lost or cannot be confirmed (a
// KeptLease that is not `alive`), nothing before the worker ID's not-before time (when its previous holder may
// still have been issuing), and nothing with a timestamp at or below one it used: a clock moving backwards is
// waited out up to maxBackwardsWaitMs and refused beyond; a full sequence waits for the next millisecond.
// Segment allocation (Leaf style) is here too: blocks of a named counter, the next one fetched when half used.

import { snowflakeLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';

export interface SnowflakeLayout {
  readonly timestampBits: number;
  readonly workerBits: number;
  readonly sequenceBits: number;
  /** Unix time (ms) of timestamp 0. */
  readonly epochMs: number;
}

export const DEFAULT_LAYOUT: SnowflakeLayout = { timestampBits: 41, workerBits: 10, sequenceBits: 12, epochMs: 1288834974657 };

export function checkLayout(layout: SnowflakeLayout): void {
  const { timestampBits, workerBits, sequenceBits, epochMs } = layout;
  for (const [name, bits] of [['timestampBits', timestampBits], ['workerBits', workerBits], ['sequenceBits', sequenceBits]] as const) {
    if (!Number.isInteger(bits) || bits < 1) throw new ConclaveError('ErrInvalidField', `${name} must be a positive integer, got ${bits}`);
  }
  if (timestampBits + workerBits + sequenceBits > 63) throw new ConclaveError('ErrInvalidField', `a layout of ${timestampBits + workerBits + sequenceBits} bits; at most 63 (a positive int64)`);
  if (2 ** workerBits > snowflakeLimits.maxWorkerCount) throw new ConclaveError('ErrInvalidField', `${workerBits} worker bits: at most 2^${Math.log2(snowflakeLimits.maxWorkerCount)} worker IDs (snowflakeLimits.maxWorkerCount)`);
  if (!Number.isSafeInteger(epochMs) || epochMs < 0) throw new ConclaveError('ErrInvalidField', `epochMs must be a non-negative integer, got ${epochMs}`);
}

export interface SnowflakeParts {
  /** Unix time (ms) the ID was minted at. */
  readonly timestampMs: number;
  readonly workerId: number;
  readonly sequence: number;
}

export function parseSnowflake(id: bigint | string, layout: SnowflakeLayout = DEFAULT_LAYOUT): SnowflakeParts {
  checkLayout(layout);
  let value: bigint;
  try {
    value = typeof id === 'bigint' ? id : BigInt(id);
  } catch {
    throw new ConclaveError('ErrInvalidField', `${JSON.stringify(id)} is not a decimal ID`);
  }
  const total = layout.timestampBits + layout.workerBits + layout.sequenceBits;
  if (value < 0n || value >= 1n << BigInt(total)) throw new ConclaveError('ErrInvalidField', `ID ${value} does not fit a ${total}-bit layout`);
  const sequence = Number(value & ((1n << BigInt(layout.sequenceBits)) - 1n));
  const workerId = Number((value >> BigInt(layout.sequenceBits)) & ((1n << BigInt(layout.workerBits)) - 1n));
  const timestamp = Number(value >> BigInt(layout.sequenceBits + layout.workerBits));
  return { timestampMs: timestamp + layout.epochMs, workerId, sequence };
}

/** What the generator needs of its lease (a KeptLease). */
export interface WorkerLease {
  readonly alive: boolean;
  readonly id: number;
}

export interface GeneratorOptions {
  readonly layout?: SnowflakeLayout;
  /** Longest wait for a clock that moved backwards before refusing (default snowflakeLimits.maxBackwardsWaitMs). */
  readonly maxBackwardsWaitMs?: number;
  /** The worker ID's not-before time (its allocation's): nothing is minted with an earlier timestamp. */
  readonly notBeforeMs?: number;
  /** Wall clock (ms); tests pass their own. */
  readonly nowMs?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class SnowflakeGenerator {
  readonly layout: SnowflakeLayout;
  readonly #maxBackwardsWaitMs: number;
  readonly #notBeforeMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #maxSequence: number;
  readonly #maxTimestamp: number;
  readonly #workerPart: bigint;
  #lastTimestamp = -1;
  #sequence = 0;

  constructor(
    readonly workerId: number,
    private readonly lease: WorkerLease,
    options: GeneratorOptions = {},
  ) {
    this.layout = options.layout ?? DEFAULT_LAYOUT;
    checkLayout(this.layout);
    if (!Number.isInteger(workerId) || workerId < 0 || workerId >= 2 ** this.layout.workerBits) throw new ConclaveError('ErrInvalidField', `worker ID ${workerId} does not fit ${this.layout.workerBits} bits`);
    this.#maxBackwardsWaitMs = options.maxBackwardsWaitMs ?? snowflakeLimits.maxBackwardsWaitMs;
    this.#notBeforeMs = options.notBeforeMs ?? 0;
    this.#now = options.nowMs ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
    this.#maxSequence = 2 ** this.layout.sequenceBits - 1;
    this.#maxTimestamp = 2 ** this.layout.timestampBits - 1;
    this.#workerPart = BigInt(workerId) << BigInt(this.layout.sequenceBits);
  }

  /** One ID, or how long to wait before one can be minted. Throws when none may be minted at all. */
  #tryNext(): bigint | number {
    if (!this.lease.alive) throw new ConclaveError('ErrLeaseNotFound', `worker ${this.workerId}: lease ${this.lease.id} is lost or unconfirmed; no more IDs are issued under it`);
    const nowMs = this.#now();
    if (nowMs < this.#notBeforeMs) return this.#notBeforeMs - nowMs;
    const timestamp = nowMs - this.layout.epochMs;
    if (timestamp < 0 || timestamp > this.#maxTimestamp) throw new ConclaveError('ErrInvalidField', `the clock (${nowMs} ms) is outside the layout's ${this.layout.timestampBits}-bit timestamps from epoch ${this.layout.epochMs}`);
    if (timestamp < this.#lastTimestamp) {
      const behindMs = this.#lastTimestamp - timestamp;
      if (behindMs > this.#maxBackwardsWaitMs) {
        throw new ConclaveError('ErrClockMovedBackwards', `the clock is ${behindMs} ms behind the last ID's timestamp, more than the ${this.#maxBackwardsWaitMs} ms this generator waits`);
      }
      return behindMs;
    }
    if (timestamp === this.#lastTimestamp) {
      if (this.#sequence >= this.#maxSequence) return 1;
      this.#sequence++;
    } else {
      this.#lastTimestamp = timestamp;
      this.#sequence = 0;
    }
    return (BigInt(timestamp) << BigInt(this.layout.workerBits + this.layout.sequenceBits)) | this.#workerPart | BigInt(this.#sequence);
  }

  async next(): Promise<bigint> {
    for (;;) {
      const outcome = this.#tryNext();
      if (typeof outcome === 'bigint') return outcome;
      await this.#sleep(outcome);
    }
  }

  /** `count` IDs, in increasing order. */
  async nextBatch(count: number): Promise<bigint[]> {
    const ids: bigint[] = [];
    while (ids.length < count) {
      const outcome = this.#tryNext();
      if (typeof outcome === 'bigint') ids.push(outcome);
      else await this.#sleep(outcome);
    }
    return ids;
  }

  parse(id: bigint | string): SnowflakeParts {
    return parseSnowflake(id, this.layout);
  }
}

/**
 * Leaf-style IDs from a named counter: blocks of `blockSize` reserved in one write each, the next one fetched
 * when half of the current one is used, so that next() rarely waits for the cluster.
 */
export class SegmentAllocator {
  #next = 0;
  #end = 0;
  #pending: Promise<{ start: number; count: number }> | null = null;
  #prefetchAt = 0;

  constructor(
    private readonly reserve: (count: number) => Promise<{ start: number; count: number }>,
    readonly blockSize: number,
  ) {
    if (!Number.isSafeInteger(blockSize) || blockSize < 1 || blockSize > snowflakeLimits.maxSegmentCount) {
      throw new ConclaveError('ErrInvalidField', `block size must be 1 to snowflakeLimits.maxSegmentCount (${snowflakeLimits.maxSegmentCount}), got ${blockSize}`);
    }
  }

  #fetch(): Promise<{ start: number; count: number }> {
    if (this.#pending === null) {
      const pending = this.reserve(this.blockSize);
      this.#pending = pending;
      // A failed prefetch is tried again by the next call that needs it.
      pending.catch(() => {
        if (this.#pending === pending) this.#pending = null;
      });
    }
    return this.#pending;
  }

  async next(): Promise<number> {
    while (this.#next >= this.#end) {
      const pending = this.#fetch();
      const block = await pending;
      // Callers waiting on one fetch install its block once; the others go on with it.
      if (this.#pending !== pending) continue;
      this.#pending = null;
      this.#next = block.start;
      this.#end = block.start + block.count;
      this.#prefetchAt = block.start + Math.floor(block.count / 2);
    }
    const id = this.#next++;
    if (id >= this.#prefetchAt && this.#pending === null) void this.#fetch().catch(() => undefined);
    return id;
  }
}
