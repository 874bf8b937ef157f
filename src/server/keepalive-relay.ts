// A follower's renewals on their way to the leader: one long-lived keepalive stream (POST /v3/lease/keepalive)
// to the leader's client URL carries every renewal this member takes, and answers come back matched by lease ID,
// rather than an HTTP call per renewal (at 10,000 renewals a second those calls were most of the cost). When the
// leader changes, or its stream breaks, what waits on it fails with ErrLeaderChanged and the client renews again.

import { request as httpRequest, type ClientRequest } from 'node:http';
import { leaseLimits, serverLimits } from '../limits.js';
import { LEASE_KEEPALIVE_PATH } from '../protocol/api.js';
import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import type { LeaseKeepAliveResponse } from '../protocol/lease.js';
import { decodeError, decodeResponse } from '../protocol/json.js';
import { HEADERS } from '../transport/handshake.js';
import { LineReader } from '../util/lines.js';

type Answer = { header: ResponseHeader; response: LeaseKeepAliveResponse };

interface Waiter {
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: ConclaveError) => void;
  readonly timer: NodeJS.Timeout;
}

interface LeaderStream {
  readonly url: string;
  readonly request: ClientRequest;
}

export class KeepAliveRelay {
  private stream: LeaderStream | null = null;
  private readonly waiting = new Map<number, Waiter[]>();
  private waiters = 0;
  private closed = false;

  /** `fromId` is this member's ID, named on the stream (as a peer connection names its dialer). */
  constructor(private readonly fromId: string) {}

  /** Sends a renewal to the leader at `leaderUrl` and resolves with its answer. */
  renew(leaderUrl: string, id: number): Promise<Answer> {
    if (this.closed) return Promise.reject(new ConclaveError('ErrStopped'));
    if (this.waiters >= leaseLimits.maxPendingKeepAlivesPerStream) {
      return Promise.reject(new ConclaveError('ErrTooManyRequests', `${this.waiters} renewals wait for the leader (leaseLimits.maxPendingKeepAlivesPerStream)`));
    }
    const stream = this.streamTo(leaderUrl);
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, (w) => w !== waiter, new ConclaveError('ErrTimeout', 'the leader did not answer the renewal in time')), serverLimits.requestTimeoutMs);
      const waiter: Waiter = { resolve, reject, timer };
      const list = this.waiting.get(id);
      if (list === undefined) this.waiting.set(id, [waiter]);
      else list.push(waiter);
      this.waiters++;
      stream.request.write(`{"ID":"${id}"}\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.drop(new ConclaveError('ErrStopped'));
  }

  private streamTo(url: string): LeaderStream {
    if (this.stream !== null && this.stream.url === url) return this.stream;
    this.drop(new ConclaveError('ErrLeaderChanged', 'the leader changed while the renewal was on its way'));
    const request = httpRequest(new URL(LEASE_KEEPALIVE_PATH, url), { method: 'POST', headers: { 'content-type': 'application/json', [HEADERS.from]: this.fromId } });
    const stream: LeaderStream = { url, request };
    const broken = (why: string) => {
      if (this.stream === stream) this.drop(new ConclaveError('ErrLeaderChanged', `the stream to the leader at ${url} ${why}`));
    };
    request.on('response', (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        broken(`was refused (HTTP ${response.statusCode ?? 0})`);
        return;
      }
      const lines = new LineReader(serverLimits.maxRequestBytes);
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        try {
          for (const line of lines.push(chunk)) this.answer(line);
        } catch {
          response.destroy(new Error('an answer line beyond serverLimits.maxRequestBytes'));
        }
      });
      response.on('end', () => broken('ended'));
      response.on('error', (error) => broken(`failed: ${error.message}`));
    });
    request.on('error', (error) => broken(`cannot be opened: ${error.message}`));
    request.setNoDelay(true);
    request.flushHeaders();
    this.stream = stream;
    return stream;
  }

  private answer(line: string): void {
    let parsed: { result?: unknown; error?: unknown; ID?: unknown };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      return;
    }
    if (parsed.error !== undefined) {
      const id = Number(parsed.ID);
      if (Number.isSafeInteger(id)) this.settle(id, () => false, decodeError(200, parsed.error));
      return;
    }
    try {
      const answer = decodeResponse('leaseKeepAlive', parsed);
      this.settle(answer.response.id, () => false, answer);
    } catch {
      // A line this member cannot read: its renewals time out and the client renews again.
    }
  }

  /** Settles the waiters of one lease (all of them, or those `keep` does not keep) with an answer or an error. */
  private settle(id: number, keep: (waiter: Waiter) => boolean, outcome: Answer | ConclaveError): void {
    const list = this.waiting.get(id);
    if (list === undefined) return;
    const kept = list.filter(keep);
    if (kept.length === 0) this.waiting.delete(id);
    else this.waiting.set(id, kept);
    for (const waiter of list) {
      if (kept.includes(waiter)) continue;
      this.waiters--;
      clearTimeout(waiter.timer);
      if (outcome instanceof ConclaveError) waiter.reject(outcome);
      else waiter.resolve(outcome);
    }
  }

  private drop(error: ConclaveError): void {
    const stream = this.stream;
    this.stream = null;
    stream?.request.destroy();
    for (const id of [...this.waiting.keys()]) this.settle(id, () => false, error);
  }
}
