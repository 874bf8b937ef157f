// etcd's LeaseKeepAlive stream, as its gateway serves it: LeaseKeepAliveRequest JSON objects in, one line (or
// WebSocket frame) `{"result":LeaseKeepAliveResponse}` out for each, in the order their renewals are recorded. A
// request that cannot be read gets an `{"error":...}` answer and changes nothing; the stream goes on. Used by the
// streaming POST /v3/lease/keepalive and by the WebSocket of the same path.

import { leaseLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import { decodeRequest, encodeError, encodeResponse, parseJsonBody } from '../protocol/json.js';
import { keepAliveLease } from './lease-api.js';
import type { Member } from './member.js';

export interface KeepAliveStreamOptions {
  readonly member: Member;
  /** Writes one answer (JSON text, no newline). */
  readonly write: (text: string) => void;
  /** The stream broke a bound and must end. */
  readonly end: (error: ConclaveError) => void;
}

export class KeepAliveStream {
  private pending = 0;
  private closed = false;
  private drainWaiters: (() => void)[] = [];

  constructor(private readonly options: KeepAliveStreamOptions) {}

  handleText(text: string): void {
    if (this.closed) return;
    let request;
    try {
      request = decodeRequest('leaseKeepAlive', parseJsonBody(text));
    } catch (error) {
      this.refuse(error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error)));
      return;
    }
    if (this.pending >= leaseLimits.maxPendingKeepAlivesPerStream) {
      this.options.end(new ConclaveError('ErrTooManyRequests', `${this.pending} keepalives of one stream wait for an answer (leaseLimits.maxPendingKeepAlivesPerStream)`));
      this.close();
      return;
    }
    this.pending++;
    keepAliveLease(this.options.member, request).then(
      ({ header, response }) => this.answer(JSON.stringify({ result: encodeResponse('leaseKeepAlive', header, response) })),
      // The lease ID beside the error (not in etcd's), so that a member relaying renewals can match it.
      (error: unknown) => this.answer(JSON.stringify({ error: encodeError(error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error))), ID: String(request.id) })),
    );
  }

  refuse(error: ConclaveError): void {
    if (!this.closed) this.options.write(JSON.stringify({ error: encodeError(error) }));
  }

  /** Resolves when every request taken so far is answered. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
  }

  private answer(text: string): void {
    this.pending--;
    if (!this.closed) this.options.write(text);
    if (this.pending === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }
}
