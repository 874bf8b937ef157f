// One peer's outgoing messages, each already encoded as a one-message frame, bounded by count and by bytes. When full, the newest message is
// refused (the caller counts it): Raft resends whatever matters, and an old message already queued is as good as
// a new one to a peer that is behind.

import { FRAME_OVERHEAD_BYTES } from './frame.js';

export class PeerQueue {
  private records: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.records.length - this.head;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** False (and nothing queued) when the record would exceed either bound. */
  push(record: Uint8Array): boolean {
    if (this.length >= this.maxMessages || this.bytes + record.length > this.maxBytes) return false;
    this.records.push(record);
    this.bytes += record.length;
    return true;
  }

  /**
   * Takes the oldest records that fit together in one frame of at most maxFrameBytes (at least one: every queued
   * record fits alone, the caller refuses larger ones before queueing), with the size of that frame.
   */
  take(maxFrameBytes: number): { readonly records: readonly Uint8Array[]; readonly frameBytes: number } {
    const taken: Uint8Array[] = [];
    let queuedBytes = 0;
    let frameBytes = FRAME_OVERHEAD_BYTES;
    while (this.head < this.records.length) {
      const next = this.records[this.head]!;
      // Each record carries its own version byte; joined, the frame keeps only the first.
      const joinedBytes = frameBytes + next.length - FRAME_OVERHEAD_BYTES;
      if (taken.length > 0 && joinedBytes > maxFrameBytes) break;
      taken.push(next);
      queuedBytes += next.length;
      frameBytes = joinedBytes;
      this.head++;
    }
    this.bytes -= queuedBytes;
    this.compact();
    return { records: taken, frameBytes };
  }

  clear(): void {
    this.records = [];
    this.head = 0;
    this.bytes = 0;
  }

  // Taking from the front by index keeps take() linear; the consumed prefix is cut off once it dominates.
  private compact(): void {
    if (this.head === this.records.length) {
      this.records = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }
}
