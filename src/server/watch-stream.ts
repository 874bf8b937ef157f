// One watch stream (an HTTP `/v3/watch` call today, a WebSocket connection's watches later): the watch IDs it
// hands out, its requests (create, cancel, progress) and its responses, as etcd's serverWatchStream. Responses
// are lines in the gateway's JSON; an event's bytes are made once for every stream that carries it (the hub hands
// all of them the same event object), a revision's header once per stream, and the events part of a line once
// per delivery (the hub hands every watcher of a group the same one), so a line costs only its watch ID, which
// each watch keeps encoded. The output reports how much is queued toward the consumer: past
// watchLimits.maxStreamPendingBytes the stream is too slow, and the hub cancels its watches with that reason.

import { watchLimits, type WatchLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import { encodeError, parseJsonBody } from '../protocol/json.js';
import {
  decodeWatchRequest,
  encodeResponseClose,
  encodeResponseFields,
  encodeResponseOpening,
  encodeWatchEventBytes,
  type WatchRequest,
  type WatchResponseFields,
} from '../protocol/json-watch.js';
import type { WatchCreateRequest, WatchEvent } from '../protocol/watch.js';
import type { Watch, WatchDelivery, WatchHub, WatchSink } from './watch-hub.js';

/** The watch ID of a progress response that answers a progress request (for the whole stream). */
export const STREAM_PROGRESS_WATCH_ID = -1;
/** The watch ID of the answer to a create that was refused (etcd's mvcc gives -1 with its error). */
export const REFUSED_WATCH_ID = -1;
const PROGRESS_RETRY_MS = 10;

const EVENT_BYTES = new WeakMap<WatchEvent, Buffer>();

function eventBytes(event: WatchEvent): Buffer {
  let bytes = EVENT_BYTES.get(event);
  if (bytes === undefined) EVENT_BYTES.set(event, (bytes = encodeWatchEventBytes(event)));
  return bytes;
}

export interface WatchStreamOptions {
  readonly hub: WatchHub;
  readonly header: (revision: number) => ResponseHeader;
  /**
   * Writes one response line (its pieces, in order, newline included; read during the call only, the array is
   * reused); returns the bytes now queued toward the consumer.
   */
  readonly write: (pieces: readonly Buffer[]) => number;
  readonly limits?: Partial<WatchLimits>;
}

interface StreamWatch {
  readonly watch: Watch;
  readonly fragment: boolean;
  /** `,"watch_id":"7"`: all that its event lines have of their own. */
  readonly idField: Buffer;
}

export class WatchStream implements WatchSink {
  private readonly watches = new Map<number, StreamWatch>();
  private nextWatchId = 0;
  private closed = false;
  private progressTimer: NodeJS.Timeout | null = null;
  private openingRevision = -1;
  private opening: Buffer = Buffer.alloc(0);
  /** The last delivery's events, encoded as the end of a line: the next watcher of its group ends its line so. */
  private lastDelivery: WatchDelivery | null = null;
  private lastClose: Buffer = Buffer.alloc(0);
  private readonly line: Buffer[] = [];
  private readonly limits: WatchLimits;

  constructor(private readonly options: WatchStreamOptions) {
    this.limits = { ...watchLimits, ...options.limits };
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
    const entry = this.watches.get(watch.watchId);
    let queued = 0;
    if (entry?.fragment !== true) {
      if (delivery !== this.lastDelivery) {
        this.lastDelivery = delivery;
        this.lastClose = encodeResponseClose(delivery.events.map(eventBytes));
      }
      queued = this.writeLine(delivery.revision, entry?.idField ?? encodeResponseFields({ watchId: watch.watchId }), this.lastClose);
    } else {
      const texts = delivery.events.map(eventBytes);
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
      this.watches.set(watchId, { watch, fragment: request.fragment === true, idField: encodeResponseFields({ watchId }) });
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
    return this.writeLine(revision, encodeResponseFields(fields), encodeResponseClose(events));
  }

  private writeLine(revision: number, fields: Buffer, close: Buffer): number {
    // Every watcher of a revision gets the same header: its bytes are made once.
    if (revision !== this.openingRevision) {
      this.openingRevision = revision;
      this.opening = encodeResponseOpening(this.options.header(revision));
    }
    const line = this.line;
    line[0] = this.opening;
    line[1] = fields;
    line[2] = close;
    return this.options.write(line);
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
