// The register workload: concurrent clients read, write and compare-and-set a handful of keys, each a register,
// recording every operation in the history (history.ts, docs/jepsen-like.md for the format).
//
// Each client is its own Client on every endpoint (starting at a different one), with a fixed deadline per
// operation. Writes and cas carry fresh values (a counter), so that a read names the write it saw. Outcomes:
//   read   ok with the value (null when the key is absent); any error is fail, since a read changes nothing
//   write  ok; fail when the client says it certainly was not applied (NOT_APPLIED); otherwise info
//   cas    a txn comparing the value and putting the new one: ok when it swapped, fail when it did not (or, as a
//          write, when it certainly was not applied); otherwise info
// After an info the client goes on under a new process number (process + concurrency).

import { Client, compare, op } from '../../src/client/index.js';
import { ConclaveError, type ErrorCode } from '../../src/protocol/errors.js';
import { Rng } from '../../test/sim/prng.js';
import type { HistoryRecorder, JsonScalar } from '../history.js';

/** Where the registers live in the key space; history keys are the names after it (r0, r1, ...). */
export const REGISTER_KEY_PREFIX = 'jepsen/register/';

/**
 * Errors by which the client says a write was not applied: refused by every member it tried before anything was
 * proposed, or never sent. Any other error (a timeout, a lost connection, a retry's expired request ID) leaves the
 * outcome unknown. Not ErrStopped: a member that stops fails the proposals it still waits on with it, and those
 * may be in the log already.
 */
const NOT_APPLIED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ErrUnreachable', 'ErrNoLeader', 'ErrNotLeader', 'ErrLeaderChanged', 'ErrTooManyRequests']);

/** Share of reads among operations, and of writes; the rest are cas. */
const READ_SHARE = 0.4;
const WRITE_SHARE = 0.3;
/** Values a cas may expect, per key: the latest ones written or read, the newest expected most of the time. */
const RECENT_VALUES = 4;
const EXPECT_NEWEST = 0.75;

export interface RegisterOptions {
  readonly endpoints: readonly string[];
  readonly concurrency: number;
  readonly keys: number;
  /** Deadline of one operation, retries and failover included. */
  readonly opTimeoutMs: number;
  readonly seed: number;
  readonly recorder: HistoryRecorder;
}

export interface OutcomeCounts {
  ok: number;
  fail: number;
  info: number;
}

interface Worker {
  process: number;
  readonly client: Client;
  readonly rng: Rng;
}

const decoder = new TextDecoder();

/** A register's value as read: the number written, or the text itself if it is not one of ours. */
function valueOf(bytes: Uint8Array): JsonScalar {
  const text = decoder.decode(bytes);
  const number = Number(text);
  return String(number) === text ? number : text;
}

export class RegisterWorkload {
  readonly counts: OutcomeCounts = { ok: 0, fail: 0, info: 0 };
  private readonly workers: Worker[];
  private nextValue = 1;
  private readonly recent = new Map<string, JsonScalar[]>();

  constructor(private readonly options: RegisterOptions) {
    const seeds = new Rng(options.seed);
    const { endpoints } = options;
    this.workers = Array.from({ length: options.concurrency }, (_, i) => ({
      process: i,
      // The attempt on one endpoint gets half the deadline, so that a member that hangs (paused, cut off) leaves
      // time for the next one.
      client: new Client({
        endpoints: [...endpoints.slice(i % endpoints.length), ...endpoints.slice(0, i % endpoints.length)],
        requestTimeoutMs: Math.ceil(options.opTimeoutMs / 2),
        dialTimeoutMs: Math.ceil(options.opTimeoutMs / 2),
      }),
      rng: seeds.fork(),
    }));
  }

  /** The history's keys. */
  get keys(): string[] {
    return Array.from({ length: this.options.keys }, (_, i) => `r${i}`);
  }

