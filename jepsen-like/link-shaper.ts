// One direction of a connection through a front door, shaped by the link's fault (proxy.ts): added latency with
// jitter, and loss of whole WebSocket data frames, so that a member sees late or missing Raft messages, never a
// corrupt stream. The fault is looked up piece by piece, so that one set or cleared while the connection is open
// applies at once; the stream is read as frames from its first byte either way, so that loss beginning mid-stream
// still starts at a frame boundary.
//
// Delay keeps order: each piece is released no earlier than the one before it, so jitter spreads arrivals without
// reordering bytes (TCP would not reorder them either). Loss is decided per message: a data frame that starts a
// message is dropped with the fault's probability, and its continuation fragments share that fate, so a
// fragmented message goes whole or not at all. Control frames (close, ping, pong) always pass, so the connection
// stays open and its liveness checks see it alive while its messages go missing.

import { FrameReader, isControl, OPCODE, type FramePiece } from './ws-frames.js';

export interface LinkFault {
  /** Latency added to every byte, plus up to `jitterMs` more drawn per piece. */
  readonly delayMs: number;
  readonly jitterMs: number;
  /** Chance that a WebSocket data message is dropped, in [0, 1]. */
  readonly lossProbability: number;
}

/** What shapers counted, summed over a door's connections. */
export interface ShapeCounts {
  framesDropped: number;
  framesDelayed: number;
}

export interface ShaperOptions {
  /** Hands bytes on to the other side (which applies its own backpressure to the source). */
  readonly write: (bytes: Buffer) => void;
  /** The link's fault now (null: none). */
  readonly fault: () => LinkFault | null;
  /** Draws in [0, 1) for loss and jitter. */
  readonly random: () => number;
  readonly counts: ShapeCounts;
  /** The stream begins with an HTTP response head (the listener's side of an upgrade): frames start after a 101. */
  readonly httpHead: boolean;
  /** Delayed bytes held above which `onBacklog(true)` asks the source to pause, until they are released. */
  readonly maxDelayedBytes: number;
  readonly onBacklog: (over: boolean) => void;
}

/** The longest HTTP response head read before the stream is taken as not being an upgrade. */
const MAX_HTTP_HEAD_BYTES = 16 * 1024;

export class LinkShaper {
  private readonly reader = new FrameReader();
  private head: Buffer | null;
  private dropFrame = false;
  private dropMessage = false;
  private readonly delayed: { at: number; bytes: Buffer }[] = [];
  private delayedBytes = 0;
  private lastReleaseAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: ShaperOptions) {
    this.head = options.httpHead ? Buffer.alloc(0) : null;
  }

  push(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    if (this.head !== null) {
      this.head = Buffer.concat([this.head, chunk]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0 && this.head.length < MAX_HTTP_HEAD_BYTES) return;
      const upgraded = end >= 0 && /^HTTP\/1\.1 101 /.test(this.head.subarray(0, 13).toString('latin1'));
      if (!upgraded) this.reader.passRaw();
      const headBytes = end < 0 ? this.head.length : end + 4;
      const [head, rest] = [this.head.subarray(0, headBytes), this.head.subarray(headBytes)];
      this.head = null;
      this.forward(head, false);
      if (rest.length > 0) this.push(rest);
      return;
    }
    for (const piece of this.reader.push(chunk)) {
      if (!this.drops(piece)) this.forward(piece.bytes, piece.kind === 'header');
    }
  }

  /** Drops what is held back and stops. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.delayed.length = 0;
  }

  private drops(piece: FramePiece): boolean {
    if (piece.kind === 'raw') return false;
    if (piece.kind === 'payload') return this.dropFrame;
    const { opcode } = piece.header;
    if (isControl(opcode)) this.dropFrame = false;
    else {
      if (opcode !== OPCODE.continuation) {
        const p = this.options.fault()?.lossProbability ?? 0;
        this.dropMessage = p > 0 && this.options.random() < p;
      }
      this.dropFrame = this.dropMessage;
      if (this.dropFrame) this.options.counts.framesDropped++;
    }
    return this.dropFrame;
  }

  private forward(bytes: Buffer, frameStart: boolean): void {
    const fault = this.options.fault();
    const delayMs = fault === null || fault.delayMs + fault.jitterMs <= 0 ? 0 : fault.delayMs + this.options.random() * fault.jitterMs;
    if (delayMs <= 0 && this.delayed.length === 0) {
      this.options.write(bytes);
      return;
    }
    if (frameStart && delayMs > 0) this.options.counts.framesDelayed++;
    const at = Math.max(this.lastReleaseAt, Date.now() + delayMs);
    this.lastReleaseAt = at;
    this.delayed.push({ at, bytes });
    this.delayedBytes += bytes.length;
    if (this.delayedBytes > this.options.maxDelayedBytes) this.options.onBacklog(true);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.delayed.length === 0) return;
    this.timer = setTimeout(() => this.release(), Math.max(0, this.delayed[0]!.at - Date.now()));
  }

  private release(): void {
    this.timer = null;
    const now = Date.now();
    const wasOver = this.delayedBytes > this.options.maxDelayedBytes;
    while (this.delayed.length > 0 && this.delayed[0]!.at <= now) {
      const { bytes } = this.delayed.shift()!;
      this.delayedBytes -= bytes.length;
      this.options.write(bytes);
    }
    if (wasOver && this.delayedBytes <= this.options.maxDelayedBytes) this.options.onBacklog(false);
    this.schedule();
  }
}
