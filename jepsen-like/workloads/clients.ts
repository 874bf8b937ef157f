// What every workload's clients share: one Client per simulated process on every endpoint (each starting at a
// different one) with a fixed deadline per operation, the outcome counts, and how an error becomes `fail` or
// `info`. After an info the client goes on under a new process number (process + concurrency), as the history
// format asks.

import { Client } from '../../src/client/index.js';
import { ConclaveError, type ErrorCode } from '../../src/protocol/errors.js';
import { Rng } from '../../test/sim/prng.js';
import type { Target } from '../cluster.js';
import type { HistoryRecorder, JsonValue } from '../history.js';

/**
 * Errors by which the client says a write was not applied: refused by every member it tried before anything was
 * proposed, or never sent. Any other error (a timeout, a lost connection, a retry's expired request ID) leaves the
 * outcome unknown. Not ErrStopped: members before 2026-12-02 failed the proposals they still waited on when they
 * stopped with it, and those may have been in the log already.
 */
const NOT_APPLIED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ErrUnreachable', 'ErrNoLeader', 'ErrNotLeader', 'ErrLeaderChanged', 'ErrTooManyRequests']);

/**
 * Against etcd only "never sent" is certain: its timeouts come in several messages (", possibly due to previous
 * leader failure") that decode as a refusal, and no error of its gateway promises that a write was not proposed.
 */
const NOT_APPLIED_ETCD: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ErrUnreachable']);

export interface ClientWorkloadOptions {
  readonly endpoints: readonly string[];
  readonly concurrency: number;
  readonly keys: number;
  /** Deadline of one operation, retries and failover included. */
  readonly opTimeoutMs: number;
  /** The members' election timeout: the registry's discoveries record it for their checker. */
  readonly electionTimeoutMs: number;
  readonly seed: number;
  readonly recorder: HistoryRecorder;
  /** What the clients talk to (cluster.ts): etcd gets clients bound to one member each, sending nothing twice. */
  readonly target: Target;
  /** Reads during the run are serializable (served by whichever member is asked, possibly stale). */
  readonly serializableReads: boolean;
  /** The lock and election workloads' writes under a hold are plain puts, guarded by nothing (workloads/fenced.ts). */
  readonly unfencedWrites: boolean;
}

export interface OutcomeCounts {
  ok: number;
  fail: number;
  info: number;
}

export interface Worker {
  process: number;
  readonly client: Client;
  readonly rng: Rng;
}

/** A workload as `run` drives it. */
export interface Workload {
  readonly counts: OutcomeCounts;
  /** What the final reads read, one each (the history's keys; none for a workload that reads nothing after healing). */
  readonly keys: string[];
  /** Operations until `signal` aborts (each client finishes the one it is in). */
  run(signal: AbortSignal): Promise<void>;
  /** The reads after healing, each retried until it succeeds or `timeoutMs` passes; returns the keys read. */
  finalReads(timeoutMs: number): Promise<number>;
  close(): void;
}

/**
 * Client i starts at endpoint i. The attempt on one endpoint gets half the deadline, so that a member that hangs
 * (paused, cut off) leaves time for the next one. etcd does not deduplicate a write sent twice, and this client
 * sends a write to the next endpoint after some of etcd's errors that do not rule out its application; so an etcd
 * client talks to its own member only and never resends (as Jepsen's etcd clients are bound to a node), lest the
 * harness itself apply a write twice.
 */
function clientOptions(options: ClientWorkloadOptions, i: number): ConstructorParameters<typeof Client>[0] {
  const { endpoints } = options;
  const attemptMs = Math.ceil(options.opTimeoutMs / 2);
  if (options.target === 'etcd') return { endpoints: [endpoints[i % endpoints.length]!], requestTimeoutMs: options.opTimeoutMs, dialTimeoutMs: attemptMs, maxWriteRetries: 0 };
  return { endpoints: [...endpoints.slice(i % endpoints.length), ...endpoints.slice(0, i % endpoints.length)], requestTimeoutMs: attemptMs, dialTimeoutMs: attemptMs };
}

export abstract class ClientWorkload implements Workload {
  readonly counts: OutcomeCounts = { ok: 0, fail: 0, info: 0 };
  protected readonly workers: Worker[];

  constructor(protected readonly options: ClientWorkloadOptions) {
    const seeds = new Rng(options.seed);
    this.workers = Array.from({ length: options.concurrency }, (_, i) => ({
      process: i,
      client: new Client(clientOptions(options, i)),
      rng: seeds.fork(),
    }));
  }

  abstract get keys(): string[];

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker) => {
        while (!signal.aborted) await this.step(worker);
      }),
    );
  }

  async finalReads(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const keys = this.keys;
    let read = 0;
    // Client i reads keys i, i + concurrency, ..., one at a time, as a process does.
    await Promise.all(
      this.workers.map(async (worker, i) => {
        for (let k = i; k < keys.length; k += this.workers.length) {
          while (Date.now() < deadline) {
            if (await this.finalRead(worker, keys[k]!)) {
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

  protected abstract step(worker: Worker): Promise<void>;

  /** One read of `key` recorded in the history; whether it succeeded. */
  protected abstract finalRead(worker: Worker, key: string): Promise<boolean>;

  /** A write that threw: fail when it certainly was not applied, else info (and a new process number). */
  protected failed(worker: Worker, error: unknown, value: JsonValue): void {
    if (error instanceof ConclaveError && (this.options.target === 'etcd' ? NOT_APPLIED_ETCD : NOT_APPLIED).has(error.code)) {
      this.complete(worker, 'fail', value);
      return;
    }
    this.complete(worker, 'info', value);
    worker.process += this.options.concurrency;
  }

  protected complete(worker: Worker, type: 'ok' | 'fail' | 'info', value: JsonValue): void {
    this.options.recorder.complete(worker.process, type, value);
    this.counts[type]++;
  }
}
