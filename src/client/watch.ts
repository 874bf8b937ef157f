// A watch that outlives its connection: an async iterator over the responses of `POST /v3/watch` that, when the
// stream breaks (the member stopped, restarted or was cut off), opens it again on the next endpoint from the
// revision after the last one it delivered. Every event is delivered once, in revision order, without a gap: a
// revision's events arrive in one response, and the iterator asks for nothing before the next revision. A watch
// whose next revision was compacted meanwhile ends with ErrCompacted, naming the compact revision.

import http from 'node:http';
import https from 'node:https';
import { WATCH_PATH } from '../protocol/api.js';
import { ConclaveError } from '../protocol/errors.js';
import { decodeError } from '../protocol/json.js';
import { decodeWatchResponse, type WatchResponse } from '../protocol/json-watch.js';
import type { ResponseHeader } from '../protocol/kv.js';
import type { WatchEvent, WatchFilter } from '../protocol/watch.js';
import { clientLimits } from '../limits.js';
import { encodeBase64 } from '../protocol/base64.js';
import { keyRange, type Bytes, type RangeShape } from './keys.js';

export interface WatchOptions extends RangeShape {
  /** First revision to deliver (default: the one after the member's current revision when the watch starts). */
  readonly startRevision?: number;
  readonly prevKv?: boolean;
  readonly filters?: readonly WatchFilter[];
  /** Ask the member for periodic progress responses (they advance the resume point, and are not yielded). */
  readonly progressNotify?: boolean;
  /** Ends the watch (the iterator returns). */
  readonly signal?: AbortSignal;
}

export interface WatchBatch {
  readonly header: ResponseHeader;
  /** The events of one revision (a progress response carries none and is not yielded). */
  readonly events: readonly WatchEvent[];
}

export interface WatchConnection {
  readonly endpoints: () => readonly string[];
  readonly dialTimeoutMs: number;
}

type Line = { readonly response: WatchResponse } | { readonly broken: string };

/** One watch stream on one endpoint: its response lines, then `broken` when it ends. */
function openStream(endpoint: string, body: string, dialTimeoutMs: number, signal: AbortSignal | undefined): { lines: AsyncGenerator<Line>; close: () => void } {
  const url = new URL(WATCH_PATH, endpoint);
  const transport = url.protocol === 'https:' ? https : http;
  const queue: Line[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  const push = (line: Line) => {
    if (ended) return;
    if ('broken' in line) ended = true;
    queue.push(line);
    wake?.();
  };
  const request = transport.request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, timeout: dialTimeoutMs });
  request.on('timeout', () => {
    if (request.socket?.connecting !== false) request.destroy(new Error(`not connected within ${dialTimeoutMs} ms`));
  });
  request.on('socket', (socket) => socket.once('connect', () => request.setTimeout(0)));
  request.on('error', (error) => push({ broken: error.message }));
  request.on('response', (response) => {
    request.setTimeout(0);
    if (response.statusCode !== 200) {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => push({ broken: decodeError(response.statusCode ?? 0, safeJson(text)).message }));
      return;
    }
    let rest = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const part of parts) {
        if (part === '') continue;
        const decoded = decodeWatchResponse(safeJson(part));
        if ('error' in decoded) push({ broken: `the member refused the watch: ${JSON.stringify(decoded.error)}` });
        else push({ response: decoded });
      }
    });
    response.on('close', () => push({ broken: 'the watch stream closed' }));
  });
  // The body ends after the create request: etcd 3.4's gateway starts its stream only once the body is complete, and
  // the watch lives on until the call is closed (as on Conclave). This client sends nothing more on the call.
  request.end(body);
  const close = () => request.destroy();
  signal?.addEventListener('abort', close, { once: true });
  async function* lines(): AsyncGenerator<Line> {
    try {
      for (;;) {
        while (queue.length > 0) {
          const line = queue.shift() as Line;
          yield line;
          if ('broken' in line) return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      signal?.removeEventListener('abort', close);
      close();
    }
  }
  return { lines: lines(), close };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;

/** The resuming watch: see the top of the file. */
export async function* watchStream(connection: WatchConnection, key: Bytes, options: WatchOptions = {}): AsyncGenerator<WatchBatch> {
  const range = keyRange(key, options);
  let next = options.startRevision ?? 0;
  let retryMs = RETRY_MIN_MS;
  let attempt = 0;
  const failures: string[] = [];
  const aborted = (): boolean => options.signal?.aborted === true;
  while (!aborted()) {
    const endpoints = connection.endpoints();
    const endpoint = endpoints[attempt % endpoints.length] as string;
    const create: Record<string, unknown> = { key: encodeBase64(range.key) };
    if (range.rangeEnd !== undefined && range.rangeEnd.length > 0) create.range_end = encodeBase64(range.rangeEnd);
    if (next !== 0) create.start_revision = String(next);
    if (options.prevKv === true) create.prev_kv = true;
    if (options.progressNotify === true) create.progress_notify = true;
    if (options.filters !== undefined && options.filters.length > 0) create.filters = options.filters;
    const stream = openStream(endpoint, JSON.stringify({ create_request: create }), connection.dialTimeoutMs, options.signal);
    let broken = '';
    for await (const line of stream.lines) {
      if ('broken' in line) {
        broken = line.broken;
        break;
      }
      const { response } = line;
      if (response.canceled === true) {
        stream.close();
        if ((response.compactRevision ?? 0) > 0) {
          throw new ConclaveError('ErrCompacted', `watch from revision ${next}: compacted through ${response.compactRevision}; watch again from ${(response.compactRevision ?? 0) + 1}`);
        }
        throw new ConclaveError('ErrInvalidField', `the member cancelled the watch: ${response.cancelReason ?? ''}`);
      }
      retryMs = RETRY_MIN_MS;
      failures.length = 0;
      if (response.created === true) {
        if (next === 0) next = response.header.revision + 1;
        continue;
      }
      const events = response.events.filter((event) => event.kv.modRevision >= next);
      if (events.length === 0) {
        // A progress response: every revision up to it has been seen.
        if (response.events.length === 0 && response.header.revision >= next) next = response.header.revision + 1;
        continue;
      }
      next = (events[events.length - 1] as WatchEvent).kv.modRevision + 1;
      yield { header: response.header, events };
    }
    if (aborted()) return;
    failures.push(`${endpoint} (${broken})`);
    attempt++;
    if (failures.length > clientLimits.maxWatchReconnects) {
      throw new ConclaveError('ErrUnreachable', `the watch could not be resumed: ${failures.slice(-endpoints.length).join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
    retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
  }
}
