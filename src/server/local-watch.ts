// A watch for the application that embeds a member: the hub's deliveries as an async iterator, with no wire in
// between. The events queued for a consumer that does not keep up are bounded (watchLimits.maxStreamPendingBytes,
// counted as keys and values), as a stream's are: beyond it the watch ends with ErrWatchCanceled and the reason.

import { watchLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import type { WatchCreateRequest, WatchEvent } from '../protocol/watch.js';
import type { Member } from './member.js';
import type { WatchDelivery, WatchSink } from './watch-hub.js';

export interface LocalWatchBatch {
  readonly header: ResponseHeader;
  /** The events of one revision. */
  readonly events: readonly WatchEvent[];
}

const EVENT_OVERHEAD_BYTES = 64;

function sizeOf(events: readonly WatchEvent[]): number {
  let bytes = 0;
  for (const e of events) bytes += EVENT_OVERHEAD_BYTES + e.kv.key.length + e.kv.value.length + (e.prevKv === undefined ? 0 : e.prevKv.key.length + e.prevKv.value.length);
  return bytes;
}

/** Throws ConclaveError for a request the hub refuses; ends with ErrCompacted when the start revision is compacted. */
export async function* localWatch(member: Member, request: WatchCreateRequest, signal?: AbortSignal): AsyncGenerator<LocalWatchBatch> {
  const queue: { readonly delivery: WatchDelivery; readonly bytes: number }[] = [];
  let queuedBytes = 0;
  let wake: (() => void) | null = null;
  const sink: WatchSink = {
    deliver(_watch, delivery) {
      const bytes = delivery.type === 'events' ? sizeOf(delivery.events) : 0;
      queue.push({ delivery, bytes });
      queuedBytes += bytes;
      wake?.();
      return queuedBytes <= watchLimits.maxStreamPendingBytes;
    },
  };
  const watch = member.watches.create(request, 0, sink);
  const aborted = () => wake?.();
  signal?.addEventListener('abort', aborted);
  try {
    for (;;) {
      if (signal?.aborted === true) return;
      const next = queue.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        continue;
      }
      const { delivery, bytes } = next;
      if (delivery.type === 'canceled') {
        throw new ConclaveError(delivery.compactRevision > 0 ? 'ErrCompacted' : 'ErrWatchCanceled', delivery.reason);
      }
      queuedBytes -= bytes;
      // A progress notification: nothing for the application.
      if (delivery.events.length === 0) continue;
      yield { header: member.header(delivery.revision), events: delivery.events };
    }
  } finally {
    signal?.removeEventListener('abort', aborted);
    member.watches.cancel(watch);
  }
}
