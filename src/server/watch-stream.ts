// One watch stream (an HTTP `/v3/watch` call, an etcd-framed WebSocket, or a watch stream of the WebSocket API):
// the watch IDs it hands out, its requests (create, cancel, progress) and its responses, as etcd's
// serverWatchStream. Responses are made from shared pieces in the stream's encoding (watch-encodings.ts): an
// event's bytes once for every stream that carries it (the hub hands all of them the same event object), a
// revision's header once per stream. In the gateway's JSON lines, the events part of a line is also made once per
// delivery (the hub hands every watcher of a group the same one), and the lines of one delivery to several of the
// stream's watches, which differ only by watch ID, are gathered as the hub delivers and made together
// (encodeEventLines) before anything else is written, or once the hub's turn is over (a microtask). The output
// reports how much is queued toward the consumer: past watchLimits.maxStreamPendingBytes the stream is too slow,
// and the hub cancels its watches with that reason.

import { watchLimits, type WatchLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import { encodeError, parseJsonBody } from '../protocol/json.js';
import {
  decodeWatchRequest,
  encodeEventLines,
  encodeResponseClose,
  encodeResponseFields,
  type WatchRequest,
  type WatchResponseFields,
} from '../protocol/json-watch.js';
import type { WatchCreateRequest } from '../protocol/watch.js';
import { JSON_LINE_WATCH_RESPONSES, type WatchResponseEncoding } from '../protocol/watch-encodings.js';
import { LINE_BUFFER_BYTES, lineBuffers } from './line-buffers.js';
import type { Watch, WatchDelivery, WatchHub, WatchSink } from './watch-hub.js';

/** The watch ID of a progress response that answers a progress request (for the whole stream). */
export const STREAM_PROGRESS_WATCH_ID = -1;
/** The watch ID of the answer to a create that was refused (etcd's mvcc gives -1 with its error). */
export const REFUSED_WATCH_ID = -1;
const PROGRESS_RETRY_MS = 10;
/** `,"watch_id":"9007199254740991"`: the longest a watch ID's field can be. */
const MAX_WATCH_ID_FIELD_BYTES = encodeResponseFields({ watchId: Number.MAX_SAFE_INTEGER }).length;

export interface WatchStreamOptions {
  readonly hub: WatchHub;
  readonly header: (revision: number) => ResponseHeader;
  /**
   * Writes whole response lines (one or several, each ending in a newline) given as pieces, in order. The array is
   * reused after the call; the pieces are never changed, so they may be kept.
   */
  readonly write: (pieces: readonly Buffer[]) => void;
  /** Bytes written and not yet taken by the consumer. */
  readonly queuedBytes: () => number;
  /** How responses are made; the gateway's JSON lines (`{"result":...}` and a newline) unless given. */
  readonly encoding?: WatchResponseEncoding;
  readonly limits?: Partial<WatchLimits>;
}

interface StreamWatch {
  readonly watch: Watch;
  readonly fragment: boolean;
  /** Bytes of its `,"watch_id":"7"`, all that its event lines have of their own. */
  readonly idFieldBytes: number;
}

export class WatchStream implements WatchSink {
  private readonly watches = new Map<number, StreamWatch>();
  private nextWatchId = 0;
  private closed = false;
  private progressTimer: NodeJS.Timeout | null = null;
  private openingRevision = -1;
  private opening: Buffer = Buffer.alloc(0);
  /** The delivery whose lines are being gathered, for the watches in runIds; none while runIds is empty. */
  private runDelivery: WatchDelivery | null = null;
  private readonly runIds: number[] = [];
  private runOpening: Buffer = Buffer.alloc(0);
  /** The delivery's events as the end of a line. */
  private runClose: Buffer = Buffer.alloc(0);
  /** What was queued toward the consumer when the run began, and the bytes its lines add. */
  private runQueuedBytes = 0;
  private runBytes = 0;
  private runScheduled = false;
  private readonly line: Buffer[] = [];
  private readonly limits: WatchLimits;
  private readonly encoding: WatchResponseEncoding;
  /** JSON lines: a delivery's lines to several watches are gathered and made together. */
  private readonly gathersLines: boolean;

  constructor(private readonly options: WatchStreamOptions) {
    this.limits = { ...watchLimits, ...options.limits };
    this.encoding = options.encoding ?? JSON_LINE_WATCH_RESPONSES;
    this.gathersLines = this.encoding === JSON_LINE_WATCH_RESPONSES;
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
    this.writeRun();
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
    this.runIds.length = 0;
    this.runDelivery = null;
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
    if (entry !== undefined && !entry.fragment && this.gathersLines) {
      if (delivery !== this.runDelivery) this.startRun(delivery);
      this.runIds.push(watch.watchId);
      this.runBytes += this.runOpening.length + entry.idFieldBytes + this.runClose.length;
      return this.runQueuedBytes + this.runBytes <= this.limits.maxStreamPendingBytes;
    }
    const texts = delivery.events.map((event) => this.encoding.event(event));
    if (entry?.fragment !== true) this.respond(delivery.revision, { watchId: watch.watchId }, texts);
    else for (const [piece, last] of fragments(texts, this.limits.maxWatchResponseBytes)) this.respond(delivery.revision, { watchId: watch.watchId, fragment: !last }, piece);
    return this.options.queuedBytes() <= this.limits.maxStreamPendingBytes;
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
      this.watches.set(watchId, { watch, fragment: request.fragment === true, idFieldBytes: encodeResponseFields({ watchId }).length });
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

  private respond(revision: number, fields: WatchResponseFields, events: readonly Buffer[]): void {
    this.writeRun();
    if (!this.gathersLines) {
      this.options.write(this.encoding.pieces(this.openingOf(revision), fields, events));
      return;
    }
    const line = this.line;
    line[0] = this.openingOf(revision);
    line[1] = encodeResponseFields(fields);
    line[2] = encodeResponseClose(events);
    this.options.write(line);
  }

  /** Every watcher of a revision gets the same header: its bytes are made once. */
  private openingOf(revision: number): Buffer {
    if (revision !== this.openingRevision) {
      this.openingRevision = revision;
      this.opening = this.encoding.opening(this.options.header(revision));
    }
    return this.opening;
  }

  private startRun(delivery: WatchDelivery & { type: 'events' }): void {
    this.writeRun();
    this.runDelivery = delivery;
    this.runOpening = this.openingOf(delivery.revision);
    this.runClose = encodeResponseClose(delivery.events.map((event) => this.encoding.event(event)));
    this.runQueuedBytes = this.options.queuedBytes();
    this.runBytes = 0;
    if (!this.runScheduled) {
      this.runScheduled = true;
      queueMicrotask(() => {
        this.runScheduled = false;
        this.writeRun();
      });
    }
  }

  /** Writes the lines gathered for the current delivery, in pieces that each fit in a pooled line buffer. */
  private writeRun(): void {
    const ids = this.runIds;
    if (ids.length === 0) return;
    this.runDelivery = null;
    if (!this.closed) {
      const linesPerPiece = Math.max(1, Math.floor(LINE_BUFFER_BYTES / (this.runOpening.length + MAX_WATCH_ID_FIELD_BYTES + this.runClose.length)));
      for (let first = 0; first < ids.length; first += linesPerPiece) {
        const piece = ids.length <= linesPerPiece ? ids : ids.slice(first, first + linesPerPiece);
        this.options.write([encodeEventLines(this.runOpening, piece, this.runClose, (bytes) => lineBuffers.take(bytes))]);
      }
    }
    ids.length = 0;
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
