// The register workload: concurrent clients read, write and compare-and-set a handful of keys, each a register,
// recording every operation in the history (history.ts, docs/jepsen-like.md for the format).
//
// Each client is its own Client on every endpoint (starting at a different one), with a fixed deadline per
// operation. Writes and cas carry fresh values (a counter), so that a read names the write it saw. Outcomes:
//   read   ok with the value (null when the key is absent); any error is fail, since a read changes nothing.
//          Linearizable, unless the run asks for serializable reads (--serializable-reads), which a member serves
//          from its own state: the checker is expected to catch the stale ones under partitions and restarts.
//   write  ok; fail when the client says it certainly was not applied (NOT_APPLIED); otherwise info
//   cas    a txn comparing the value and putting the new one: ok when it swapped, fail when it did not (or, as a
//          write, when it certainly was not applied); otherwise info
// After an info the client goes on under a new process number (process + concurrency); clients.ts.

import { compare, op } from '../../src/client/index.js';
import type { JsonScalar } from '../history.js';
import { ClientWorkload, type ClientWorkloadOptions, type Worker } from './clients.js';

/** Where the registers live in the key space; history keys are the names after it (r0, r1, ...). */
export const REGISTER_KEY_PREFIX = 'jepsen/register/';

/** Share of reads among operations, and of writes; the rest are cas. */
const READ_SHARE = 0.4;
const WRITE_SHARE = 0.3;
/** Values a cas may expect, per key: the latest ones written or read, the newest expected most of the time. */
const RECENT_VALUES = 4;
const EXPECT_NEWEST = 0.75;

export type RegisterOptions = ClientWorkloadOptions;

const decoder = new TextDecoder();

/** A register's value as read: the number written, or the text itself if it is not one of ours. */
export function valueOf(bytes: Uint8Array): JsonScalar {
  const text = decoder.decode(bytes);
  const number = Number(text);
  return String(number) === text ? number : text;
}

export class RegisterWorkload extends ClientWorkload {
  private nextValue = 1;
  private readonly recent = new Map<string, JsonScalar[]>();

  get keys(): string[] {
    return Array.from({ length: this.options.keys }, (_, i) => `r${i}`);
  }

  protected async step(worker: Worker): Promise<void> {
    const key = worker.rng.pick(this.keys);
    const roll = worker.rng.next();
    const recent = this.recent.get(key) ?? [];
    if (roll < READ_SHARE) await this.read(worker, key);
    else if (roll < READ_SHARE + WRITE_SHARE || recent.length === 0) await this.write(worker, key, this.nextValue++);
    else await this.cas(worker, key, worker.rng.chance(EXPECT_NEWEST) ? recent[recent.length - 1]! : worker.rng.pick(recent), this.nextValue++);
  }

  protected finalRead(worker: Worker, key: string): Promise<boolean> {
    return this.read(worker, key, false);
  }

  /** Whether the read succeeded. The final reads are linearizable whatever the run's reads were. */
  private async read(worker: Worker, key: string, serializable = this.options.serializableReads): Promise<boolean> {
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, 'read', key, null);
    try {
      const { response } = await worker.client.get(REGISTER_KEY_PREFIX + key, { timeoutMs: opTimeoutMs, serializable });
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

  private remember(key: string, value: JsonScalar): void {
    const recent = (this.recent.get(key) ?? []).filter((v) => v !== value);
    recent.push(value);
    if (recent.length > RECENT_VALUES) recent.shift();
    this.recent.set(key, recent);
  }
}
