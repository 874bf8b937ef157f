// Watch types, etcd v3's shape (mvccpb.Event, etcdserverpb.WatchRequest / WatchResponse). Byte fields are bytes;
// the JSON gateway codec turns them into base64 and int64 into strings.

import type { KeyRange, KeyValue } from './kv.js';

export type EventType = 'PUT' | 'DELETE';

/**
 * One change to one key. For a DELETE, `kv` holds the key and the deletion's mod_revision only (etcd's tombstone);
 * `prevKv` is the version before the change when the watcher asked for it (and it is not compacted).
 */
export interface WatchEvent {
  readonly type: EventType;
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export type WatchFilter = 'NOPUT' | 'NODELETE';

export interface WatchCreateRequest extends KeyRange {
  /** First revision to deliver; 0 (default) for "after the current one". */
  readonly startRevision?: number;
  /** Periodic progress notifications (an empty response with the current revision) while nothing happens. */
  readonly progressNotify?: boolean;
  readonly filters?: readonly WatchFilter[];
  readonly prevKv?: boolean;
  /** Asked-for watch ID (etcd 3.4 allows choosing it); 0 or absent lets the server pick. */
  readonly watchId?: number;
  /** Split a revision whose events exceed the response size bound into several responses. */
  readonly fragment?: boolean;
}
