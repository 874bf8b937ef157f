// A lease kept alive by the client, as etcd's clientv3 KeepAlive: a renewal every TTL/3 through any member that
// answers, and a `lost` event once the lease is gone (a renewal answered TTL 0: it expired or was revoked) or
// can no longer be known to live (no renewal succeeded within TTL of the last one that did: the cluster may have
// expired it). A lost lease is never renewed again; grant a new one.

import { EventEmitter } from 'node:events';
import { clientLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';

export interface LeaseCalls {
  /** One renewal; resolves with the TTL the leader answered (0: no such lease). */
  keepAliveOnce(id: number): Promise<number>;
  revoke(id: number): Promise<unknown>;
}

export type LeaseLostReason = 'expired' | 'deadline';

export interface LeaseEvents {
  /** A renewal went through: the lease lives at least `ttlSeconds` from when it was sent. */
  keepalive: [ttlSeconds: number];
  /** The lease is gone, or cannot be known to live (see above); no more renewals are sent. */
  lost: [reason: LeaseLostReason, error: ConclaveError];
}

export class KeptLease extends EventEmitter<LeaseEvents> {
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #lost = false;
  /** Until when the lease is known to live (client clock, monotonic). */
  #deadlineMs: number;

  constructor(
    readonly id: number,
    readonly ttlSeconds: number,
    private readonly calls: LeaseCalls,
    grantedAtMs: number,
  ) {
    super();
    this.#deadlineMs = grantedAtMs + ttlSeconds * 1000;
    this.#schedule(this.#interval());
  }

  /** Whether the lease is known to live now. */
  get alive(): boolean {
    return !this.#lost && performance.now() < this.#deadlineMs;
  }

  get isLost(): boolean {
    return this.#lost;
  }

  /** Stops renewing (the lease then expires after its TTL). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Stops renewing and revokes the lease (its keys are deleted at once). */
  async revoke(): Promise<void> {
    this.close();
    await this.calls.revoke(this.id);
  }

  #interval(): number {
    return Math.max(clientLimits.minKeepAliveIntervalMs, (this.ttlSeconds * 1000) / 3);
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#lost) return;
    this.#timer = setTimeout(() => void this.#renew(), delayMs);
  }

  async #renew(): Promise<void> {
    const sentAt = performance.now();
    try {
      const ttl = await this.calls.keepAliveOnce(this.id);
      if (this.#closed) return;
      if (ttl <= 0) {
        this.#lose('expired', new ConclaveError('ErrLeaseNotFound', `lease ${this.id} expired or was revoked`));
        return;
      }
      this.#deadlineMs = Math.max(this.#deadlineMs, sentAt + ttl * 1000);
      this.emit('keepalive', ttl);
      this.#schedule(this.#interval());
    } catch (error) {
      if (this.#closed) return;
      if (performance.now() >= this.#deadlineMs) {
        const reason = error instanceof ConclaveError ? error : new ConclaveError('ErrUnreachable', String(error));
        this.#lose('deadline', new ConclaveError(reason.code, `lease ${this.id}: no renewal went through within its TTL (${reason.message})`));
        return;
      }
      // Try again soon, but not past the deadline without a last try.
      this.#schedule(Math.min(clientLimits.keepAliveRetryMs, Math.max(0, this.#deadlineMs - performance.now())));
    }
  }

  #lose(reason: LeaseLostReason, error: ConclaveError): void {
    this.#lost = true;
    this.close();
    this.emit('lost', reason, error);
  }
}
