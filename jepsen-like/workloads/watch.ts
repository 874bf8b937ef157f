// The watch workload: writers put fresh values into (and now and then delete) a handful of keys under a prefix,
// while watchers each open a watch on the prefix or a sub-range, from now, from revision 1 or from a recent past
// revision, for a few seconds, and record every event they received. After healing, one fresh watch from revision
// 1 over the whole prefix reads the committed history up to a last put made after everything else
// (checkers/watch.ts compares every watcher with it; docs/jepsen-like.md for the operations).
//   put     ok with the revision; fail when certainly not applied (clients.ts), otherwise info
//   delete  ok with [revision, deleted]; the same rule
//   watch   ok with the events seen once the harness stopped it; info with those seen when it ended on an error
//   history ok with every committed event of the prefix

import type { WatchEvent } from '../../src/protocol/watch.js';
import { prefixEnd } from '../../src/client/index.js';
import type { JsonValue } from '../history.js';
import type { RecordedEvent, WatchRange } from '../checkers/watch.js';
import { MAX_WATCH_EVENTS_PER_OP, WATCH_DURATION_MS } from '../limits.js';
import { ClientWorkload, type Worker } from './clients.js';
import { valueOf } from './register.js';

/** Where the keys live in the key space; history keys are the names after it (k0, k1, ...). */
export const WATCH_KEY_PREFIX = 'jepsen/watch/';
/** The last put after healing, which bounds the committed history; sorts after every k name. */
const END_KEY = '~end';

/** Share of deletes among writes. */
const DELETE_SHARE = 0.1;
/** How watchers pick their start: now (0), revision 1, else a recent past revision. */
const START_NOW_SHARE = 0.3;
const START_FIRST_SHARE = 0.1;
/** A recent past start goes back up to this many revisions from the current one. */
const START_BACK_REVISIONS = 200;
/** How watchers pick their range: the whole prefix, one key, else a span of names. */
const WHOLE_SHARE = 0.4;
const ONE_KEY_SHARE = 0.3;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function recordedEvent(event: WatchEvent): RecordedEvent {
  const key = decoder.decode(event.kv.key).slice(WATCH_KEY_PREFIX.length);
  return event.type === 'PUT' ? [event.kv.modRevision, 'put', key, valueOf(event.kv.value) as number | string] : [event.kv.modRevision, 'delete', key, null];
}

/** The store's range for a range of names. */
function storeRange(range: WatchRange): { key: string; rangeEnd: string | Uint8Array } {
  return { key: WATCH_KEY_PREFIX + range.from, rangeEnd: range.to === null ? prefixEnd(encoder.encode(WATCH_KEY_PREFIX)) : WATCH_KEY_PREFIX + range.to };
}

export class WatchWorkload extends ClientWorkload {
  private nextValue = 1;
  private signal: AbortSignal | null = null;
  /** Watchers are the first half of the clients; the rest write. */
  private readonly watchers = Math.floor(this.options.concurrency / 2);

  /** The final read: the committed history. */
  get keys(): string[] {
    return ['history'];
  }

  private get names(): string[] {
    return Array.from({ length: this.options.keys }, (_, i) => `k${i}`);
  }

