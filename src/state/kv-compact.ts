// Compaction at revision c: every record superseded at c goes (the event and history records of each version
// older than a key's latest one at or below c, and tombstones at or below c); each live key keeps its latest
// version at or below c, so reads at c and after see exactly what they saw before.
//
// Only keys written since the previous compaction p can hold such records: any other key kept one version at p.
// So compaction walks the events in (p, c] in revision order, and each event's prev pointer names the one record
// of its key at or below p. All reads happen before the first delete: the backend merges staged writes into every
// range it serves, so ranging after staging many deletes would cost more with each page.

import type { StateWriter } from './backend.js';
import { eventKey, eventRevision, historyKey, keyName, revisionStart, successor } from './kv-layout.js';
import { decodeEvent } from './kv-records.js';

interface RecordRef {
  readonly key: Uint8Array;
  readonly revision: number;
  readonly sub: number;
}

export async function compactHistory(writer: StateWriter, previous: number, at: number, pageRows: number): Promise<void> {
  const doomed: RecordRef[] = [];
  // The latest record of each key written in (previous, at], as far as the walk has gone.
  const latest = new Map<string, RecordRef & { readonly tombstone: boolean }>();
  let start = revisionStart(previous + 1);
  const end = revisionStart(at + 1);
  for (;;) {
    const rows = await writer.range({ start, end, limit: pageRows });
    for (const row of rows) {
      const { revision, sub } = eventRevision(row.key);
      const event = decodeEvent(row.value);
      const name = keyName(event.key);
      const before = latest.get(name);
      if (before !== undefined) doomed.push(before);
      else if (event.prevRevision !== 0 && event.prevRevision <= previous) doomed.push({ key: event.key, revision: event.prevRevision, sub: event.prevSub });
      latest.set(name, { key: event.key, revision, sub, tombstone: event.type === 'delete' });
    }
    if (rows.length < pageRows) break;
    start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
  }
  for (const record of latest.values()) if (record.tombstone) doomed.push(record);
  for (const record of doomed) {
    writer.delete(eventKey(record.revision, record.sub));
    writer.delete(historyKey(record.key, record.revision, record.sub));
  }
}
