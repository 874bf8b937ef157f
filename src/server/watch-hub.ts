// The member's watches. A watcher starts *unsynced* when it asks for past revisions: it replays them from the
// store's event records, in bounded responses, until it has caught up with the revision the hub has dispatched,
// and then joins the *synced* watchers, which get each applied revision's events as it is applied. Events are only
// those of applied revisions (applied entries are committed), so a watcher never sees one that is rolled back.
//
// Fan-out: the events of a revision are read once, and every watcher gets the same event objects (with prev_kv,
// the same second set), so a stream can encode an event once for all its watchers. Synced watchers that ask for
// the same thing (span, filters, prev_kv) form a group, matched once per revision and handed one delivery object,
// so that a stream's lines for them differ only by watch ID (ten thousand watchers of one prefix cost one match
// and no object each). Single-key groups are found by a map lookup; range groups are tested one by one (there
// are as many as distinct ranges watched, not as many as watchers).
//
// A watcher is delivered to through its sink; a sink that reports its consumer too far behind gets the watcher
// cancelled, with a reason (nothing is buffered here). A compacted start revision cancels the watcher with the
// compact revision, as etcd does.

import { watchLimits, type WatchLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { KeyValue } from '../protocol/kv.js';
import type { WatchCreateRequest, WatchEvent } from '../protocol/watch.js';
import { eventsOfRevision, previousVersion, type KvStore, type RecordedEvent, type StateReader } from '../state/index.js';
import { keyName, spanContains, spanOf, type Span } from '../state/kv-layout.js';

export type WatchDelivery =
  | { readonly type: 'events'; readonly revision: number; readonly events: readonly WatchEvent[] }
  | { readonly type: 'canceled'; readonly revision: number; readonly reason: string; readonly compactRevision: number };

export interface WatchSink {
  /**
   * Takes one response for `watch`; false when the consumer is too far behind (the hub cancels the watch). A
   * cancellation is always taken (it is the last response of its watch).
   */
  deliver(watch: Watch, delivery: WatchDelivery): boolean;
}

/** A watcher's handle: what the stream that created it knows it by. */
export interface Watch {
  readonly watchId: number;
  readonly sink: WatchSink;
}

interface Watcher extends Watch {
  readonly span: Span;
  /** What its group is known by: watchers with the same one want the same events. */
  readonly groupKey: string;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
  /** The first revision it asked for (a future one is allowed: nothing before it is delivered). */
  readonly from: number;
  /** While unsynced, the next revision it has not seen; a synced watcher has seen every revision dispatched. */
  next: number;
  state: 'unsynced' | 'synced' | 'canceled';
  /** Whether anything reached it since the last periodic progress notification. */
  deliveredSinceProgress: boolean;
}

/** Synced watchers that want the same events: what they want is that of any of them. */
interface WatchGroup {
  readonly span: Span;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly watchers: Set<Watcher>;
}

export interface WatchHubOptions {
  readonly store: KvStore;
  /** The applied state (it changes when a snapshot is installed). */
  readonly reader: () => StateReader;
  readonly limits?: Partial<WatchLimits>;
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly groups = new Map<string, WatchGroup>();
  /** The single-key groups, by key name. */
  private readonly byKey = new Map<string, Set<WatchGroup>>();
  private readonly ranged = new Set<WatchGroup>();
  private readonly limits: WatchLimits;
  /** Every revision up to this one has been dispatched to the synced watchers. */
  private dispatched: number;

  constructor(private readonly options: WatchHubOptions) {
    this.limits = { ...watchLimits, ...options.limits };
    this.dispatched = options.store.revision;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** The revision every synced watcher has seen. */
  get revision(): number {
    return this.dispatched;
  }

  /**
   * Starts a watcher; its events go to `sink` from now on (replayed ones first), none before this returns. Throws
   * ConclaveError for a bad request or ErrTooManyWatchers; a compacted start revision cancels it through the sink.
   */
  create(request: WatchCreateRequest, watchId: number, sink: WatchSink): Watch {
    if (request.key.length === 0) throw new ConclaveError('ErrEmptyKey');
    if (this.watchers.size >= this.limits.maxWatchers) throw new ConclaveError('ErrTooManyWatchers', `maxWatchers (${this.limits.maxWatchers})`);
    const start = request.startRevision ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) throw new ConclaveError('ErrInvalidField', `start_revision ${String(start)}`);
    const filters = request.filters ?? [];
    const span = spanOf(request);
    const prevKv = request.prevKv === true;
    const noPut = filters.includes('NOPUT');
    const noDelete = filters.includes('NODELETE');
    const watcher: Watcher = {
      watchId,
      sink,
      span,
      groupKey: groupKeyOf(span, prevKv, noPut, noDelete),
      prevKv,
      noPut,
      noDelete,
      progressNotify: request.progressNotify === true,
      from: start === 0 ? this.dispatched + 1 : start,
      next: start === 0 ? this.dispatched + 1 : start,
      state: 'unsynced',
      deliveredSinceProgress: false,
    };
    this.watchers.add(watcher);
    if (watcher.next > this.dispatched) this.sync(watcher);
    else void this.catchUp(watcher);
    return watcher;
  }

  /** Ends a watcher (its stream cancelled it or went away); nothing more is delivered for it. */
  cancel(watch: Watch): void {
    const watcher = watch as Watcher;
    if (watcher.state === 'canceled') return;
    if (watcher.state === 'synced') this.unsync(watcher);
    watcher.state = 'canceled';
    this.watchers.delete(watcher);
  }

  /** Dispatches the revisions applied since the last call, up to `revision`, to the synced watchers. */
  notify(revision: number): void {
    if (this.watchers.size === 0) {
      // Nobody to tell: the events need not even be read.
      this.dispatched = Math.max(this.dispatched, revision);
      return;
    }
    const reader = this.options.reader();
    while (this.dispatched < revision) {
      const next = this.dispatched + 1;
      const { events } = eventsOfRevision(reader, next);
      this.dispatched = next;
      if (events.length > 0) this.dispatch(reader, next, events);
    }
  }

  /**
   * The backend was replaced (a snapshot was installed): the synced watchers catch up from the event records of
   * the new state (or are cancelled if those are compacted), as watchers that start in the past do.
   */
  resync(): void {
    const target = this.options.store.revision;
    const synced = [...this.watchers].filter((watcher) => watcher.state === 'synced');
    for (const watcher of synced) {
      this.unsync(watcher);
      watcher.state = 'unsynced';
      watcher.next = Math.max(watcher.from, this.dispatched + 1);
    }
    this.dispatched = target;
    for (const watcher of synced) {
      if (watcher.next > this.dispatched) this.sync(watcher);
      else void this.catchUp(watcher);
    }
  }

  /** Whether every watcher of `sink` is synced: a progress response then carries `revision`. */
  allSynced(sink: WatchSink): boolean {
    for (const watcher of this.watchers) if (watcher.sink === sink && watcher.state !== 'synced') return false;
    return true;
  }

  /** Periodic progress: each synced watcher that asked for it and got nothing since the last call gets the revision. */
  progressTick(): void {
    for (const watcher of [...this.watchers]) {
      if (watcher.state !== 'synced' || !watcher.progressNotify) continue;
      if (!watcher.deliveredSinceProgress) this.deliver(watcher, { type: 'events', revision: this.dispatched, events: [] });
      watcher.deliveredSinceProgress = false;
    }
  }

  // ---- synced watchers ----

  private sync(watcher: Watcher): void {
    watcher.state = 'synced';
    let group = this.groups.get(watcher.groupKey);
    if (group === undefined) {
      const { span, prevKv, noPut, noDelete } = watcher;
      group = { span, prevKv, noPut, noDelete, watchers: new Set() };
      this.groups.set(watcher.groupKey, group);
      if (span.single) {
        const name = keyName(span.key);
        let groups = this.byKey.get(name);
        if (groups === undefined) this.byKey.set(name, (groups = new Set()));
        groups.add(group);
      } else {
        this.ranged.add(group);
      }
    }
    group.watchers.add(watcher);
  }

  private unsync(watcher: Watcher): void {
    const group = this.groups.get(watcher.groupKey);
    if (group === undefined) return;
    group.watchers.delete(watcher);
    if (group.watchers.size > 0) return;
    this.groups.delete(watcher.groupKey);
    const span = group.span;
    if (span.single) {
      const name = keyName(span.key);
      const groups = this.byKey.get(name);
      groups?.delete(group);
      if (groups?.size === 0) this.byKey.delete(name);
    } else {
      this.ranged.delete(group);
    }
  }

  private dispatch(reader: StateReader, revision: number, events: readonly RecordedEvent[]): void {
    const matched = new Map<WatchGroup, RecordedEvent[]>();
    const add = (group: WatchGroup, event: RecordedEvent): void => {
      if (!wants(group, event.event)) return;
      const list = matched.get(group);
      if (list === undefined) matched.set(group, [event]);
      else list.push(event);
    };
    for (const event of events) {
      const key = event.event.kv.key;
      const single = this.byKey.get(keyName(key));
      if (single !== undefined) for (const group of single) add(group, event);
      for (const group of this.ranged) if (spanContains(group.span, key)) add(group, event);
    }
    const withPrev = new Map<RecordedEvent, WatchEvent>();
    for (const [group, list] of matched) {
      const shown = list.map((event) => (group.prevKv ? withPrevKv(reader, event, withPrev) : event.event));
      // One delivery for the whole group: a stream knows it again and encodes its events once.
      const delivery: WatchDelivery = { type: 'events', revision, events: shown };
      // A watcher cancelled while the group is delivered to leaves the set; a Set's iteration allows that.
      for (const watcher of group.watchers) if (revision >= watcher.from) this.deliver(watcher, delivery);
    }
  }

  // ---- unsynced watchers ----

  private async catchUp(watcher: Watcher): Promise<void> {
    const { store } = this.options;
    while (watcher.state === 'unsynced') {
      const through = this.dispatched;
      if (watcher.next > through) {
        this.sync(watcher);
        return;
      }
      const reader = this.options.reader();
      let pending: WatchEvent[] = [];
      let stopped = false;
      const withPrev = new Map<RecordedEvent, WatchEvent>();
      const flush = (): boolean => {
        if (pending.length === 0) return true;
        const events = pending;
        pending = [];
        return this.deliver(watcher, { type: 'events', revision: this.dispatched, events });
      };
      try {
        await store.replayEvents(reader, watcher.next, through, ({ revision, events }) => {
          if (watcher.state !== 'unsynced') return !(stopped = true);
          for (const event of events) if (wants(watcher, event.event) && spanContains(watcher.span, event.event.kv.key)) pending.push(watcher.prevKv ? withPrevKv(reader, event, withPrev) : event.event);
          // Responses end at a revision's end, so a revision is never split between two.
          if (pending.length >= this.limits.maxReplayEventsPerResponse && !flush()) return !(stopped = true);
          watcher.next = revision + 1;
          return true;
        });
      } catch (error) {
        if (watcher.state !== 'unsynced') return;
        const compacted = error instanceof ConclaveError && error.code === 'ErrCompacted';
        this.cancelWith(watcher, compacted ? error.message : `watch failed: ${(error as Error).message}`, compacted ? store.compactRevision : 0);
        return;
      }
      if (stopped || watcher.state !== 'unsynced' || !flush()) return;
      watcher.next = Math.max(watcher.next, through + 1);
    }
  }

  // ---- delivery ----

  private deliver(watcher: Watcher, delivery: WatchDelivery): boolean {
    if (watcher.state === 'canceled') return false;
    watcher.deliveredSinceProgress = true;
    if (watcher.sink.deliver(watcher, delivery)) return true;
    this.cancelWith(watcher, 'the watcher fell too far behind (its stream holds more than maxStreamPendingBytes)', 0);
    return false;
  }

  private cancelWith(watcher: Watcher, reason: string, compactRevision: number): void {
    this.cancel(watcher);
    watcher.sink.deliver(watcher, { type: 'canceled', revision: this.dispatched, reason, compactRevision });
  }
}

function wants(watcher: { readonly noPut: boolean; readonly noDelete: boolean }, event: WatchEvent): boolean {
  return event.type === 'PUT' ? !watcher.noPut : !watcher.noDelete;
}

function groupKeyOf(span: Span, prevKv: boolean, noPut: boolean, noDelete: boolean): string {
  const flags = `${prevKv ? 'p' : '-'}${noPut ? 'P' : '-'}${noDelete ? 'D' : '-'}`;
  if (span.single) return `${flags}k${keyName(span.key)}`;
  // The start's length keeps `start|end` apart from another span whose start holds what looks like the separator.
  return `${flags}r${span.start.length}:${keyName(span.start)}${span.end === null ? '' : `:${keyName(span.end)}`}`;
}

/** The event with prev_kv, made once per event for every watcher that wants it. */
function withPrevKv(reader: StateReader, event: RecordedEvent, made: Map<RecordedEvent, WatchEvent>): WatchEvent {
  let shown = made.get(event);
  if (shown === undefined) {
    const prevKv: KeyValue | undefined = previousVersion(reader, event);
    shown = prevKv === undefined ? event.event : { ...event.event, prevKv };
    made.set(event, shown);
  }
  return shown;
}
