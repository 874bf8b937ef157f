// Proposals this member made and waits on, by request ID, so that each client gets the result of its own entry when
// it is applied (on a follower too: the entry comes back through the log). Request IDs start with a nonce chosen at
// each start, so an entry proposed before a restart can never settle a request made after it.

import { ConclaveError } from '../protocol/errors.js';

interface Pending<R> {
  readonly resolve: (result: R) => void;
  readonly reject: (error: ConclaveError) => void;
  readonly deadlineMs: number;
}

export class ProposalTracker<R> {
  private readonly pending = new Map<string, Pending<R>>();
  private sequence = 0;

  constructor(
    private readonly nonce: string,
    private readonly maxPending: number,
    private readonly timeoutMs: number,
    private readonly nowMs: () => number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** A new request ID and the promise of its result; fails at once when maxPending requests already wait. */
  open(): { id: string; result: Promise<R> } {
    if (this.pending.size >= this.maxPending) {
      throw new ConclaveError('ErrTooManyRequests', `${this.pending.size} proposals pending (serverLimits.maxPendingProposals)`);
    }
    const id = `${this.nonce}.${(this.sequence++).toString(36)}`;
    const result = new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadlineMs: this.nowMs() + this.timeoutMs });
    });
    return { id, result };
  }

  /** Whether `id` names a request of this member (made since its start), waited on here. */
  isOwn(id: string): boolean {
    return id.startsWith(this.nonce) && id.charCodeAt(this.nonce.length) === 0x2e;
  }

  /** The entry carrying `id` was applied with `result` (a no-op for other members' IDs). */
  settle(id: string, result: R): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    pending.resolve(result);
  }

  /** The proposal certainly did not enter the log. */
  fail(id: string, error: ConclaveError): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    pending.reject(error);
  }

  /** Fails requests past their deadline: their entry may still be applied later, so the outcome is unknown. */
  expire(): void {
    const now = this.nowMs();
    // Deadlines grow with insertion order (one timeout for all), so the expired ones come first.
    for (const [id, pending] of this.pending) {
      if (pending.deadlineMs > now) break;
      this.pending.delete(id);
      pending.reject(new ConclaveError('ErrTimeout'));
    }
  }

  failAll(error: ConclaveError): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
