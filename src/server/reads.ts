// Linearizable reads by ReadIndex, batched: every read that arrives while one confirmation is in flight joins the
// next one, so a heartbeat round confirms any number of reads. A batch is served once the member has applied up to
// the index the leader confirmed.

import type { ReadState } from '../raft/index.js';
import { ConclaveError } from '../protocol/errors.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: ConclaveError) => void;
  readonly deadlineMs: number;
}

export interface ReadBatcherOptions {
  /** Asks the core for a read index under `context`; an error fails the batch at once. */
  readonly requestReadIndex: (context: string) => ConclaveError | null;
  readonly appliedIndex: () => number;
  readonly nonce: string;
  readonly maxPending: number;
  readonly timeoutMs: number;
  /** A confirmation unanswered this long is asked again (the request or its answer may have been lost). */
  readonly retryMs: number;
  readonly nowMs: () => number;
}

export class ReadBatcher {
  private queued: Waiter[] = [];
  private inFlight: { context: string; waiters: Waiter[]; sentAtMs: number } | null = null;
  private awaitingApply: { index: number; waiters: Waiter[] }[] = [];
  private sequence = 0;
  private scheduled = false;
  private count = 0;

  constructor(private readonly options: ReadBatcherOptions) {}

  /** Resolves when a read served now would be linearizable. */
  wait(): Promise<void> {
    if (this.count >= this.options.maxPending) {
      return Promise.reject(new ConclaveError('ErrTooManyRequests', `${this.count} linearizable reads pending (serverLimits.maxPendingReads)`));
    }
    this.count++;
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ resolve, reject, deadlineMs: this.options.nowMs() + this.options.timeoutMs });
      // Reads of the same turn share one confirmation.
      if (this.inFlight === null && !this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.startBatch();
        });
      }
    });
  }

  onReadState(readState: ReadState): void {
    const batch = this.inFlight;
    if (batch === null || batch.context !== readState.context) return;
    this.inFlight = null;
    if (this.options.appliedIndex() >= readState.index) this.settle(batch.waiters, null);
    else this.awaitingApply.push({ index: readState.index, waiters: batch.waiters });
    this.startBatch();
  }

  onApplied(applied: number): void {
    while (this.awaitingApply.length > 0 && (this.awaitingApply[0] as { index: number }).index <= applied) {
      this.settle((this.awaitingApply.shift() as { waiters: Waiter[] }).waiters, null);
    }
  }

  /** Called on every tick: retries a confirmation that went unanswered and fails reads past their deadline. */
  tick(): void {
    const now = this.options.nowMs();
    const batch = this.inFlight;
    if (batch !== null && now - batch.sentAtMs >= this.options.retryMs) {
      this.inFlight = null;
      this.queued = batch.waiters.concat(this.queued);
      this.startBatch();
    }
    const expired = (w: Waiter) => w.deadlineMs <= now;
    const timeout = new ConclaveError('ErrTimeout');
    this.queued = this.dropExpired(this.queued, expired, timeout);
    if (this.inFlight !== null) this.inFlight.waiters = this.dropExpired(this.inFlight.waiters, expired, timeout);
    for (const group of this.awaitingApply) group.waiters = this.dropExpired(group.waiters, expired, timeout);
  }

  failAll(error: ConclaveError): void {
    const all = [...this.queued, ...(this.inFlight?.waiters ?? []), ...this.awaitingApply.flatMap((g) => g.waiters)];
    this.queued = [];
    this.inFlight = null;
    this.awaitingApply = [];
    this.settle(all, error);
  }

  private startBatch(): void {
    if (this.inFlight !== null || this.queued.length === 0) return;
    const waiters = this.queued;
    this.queued = [];
    const context = `${this.options.nonce}.r${(this.sequence++).toString(36)}`;
    const error = this.options.requestReadIndex(context);
    if (error !== null) {
      this.settle(waiters, error);
      return;
    }
    this.inFlight = { context, waiters, sentAtMs: this.options.nowMs() };
  }

  private dropExpired(waiters: Waiter[], expired: (w: Waiter) => boolean, error: ConclaveError): Waiter[] {
    if (!waiters.some(expired)) return waiters;
    this.settle(waiters.filter(expired), error);
    return waiters.filter((w) => !expired(w));
  }

  private settle(waiters: readonly Waiter[], error: ConclaveError | null): void {
    this.count -= waiters.length;
    for (const waiter of waiters) {
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
  }
}
