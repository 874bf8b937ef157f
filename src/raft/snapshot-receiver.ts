// A follower reassembles a snapshot from chunks in order. Only a chunk at the next expected offset is kept; any
// other answer tells the leader how many bytes we hold, so that it resumes from there (or from zero).

import type { SnapshotChunk, SnapshotMeta } from './types.js';

export interface ChunkOutcome {
  /** The chunk continues the snapshot: its bytes must be written durably. */
  readonly stored: boolean;
  /** The chunk was the last one: the snapshot is whole and must be installed. */
  readonly complete: boolean;
  /** Bytes of this snapshot held after this chunk. */
  readonly receivedBytes: number;
}

export class SnapshotReceiver {
  private incoming: { meta: SnapshotMeta; receivedBytes: number } | null = null;

  reset(): void {
    this.incoming = null;
  }

  accept(chunk: SnapshotChunk): ChunkOutcome {
    const meta = chunk.snapshot;
    const malformed =
      chunk.data.length !== chunk.length ||
      chunk.offset + chunk.length > meta.sizeBytes ||
      chunk.last !== (chunk.offset + chunk.length === meta.sizeBytes);
    if (malformed) return { stored: false, complete: false, receivedBytes: this.heldOf(meta) };
    let incoming = this.incoming;
    if (incoming === null || incoming.meta.index !== meta.index || incoming.meta.term !== meta.term) {
      if (chunk.offset !== 0) return { stored: false, complete: false, receivedBytes: 0 };
      incoming = { meta, receivedBytes: 0 };
      this.incoming = incoming;
    }
    if (chunk.offset !== incoming.receivedBytes) return { stored: false, complete: false, receivedBytes: incoming.receivedBytes };
    incoming.receivedBytes += chunk.length;
    if (chunk.last) this.incoming = null;
    return { stored: true, complete: chunk.last, receivedBytes: chunk.offset + chunk.length };
  }

  private heldOf(meta: SnapshotMeta): number {
    const incoming = this.incoming;
    return incoming !== null && incoming.meta.index === meta.index && incoming.meta.term === meta.term ? incoming.receivedBytes : 0;
  }
}
