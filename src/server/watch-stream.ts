// One watch stream (an HTTP `/v3/watch` call, an etcd-framed WebSocket, or a watch stream of the WebSocket API):
// the watch IDs it hands out, its requests (create, cancel, progress) and its responses, as etcd's
// serverWatchStream. Responses are made from shared pieces in the stream's encoding (watch-encodings.ts): an
// event's bytes once for every stream that carries it, a revision's header once per stream. The output reports how much is queued toward the consumer: past
// watchLimits.maxStreamPendingBytes the stream is too slow, and the hub cancels its watches with that reason.

import { watchLimits, type WatchLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import { encodeError, parseJsonBody } from '../protocol/json.js';
import { decodeWatchRequest, type WatchRequest, type WatchResponseFields } from '../protocol/json-watch.js';
import { JSON_LINE_WATCH_RESPONSES, type WatchResponseEncoding } from '../protocol/watch-encodings.js';
import type { WatchCreateRequest } from '../protocol/watch.js';
import type { Watch, WatchDelivery, WatchHub, WatchSink } from './watch-hub.js';

/** The watch ID of a progress response that answers a progress request (for the whole stream). */
export const STREAM_PROGRESS_WATCH_ID = -1;
/** The watch ID of the answer to a create that was refused (etcd's mvcc gives -1 with its error). */
export const REFUSED_WATCH_ID = -1;
const PROGRESS_RETRY_MS = 10;

export interface WatchStreamOptions {
  readonly hub: WatchHub;
  readonly header: (revision: number) => ResponseHeader;
  /** Writes one response (its pieces, in order); returns the bytes now queued toward the consumer. */
  readonly write: (pieces: readonly Buffer[]) => number;
  /** How responses are made; JSON lines (`{"result":...}` and a newline) unless given. */
  readonly encoding?: WatchResponseEncoding;
  readonly limits?: Partial<WatchLimits>;
}

export class WatchStream implements WatchSink {
  private readonly watches = new Map<number, { watch: Watch; fragment: boolean }>();
  private nextWatchId = 0;
  private closed = false;
  private progressTimer: NodeJS.Timeout | null = null;
  private openingRevision = -1;
  private opening: Buffer = Buffer.alloc(0);
  private readonly limits: WatchLimits;
  private readonly encoding: WatchResponseEncoding;

  constructor(private readonly options: WatchStreamOptions) {
    this.limits = { ...watchLimits, ...options.limits };
    this.encoding = options.encoding ?? JSON_LINE_WATCH_RESPONSES;
  }

  get watchCount(): number {
    return this.watches.size;
  }

  /** One request's JSON text, as a client sent it: a request that cannot be read gets an error line and changes nothing. */
  handleText(text: string): void {
    let request: WatchRequest;
    try {
      request = decodeWatchRequest(parseJsonBody(text));
    } catch (error) {
      this.refuse(error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', (error as Error).message));
      return;
    }
    this.handle(request);
  }

  /** Writes `{"error":...}` for a request the stream could not take, in order with its other lines. */
  refuse(error: ConclaveError): void {
    if (this.closed) return;
    this.options.write([Buffer.from(`${JSON.stringify({ error: encodeError(error) })}\n`)]);
  }

  handle(request: WatchRequest): void {
    if (this.closed) return;
    if ('createRequest' in request) this.create(request.createRequest);
    else if ('cancelRequest' in request) this.cancel(request.cancelRequest.watchId);
    else this.progress();
  }

  /** The consumer went away: every watch of the stream ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.progressTimer !== null) clearTimeout(this.progressTimer);
    for (const { watch } of this.watches.values()) this.options.hub.cancel(watch);
    this.watches.clear();
  }

  deliver(watch: Watch, delivery: WatchDelivery): boolean {
    if (this.closed) return false;
    if (delivery.type === 'canceled') {
      this.watches.delete(watch.watchId);
      this.respond(delivery.revision, { watchId: watch.watchId, canceled: true, compactRevision: delivery.compactRevision, cancelReason: delivery.reason }, []);
      return true;
    }
    const fragment = this.watches.get(watch.watchId)?.fragment === true;
    const texts = delivery.events.map((event) => this.encoding.event(event));
    let queued = 0;
    if (!fragment) {
      queued = this.respond(delivery.revision, { watchId: watch.watchId }, texts);
    } else {
      for (const [piece, last] of fragments(texts, this.limits.maxWatchResponseBytes)) queued = this.respond(delivery.revision, { watchId: watch.watchId, fragment: !last }, piece);
    }
    return queued <= this.limits.maxStreamPendingBytes;
  }

  private create(request: WatchCreateRequest): void {
    const hub = this.options.hub;
    const asked = request.watchId ?? 0;
    try {
      if (this.watches.size >= this.limits.maxWatchersPerStream) {
        throw new ConclaveError('ErrTooManyWatchers', `maxWatchersPerStream (${this.limits.maxWatchersPerStream})`);
      }
      if (asked !== 0 && this.watches.has(asked)) throw new ConclaveError('ErrDuplicateWatchId', `watch ${asked}`);
      let watchId = asked;
      if (asked === 0) {
        while (this.watches.has(this.nextWatchId)) this.nextWatchId++;
        watchId = this.nextWatchId++;
      }
      // The hub delivers nothing before create() returns, so the created response comes first.
      const watch = hub.create(request, watchId, this);
      this.watches.set(watchId, { watch, fragment: request.fragment === true });
      this.respond(hub.revision, { watchId, created: true }, []);
    } catch (error) {
      // As etcd answers a create it refuses: created and canceled at once, watch ID -1, with the reason.
      const reason = error instanceof ConclaveError ? error.message : String(error);
      this.respond(hub.revision, { watchId: REFUSED_WATCH_ID, created: true, canceled: true, cancelReason: reason }, []);
    }
  }

  private cancel(watchId: number): void {
    const entry = this.watches.get(watchId);
    if (entry === undefined) return;
    this.watches.delete(watchId);
    this.options.hub.cancel(entry.watch);
    this.respond(this.options.hub.revision, { watchId, canceled: true }, []);
  }

  /** Answered once every watch of the stream has caught up, with the revision all of them have seen. */
  private progress(): void {
    if (this.progressTimer !== null || this.closed) return;
    const check = (): void => {
      this.progressTimer = null;
      if (this.closed) return;
      if (!this.options.hub.allSynced(this)) {
        this.progressTimer = setTimeout(check, PROGRESS_RETRY_MS);
        return;
      }
      this.respond(this.options.hub.revision, { watchId: STREAM_PROGRESS_WATCH_ID }, []);
    };
    check();
  }

  private respond(revision: number, fields: WatchResponseFields, events: readonly Buffer[]): number {
    // Every watcher of a revision gets the same header: its bytes are made once.
    if (revision !== this.openingRevision) {
      this.openingRevision = revision;
      this.opening = this.encoding.opening(this.options.header(revision));
    }
    return this.options.write(this.encoding.pieces(this.opening, fields, events));
  }
}

/** Events split into pieces of at most maxBytes of event JSON (an event larger than that goes alone). */
function* fragments(texts: readonly Buffer[], maxBytes: number): Generator<[Buffer[], boolean]> {
  let piece: Buffer[] = [];
  let bytes = 0;
  for (const text of texts) {
    if (piece.length > 0 && bytes + text.length > maxBytes) {
      yield [piece, false];
      piece = [];
      bytes = 0;
    }
    piece.push(text);
    bytes += text.length;
  }
  yield [piece, true];
}
