// Buffers for watch response lines, reused once the socket has taken what was written in them. A member writes
// hundreds of megabytes of lines a second at full fan-out, and memory fresh from the allocator costs more to
// touch (page faults, zeroing) than the lines cost to make; a reused buffer is already in place. A buffer that
// is never given back (a WebSocket, a test) is simply collected.

import { watchLimits } from '../limits.js';

/** Size of each pooled buffer: a piece of lines up to this size is made in one. */
export const LINE_BUFFER_BYTES = 256 * 1024;
/**
 * Smaller requests get memory of their own size: a slow consumer's queue is bounded in bytes of lines, and a
 * pooled buffer holds at most four times what it carries.
 */
const MIN_POOLED_BYTES = LINE_BUFFER_BYTES / 4;

export class LineBufferPool {
  private readonly free: Buffer[] = [];
  /** The memory of the pool's buffers that are out, so that only those come back into it, once each. */
  private readonly lent = new WeakSet<ArrayBufferLike>();

  constructor(private readonly maxPooledBytes: number) {}

  /** A buffer of `bytes` (a pooled one when it fits in one). */
  take(bytes: number): Buffer {
    if (bytes > LINE_BUFFER_BYTES || bytes < MIN_POOLED_BYTES) return Buffer.allocUnsafe(bytes);
    const whole = this.free.pop() ?? Buffer.allocUnsafeSlow(LINE_BUFFER_BYTES);
    this.lent.add(whole.buffer);
    return whole.subarray(0, bytes);
  }

  /** Gives back a buffer from take() (or a piece of one) once nothing reads it any more; others are ignored. */
  give(piece: Buffer): void {
    if (!this.lent.delete(piece.buffer) || (this.free.length + 1) * LINE_BUFFER_BYTES > this.maxPooledBytes) return;
    this.free.push(Buffer.from(piece.buffer, 0, LINE_BUFFER_BYTES));
  }
}

export const lineBuffers = new LineBufferPool(watchLimits.maxPooledLineBufferBytes);
