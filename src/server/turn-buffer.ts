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
/** A piece at least this large is handed on as it is (pieces are never changed), not copied. */
const KEPT_PIECE_BYTES = 16 * 1024;

export class TurnBuffer {
  private readonly ready: Buffer[] = [];
  private chunk: Buffer | null = null;
  /**
   * Bytes of `chunk` in use, from `handedFrom` on not handed on yet (what was is never written again; the chunk
   * is dropped when a turn ends).
   */
  private used = 0;
  private handedFrom = 0;
  private bytes = 0;
  private copiedBytes = 0;
  private nextChunkBytes = MIN_CHUNK_BYTES;
  private scheduled: NodeJS.Immediate | null = null;

  /** `flushTo` gets the turn's bytes, in order, in one call. */
  constructor(private readonly flushTo: (chunks: readonly Buffer[]) => void) {}

  /** Bytes appended and not yet handed on. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /** Takes the pieces (never to be changed: a large one is kept as it is) to hand them on at the end of this turn. */
  append(pieces: readonly Buffer[]): void {
    for (const piece of pieces) {
      if (piece.length < KEPT_PIECE_BYTES) {
        this.copy(piece);
        continue;
      }
      this.handOnChunk();
      this.ready.push(piece);
      this.bytes += piece.length;
    }
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Hands on what is pending now (before a last line and the end of the stream, say). */
  flush(): void {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.handOnChunk();
    this.chunk = null;
    this.nextChunkBytes = Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, this.copiedBytes));
    this.copiedBytes = 0;
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
    this.copiedBytes = 0;
  }

  /** What the chunk holds and was not handed on goes to `ready`, before whatever comes next. */
  private handOnChunk(): void {
    if (this.chunk === null || this.used === this.handedFrom) return;
    this.ready.push(this.chunk.subarray(this.handedFrom, this.used));
    this.handedFrom = this.used;
  }

  private copy(piece: Uint8Array): void {
    this.bytes += piece.length;
    this.copiedBytes += piece.length;
    let from = 0;
    while (from < piece.length) {
      if (this.chunk === null || this.used === this.chunk.length) {
        this.handOnChunk();
        this.chunk = Buffer.allocUnsafe(this.chunk === null ? this.nextChunkBytes : MAX_CHUNK_BYTES);
        this.used = 0;
        this.handedFrom = 0;
      }
      const room = this.chunk.length - this.used;
      const count = Math.min(room, piece.length - from);
      this.chunk.set(count === piece.length ? piece : piece.subarray(from, from + count), this.used);
      this.used += count;
      from += count;
    }
  }
}
