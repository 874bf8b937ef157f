// The events of revisions, read back from the event records ('r', in revision order): what watches deliver, live
// (one revision just applied, by point reads) or replayed (a span of past revisions, a page at a time). Event
// records never change once written; only compaction removes those below the compact revision.

import type { KeyValue } from '../protocol/kv.js';
import type { WatchEvent } from '../protocol/watch.js';
import type { StateReader } from './backend.js';
import { eventKey, eventRevision, revisionStart, successor } from './kv-layout.js';
import { decodeEvent, type EventRecord } from './kv-records.js';

/** One event as recorded, with where its key's previous version is (to resolve prev_kv only when asked for). */
export interface RecordedEvent {
  readonly event: WatchEvent;
  readonly prevRevision: number;
  readonly prevSub: number;
}

export interface RevisionEvents {
  readonly revision: number;
  readonly events: readonly RecordedEvent[];
}

function recorded(revision: number, record: EventRecord): RecordedEvent {
  const kv: KeyValue =
    record.type === 'put'
      ? { key: record.key, createRevision: record.createRevision, modRevision: revision, version: record.version, value: record.value, lease: record.lease }
      : { key: record.key, createRevision: 0, modRevision: revision, version: 0, value: new Uint8Array(0), lease: 0 };
  return { event: { type: record.type === 'put' ? 'PUT' : 'DELETE', kv }, prevRevision: record.prevRevision, prevSub: record.prevSub };
}

/** The events of one revision, by point reads (synchronous); empty when the revision wrote nothing. */
export function eventsOfRevision(reader: StateReader, revision: number): RevisionEvents {
  const events: RecordedEvent[] = [];
  for (let sub = 0; ; sub++) {
    const bytes = reader.get(eventKey(revision, sub));
    if (bytes === undefined) break;
    events.push(recorded(revision, decodeEvent(bytes)));
  }
  return { revision, events };
}

/**
 * The events of revisions [from, through], in order, grouped by revision, `pageRows` records per backend call.
 * `sink` may stop the walk by returning false.
 */
export async function replayEvents(
  reader: StateReader,
  from: number,
  through: number,
  pageRows: number,
  sink: (events: RevisionEvents) => boolean,
): Promise<void> {
  if (from > through) return;
  const end = revisionStart(through + 1);
  let start = revisionStart(from);
  let revision = -1;
  let group: RecordedEvent[] = [];
  for (;;) {
    const rows = await reader.range({ start, end, limit: pageRows });
    for (const row of rows) {
      const at = eventRevision(row.key).revision;
      if (at !== revision) {
        if (group.length > 0 && !sink({ revision, events: group })) return;
        revision = at;
        group = [];
      }
      group.push(recorded(at, decodeEvent(row.value)));
    }
    if (rows.length < pageRows) break;
    start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
  }
  if (group.length > 0) sink({ revision, events: group });
}

/** The version before an event (prev_kv), or undefined for a key's first version or a compacted one. */
export function previousVersion(reader: StateReader, recordedEvent: RecordedEvent): KeyValue | undefined {
  if (recordedEvent.prevRevision === 0) return undefined;
  const bytes = reader.get(eventKey(recordedEvent.prevRevision, recordedEvent.prevSub));
  if (bytes === undefined) return undefined;
  const record = decodeEvent(bytes);
  if (record.type !== 'put') return undefined;
  return recorded(recordedEvent.prevRevision, record).event.kv;
}