  /** Operations until `signal` aborts (each client finishes the one it is in). */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker) => {
        while (!signal.aborted) await this.step(worker);
      }),
    );
  }

  /**
   * One read of every key, each retried until it succeeds or `timeoutMs` passes (every try is in the history).
   * Returns the keys that were read.
   */
  async finalReads(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const keys = this.keys;
    let read = 0;
    // Client i reads keys i, i + concurrency, ..., one at a time, as a process does.
    await Promise.all(
      this.workers.map(async (worker, i) => {
        for (let k = i; k < keys.length; k += this.workers.length) {
          while (Date.now() < deadline) {
            if (await this.read(worker, keys[k]!)) {
              read++;
              break;
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      }),
    );
    return read;
  }

  close(): void {
    for (const worker of this.workers) worker.client.close();
  }

  private async step(worker: Worker): Promise<void> {
    const key = worker.rng.pick(this.keys);
    const roll = worker.rng.next();
    const recent = this.recent.get(key) ?? [];
    if (roll < READ_SHARE) await this.read(worker, key);
    else if (roll < READ_SHARE + WRITE_SHARE || recent.length === 0) await this.write(worker, key, this.nextValue++);
    else await this.cas(worker, key, worker.rng.chance(EXPECT_NEWEST) ? recent[recent.length - 1]! : worker.rng.pick(recent), this.nextValue++);
  }

  /** Whether the read succeeded. */
  private async read(worker: Worker, key: string): Promise<boolean> {
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, 'read', key, null);
    try {
      const { response } = await worker.client.get(REGISTER_KEY_PREFIX + key, { timeoutMs: opTimeoutMs });
      const kv = response.kvs[0];
      const value = kv === undefined ? null : valueOf(kv.value);
      this.complete(worker, 'ok', value);
      if (value !== null) this.remember(key, value);
      return true;
    } catch {
      this.complete(worker, 'fail', null);
      return false;
    }
  }

  private async write(worker: Worker, key: string, value: number): Promise<void> {
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, 'write', key, value);
    try {
      await worker.client.put(REGISTER_KEY_PREFIX + key, String(value), { timeoutMs: opTimeoutMs });
      this.complete(worker, 'ok', value);
      this.remember(key, value);
    } catch (error) {
      this.failed(worker, error, value);
    }
  }

  private async cas(worker: Worker, key: string, expected: JsonScalar, value: number): Promise<void> {
    const { recorder, opTimeoutMs } = this.options;
    const register = REGISTER_KEY_PREFIX + key;
    recorder.invoke(worker.process, 'cas', key, [expected, value]);
    try {
      const outcome = await worker.client
        .txn()
        .if(compare.value(register, '=', String(expected)))
        .then(op.put(register, String(value)))
        .commit({ timeoutMs: opTimeoutMs });
      this.complete(worker, outcome.succeeded ? 'ok' : 'fail', [expected, value]);
      if (outcome.succeeded) this.remember(key, value);
    } catch (error) {
      this.failed(worker, error, [expected, value]);
    }
  }

  /** A write or cas that threw: fail when it certainly was not applied, else info (and a new process number). */
  private failed(worker: Worker, error: unknown, value: number | JsonScalar[]): void {
    if (error instanceof ConclaveError && NOT_APPLIED.has(error.code)) {
      this.complete(worker, 'fail', value);
      return;
    }
    this.complete(worker, 'info', value);
    worker.process += this.options.concurrency;
  }

  private complete(worker: Worker, type: 'ok' | 'fail' | 'info', value: JsonScalar | JsonScalar[]): void {
    this.options.recorder.complete(worker.process, type, value);
    this.counts[type]++;
  }

  private remember(key: string, value: JsonScalar): void {
    const recent = (this.recent.get(key) ?? []).filter((v) => v !== value);
    recent.push(value);
    if (recent.length > RECENT_VALUES) recent.shift();
    this.recent.set(key, recent);
  }
}