  override run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    return super.run(signal);
  }

  protected async step(worker: Worker): Promise<void> {
    if (this.workers.indexOf(worker) < this.watchers) await this.watch(worker);
    else if (worker.rng.chance(DELETE_SHARE)) await this.delete(worker, worker.rng.pick(this.names));
    else await this.put(worker, worker.rng.pick(this.names), this.nextValue++);
  }

  /** After healing: a last put, then a watch from revision 1 of the whole prefix up to it. */
  protected async finalRead(worker: Worker): Promise<boolean> {
    const { recorder, opTimeoutMs } = this.options;
    const end = await this.put(worker, END_KEY, this.nextValue++);
    if (end === null) return false;
    recorder.invoke(worker.process, 'history', null, { startRevision: 1 });
    const events: RecordedEvent[] = [];
    const stop = new AbortController();
    // The history is read at full speed; a stall of a whole op deadline with no event means a member gave up.
    let timer = setTimeout(() => stop.abort(), opTimeoutMs * 5);
    try {
      const range = storeRange({ from: '', to: null });
      for await (const batch of worker.client.watch(range.key, { rangeEnd: range.rangeEnd, startRevision: 1, signal: stop.signal })) {
        clearTimeout(timer);
        timer = setTimeout(() => stop.abort(), opTimeoutMs * 5);
        for (const event of batch.events) events.push(recordedEvent(event));
        if (batch.events.some((event) => event.kv.modRevision >= end)) break;
      }
    } catch {
      // Reported below as a failed read.
    } finally {
      clearTimeout(timer);
    }
    const complete = events.some(([revision]) => revision >= end);
    this.complete(worker, complete ? 'ok' : 'fail', complete ? (events as unknown as JsonValue) : null);
    return complete;
  }

  private async watch(worker: Worker): Promise<void> {
    const { recorder } = this.options;
    const range = this.pickRange(worker);
    const startRevision = await this.pickStart(worker);
    if (this.signal?.aborted === true) return;
    const label = range.from === '' && range.to === null ? '*' : range.to === `${range.from}\u0000` ? range.from : `${range.from}..${range.to ?? ''}`;
    recorder.invoke(worker.process, 'watch', label, { ...range, startRevision });
    const stop = new AbortController();
    const [low, high] = WATCH_DURATION_MS;
    const timer = setTimeout(() => stop.abort(), low + Math.floor(worker.rng.next() * (high - low)));
    const onEnd = () => stop.abort();
    this.signal?.addEventListener('abort', onEnd, { once: true });
    const events: RecordedEvent[] = [];
    let failed = false;
    try {
      const { key, rangeEnd } = storeRange(range);
      for await (const batch of worker.client.watch(key, { rangeEnd, ...(startRevision === 0 ? {} : { startRevision }), signal: stop.signal })) {
        for (const event of batch.events) events.push(recordedEvent(event));
        if (events.length >= MAX_WATCH_EVENTS_PER_OP) break;
      }
    } catch {
      failed = true;
    } finally {
      clearTimeout(timer);
      this.signal?.removeEventListener('abort', onEnd);
    }
    // A watch that ended on its own error is info: the history format retires its process.
    this.complete(worker, failed ? 'info' : 'ok', events as unknown as JsonValue);
    if (failed) worker.process += this.options.concurrency;
  }

  private pickRange(worker: Worker): WatchRange {
    const names = this.names;
    const roll = worker.rng.next();
    if (roll < WHOLE_SHARE) return { from: '', to: null };
    const i = Math.floor(worker.rng.next() * names.length);
    if (roll < WHOLE_SHARE + ONE_KEY_SHARE) return { from: names[i]!, to: `${names[i]!}\u0000` };
    const j = i + 1 + Math.floor(worker.rng.next() * (names.length - i));
    return { from: names[i]!, to: j >= names.length ? null : names[j]! };
  }

  /** 0 (now), 1, or a revision a little before the current one; 0 when the current one cannot be read. */
  private async pickStart(worker: Worker): Promise<number> {
    const roll = worker.rng.next();
    if (roll < START_NOW_SHARE) return 0;
    if (roll < START_NOW_SHARE + START_FIRST_SHARE) return 1;
    const back = Math.floor(worker.rng.next() * START_BACK_REVISIONS);
    try {
      const { header } = await worker.client.get(WATCH_KEY_PREFIX, { prefix: true, keysOnly: true, limit: 1, timeoutMs: this.options.opTimeoutMs });
      return Math.max(1, header.revision - back);
    } catch {
      return 0;
    }
  }

  /** The revision the put was committed at, or null when it did not complete ok. */
  private async put(worker: Worker, name: string, value: number): Promise<number | null> {
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, 'put', name, value);
    try {
      const { header } = await worker.client.put(WATCH_KEY_PREFIX + name, String(value), { timeoutMs: opTimeoutMs });
      this.complete(worker, 'ok', header.revision);
      return header.revision;
    } catch (error) {
      this.failed(worker, error, value);
      return null;
    }
  }

  private async delete(worker: Worker, name: string): Promise<void> {
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, 'delete', name, null);
    try {
      const { header, response } = await worker.client.delete(WATCH_KEY_PREFIX + name, { timeoutMs: opTimeoutMs });
      this.complete(worker, 'ok', [header.revision, response.deleted]);
    } catch (error) {
      this.failed(worker, error, null);
    }
  }
}
