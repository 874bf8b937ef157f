// The bytes a watch stream writes in one turn of the event loop, copied into large chunks as they come and handed
// on together when the turn ends: a revision reaches thousands of watchers of one stream at once, and one socket
// write of all their lines costs far less than a write, or an array of pieces to join, per line.

/**
 * Sizes of the chunks lines are copied into (a line longer than the chunk spans several). A turn's first chunk is
 * as large as the last turn needed, within these: a quiet stream takes small ones from Node's shared buffer pool
 * and holds none between turns, a busy one takes 64 KiB ones (larger ones cost more to allocate than they save).
 */
const MIN_CHUNK_BYTES = 1024;
const MAX_CHUNK_BYTES = 64 * 1024;

export class TurnBuffer {
  private readonly ready: Buffer[] = [];
  private chunk: Buffer | null = null;
  /** Bytes of `chunk` in use (it is dropped when a turn ends: what was handed on is never written again). */
  private used = 0;
  private bytes = 0;
  private nextChunkBytes = MIN_CHUNK_BYTES;
  private scheduled: NodeJS.Immediate | null = null;

  /** `flushTo` gets the turn's bytes, in order, in one call. */
  constructor(private readonly flushTo: (chunks: readonly Buffer[]) => void) {}

  /** Bytes appended and not yet handed on. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /** Copies the pieces in (they are read during the call only); they are handed on at the end of this turn. */
  append(pieces: readonly Uint8Array[]): void {
    for (const piece of pieces) this.copy(piece);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Hands on what is pending now (before a last line and the end of the stream, say). */
  flush(): void {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    if (this.chunk !== null && this.used > 0) this.ready.push(this.chunk.subarray(0, this.used));
    this.chunk = null;
    this.nextChunkBytes = Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, this.bytes));
    if (this.ready.length === 0) return;
    const chunks = this.ready.splice(0);
    this.bytes = 0;
    this.flushTo(chunks);
  }

  /** Drops what is pending (the consumer went away). */
  discard(): void {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.ready.length = 0;
    this.chunk = null;
    this.bytes = 0;
  }

  private copy(piece: Uint8Array): void {
    this.bytes += piece.length;
    let from = 0;
    while (from < piece.length) {
      if (this.chunk === null || this.used === this.chunk.length) {
        if (this.chunk !== null) this.ready.push(this.chunk);
        this.chunk = Buffer.allocUnsafe(this.chunk === null ? this.nextChunkBytes : MAX_CHUNK_BYTES);
        this.used = 0;
      }
      const room = this.chunk.length - this.used;
      const count = Math.min(room, piece.length - from);
      this.chunk.set(count === piece.length ? piece : piece.subarray(from, from + count), this.used);
      this.used += count;
      from += count;
    }
  }
}
