// One HTTP exchange with one endpoint, classified by what the caller may do next: an answer; "unreachable"
// (nothing was sent, so nothing can have been applied: any request may go to another endpoint); "lost" (the
// request went out but no whole answer came back: a write may have been applied); "aborted" (the caller's signal,
// with whether the request had gone out); or an answer too large to read.

import http from 'node:http';
import https from 'node:https';
import { clearTimeout, setTimeout } from 'node:timers';
import { clientLimits } from '../limits.js';

export type Attempt =
  | { readonly kind: 'answered'; readonly status: number; readonly text: string }
  | { readonly kind: 'unreachable'; readonly reason: string }
  | { readonly kind: 'lost'; readonly reason: string }
  | { readonly kind: 'tooLarge'; readonly reason: string }
  | { readonly kind: 'aborted'; readonly sent: boolean };

export interface AttemptOptions {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly requestTimeoutMs: number;
  readonly dialTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborting it ends the exchange at once and frees its socket. */
  readonly signal?: AbortSignal;
}

/** The keep-alive connection pools of one client, one per scheme. */
export class Agents {
  readonly #http: http.Agent;
  readonly #https: https.Agent;

  constructor(maxSocketsPerEndpoint: number = clientLimits.maxSocketsPerEndpoint) {
    const options = { keepAlive: true, maxSockets: maxSocketsPerEndpoint, maxFreeSockets: maxSocketsPerEndpoint };
    this.#http = new http.Agent(options);
    this.#https = new https.Agent(options);
  }

  for(url: URL): http.Agent {
    return url.protocol === 'https:' ? this.#https : this.#http;
  }

  destroy(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

export function attempt(agents: Agents, endpoint: string, options: AttemptOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    const url = new URL(options.path, endpoint);
    const body = options.body === undefined ? undefined : Buffer.from(options.body, 'utf8');
    if (options.signal?.aborted === true) {
      resolve({ kind: 'aborted', sent: false });
      return;
    }
    const headers: http.OutgoingHttpHeaders = { ...options.headers, accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = body.length;
    }
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(url, { method: options.method, agent: agents.for(url), headers });

    // Once the socket is connected the request is written at once, so "connected" stands for "sent": from then
    // on a failure leaves the outcome of a write unknown.
    let connected = false;
    let settled = false;
    const finish = (outcome: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(dialTimer);
      clearTimeout(requestTimer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
      if (outcome.kind !== 'answered') request.destroy();
    };
    const failed = (reason: string) => finish(connected ? { kind: 'lost', reason } : { kind: 'unreachable', reason });
    const onAbort = () => finish({ kind: 'aborted', sent: connected });
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const dialTimer = setTimeout(() => {
      if (!connected) finish({ kind: 'unreachable', reason: `not connected within ${options.dialTimeoutMs} ms` });
    }, options.dialTimeoutMs);
    const requestTimer = setTimeout(() => failed(`no answer within ${options.requestTimeoutMs} ms`), options.requestTimeoutMs);

    request.on('socket', (socket) => {
      // A pooled keep-alive socket is connected already; a new TLS socket counts once its handshake is done,
      // since the request is written only then.
      if (!socket.connecting) {
        connected = true;
        return;
      }
      const event = 'encrypted' in socket && socket.encrypted === true ? 'secureConnect' : 'connect';
      socket.once(event, () => {
        connected = true;
        clearTimeout(dialTimer);
      });
    });
    request.on('error', (error) => failed(describe(error)));
    request.on('response', (response) => {
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxResponseBytes) {
        finish({ kind: 'tooLarge', reason: `the answer has ${declared} bytes, more than the ${options.maxResponseBytes} this client reads` });
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > options.maxResponseBytes) {
          finish({ kind: 'tooLarge', reason: `the answer exceeds the ${options.maxResponseBytes} bytes this client reads` });
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => finish({ kind: 'answered', status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => failed(describe(error)));
      response.on('close', () => {
        if (!response.complete) failed('the connection closed before the whole answer arrived');
      });
    });
    request.end(body);
  });
}
