// Watches over a real store: live and replayed events, the hand-over from replay to live with writes arriving
// meanwhile (no gap, no duplicate, no reorder), filters, prev_kv, compaction, slow consumers, progress.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WatchCreateRequest } from '../../src/protocol/watch.js';
import { WatchHub, type Watch, type WatchDelivery, type WatchSink } from '../../src/server/watch-hub.js';
import { bytes, expectOk, Harness, latin1 } from '../state/helpers.js';
import { MemoryBackend } from '../state/memory-backend.js';

/** A sink that records what it gets, as "PUT key=value@rev" lines; `accept` decides when it reports itself full. */
class RecordingSink implements WatchSink {
  readonly deliveries: { watchId: number; delivery: WatchDelivery }[] = [];
  accept: () => boolean = () => true;

  deliver(watch: Watch, delivery: WatchDelivery): boolean {
    this.deliveries.push({ watchId: watch.watchId, delivery });
    return delivery.type === 'canceled' || this.accept();
  }

  lines(watchId = 1): string[] {
    return this.deliveries
      .filter((d) => d.watchId === watchId && d.delivery.type === 'events')
      .flatMap((d) => (d.delivery.type === 'events' ? d.delivery.events : []))
      .map((e) => `${e.type} ${latin1(e.kv.key)}${e.type === 'PUT' ? `=${latin1(e.kv.value)}` : ''}@${e.kv.modRevision}${e.prevKv === undefined ? '' : ` prev=${latin1(e.prevKv.value)}@${e.prevKv.modRevision}`}`);
  }

  canceled(watchId = 1): (WatchDelivery & { type: 'canceled' }) | undefined {
    const found = this.deliveries.find((d) => d.watchId === watchId && d.delivery.type === 'canceled');
    return found?.delivery as (WatchDelivery & { type: 'canceled' }) | undefined;
  }
}

function setup(limits: ConstructorParameters<typeof WatchHub>[0]['limits'] = {}) {
  const backend = new MemoryBackend();
  const harness = new Harness(backend);
  const hub = new WatchHub({ store: harness.store, reader: () => backend, limits });
  /** Applies and dispatches, as the member does after each applied entry. */
  const put = async (key: string, value: string, extra = {}) => {
    const result = expectOk(await harness.put(key, value, extra));
    hub.notify(result.revision);
    return result.revision;
  };
  const del = async (key: string, rangeEnd?: string) => {
    const result = expectOk(await harness.del(key, rangeEnd));
    hub.notify(result.revision);
    return result.revision;
  };
  return { backend, harness, hub, put, del };
}

const watchOf = (key: string, extra: Omit<WatchCreateRequest, 'key'> = {}): WatchCreateRequest => ({ key: bytes(key), ...extra });
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('WatchHub', () => {
  it('delivers a key’s changes as they are applied, with revisions, and nothing of other keys', async () => {
    const { hub, put, del } = setup();
    const sink = new RecordingSink();
    hub.create(watchOf('a'), 1, sink);
    await put('a', '1');
    await put('b', 'x');
    await put('a', '2');
    await del('a');
    expect(sink.lines()).toEqual(['PUT a=1@2', 'PUT a=2@4', 'DELETE a@5']);
    const first = sink.deliveries[0]!.delivery;
    expect(first.type === 'events' && first.events[0]!.kv).toMatchObject({ createRevision: 2, version: 1, lease: 0 });
  });

  it('delivers a range and a prefix, and all of a txn’s events in one response', async () => {
    const { harness, hub, put } = setup();
    const sink = new RecordingSink();
    hub.create(watchOf('k/', { rangeEnd: bytes('k0') }), 1, sink);
    hub.create(watchOf('k/b', { rangeEnd: bytes('k/d') }), 2, sink);
    await put('k/a', '1');
    await put('j', 'no');
    await put('k/c', '2');
    const result = expectOk(
      await harness.txn({ compare: [], success: [{ requestPut: { key: bytes('k/b'), value: bytes('3') } }, { requestPut: { key: bytes('k/z'), value: bytes('4') } }], failure: [] }),
    );
    hub.notify(result.revision);
    expect(sink.lines(1)).toEqual(['PUT k/a=1@2', 'PUT k/c=2@4', 'PUT k/b=3@5', 'PUT k/z=4@5']);
    expect(sink.lines(2)).toEqual(['PUT k/c=2@4', 'PUT k/b=3@5']);
    const txnResponses = sink.deliveries.filter((d) => d.watchId === 1 && d.delivery.revision === 5);
    expect(txnResponses).toHaveLength(1);
  });

  it('replays from a past revision and then goes on live, while writes arrive during the replay', async () => {
    const { backend, hub, put } = setup({ maxReplayEventsPerResponse: 3 });
    for (let i = 0; i < 20; i++) await put(`k${i % 4}`, `v${i}`);
    // Hold the replay's backend reads while more writes are applied and dispatched.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    backend.rangeGate = () => held;
    const sink = new RecordingSink();
    hub.create(watchOf('k', { rangeEnd: bytes('l'), startRevision: 5 }), 1, sink);
    await settle();
    for (let i = 20; i < 25; i++) await put(`k${i % 4}`, `v${i}`);
    backend.rangeGate = null;
    release();
    await settle();
    await settle();
    for (let i = 25; i < 28; i++) await put(`k${i % 4}`, `v${i}`);
    const expected = Array.from({ length: 28 - 3 }, (_, n) => `PUT k${(n + 3) % 4}=v${n + 3}@${n + 5}`);
    expect(sink.lines()).toEqual(expected);
    // Replayed responses hold at most 3 events (each revision here has one).
    for (const { delivery } of sink.deliveries) if (delivery.type === 'events') expect(delivery.events.length).toBeLessThanOrEqual(3);
  });

  it('applies the NOPUT and NODELETE filters, and prev_kv on puts and deletes', async () => {
    const { hub, put, del } = setup();
    const sink = new RecordingSink();
    hub.create(watchOf('a', { filters: ['NOPUT'] }), 1, sink);
    hub.create(watchOf('a', { filters: ['NODELETE'], prevKv: true }), 2, sink);
    hub.create(watchOf('a', { prevKv: true }), 3, sink);
    await put('a', '1');
    await put('a', '2');
    await del('a');
    expect(sink.lines(1)).toEqual(['DELETE a@4']);
    expect(sink.lines(2)).toEqual(['PUT a=1@2', 'PUT a=2@3 prev=1@2']);
    expect(sink.lines(3)).toEqual(['PUT a=1@2', 'PUT a=2@3 prev=1@2', 'DELETE a@4 prev=2@3']);
  });

  it('gives every watcher the same event objects', async () => {
    const { hub, put } = setup();
    const sinks = [new RecordingSink(), new RecordingSink()];
    hub.create(watchOf('a'), 1, sinks[0]!);
    hub.create(watchOf('a', { rangeEnd: bytes('b') }), 1, sinks[1]!);
    await put('a', '1');
    const [x, y] = sinks.map((sink) => (sink.deliveries[0]!.delivery as WatchDelivery & { type: 'events' }).events[0]);
    expect(x).toBe(y);
  });

  it('cancels a watch from a compacted revision with the compact revision, and accepts the one after', async () => {
    const { harness, hub, put, del } = setup();
    await put('a', '1');
    await put('a', '2');
    await del('a');
    expectOk(await harness.compact(4));
    const sink = new RecordingSink();
    hub.create(watchOf('a', { startRevision: 3 }), 1, sink);
    hub.create(watchOf('a', { startRevision: 4 }), 2, sink);
    hub.create(watchOf('a', { startRevision: 5 }), 3, sink);
    await settle();
    expect(sink.canceled(1)).toMatchObject({ compactRevision: 4 });
    expect(sink.canceled(2)).toMatchObject({ compactRevision: 4 });
    expect(sink.canceled(3)).toBeUndefined();
    await put('a', '3');
    expect(sink.lines(3)).toEqual(['PUT a=3@5']);
    expect(hub.watcherCount).toBe(1);
  });

  it('does not deliver before a future start revision', async () => {
    const { hub, put } = setup();
    const sink = new RecordingSink();
    hub.create(watchOf('a', { startRevision: 4 }), 1, sink);
    await put('a', '1');
    await put('a', '2');
    await put('a', '3');
    expect(sink.lines()).toEqual(['PUT a=3@4']);
  });

  it('cancels a watcher whose consumer falls behind, with a reason, and delivers nothing after', async () => {
    const { hub, put } = setup();
    const sink = new RecordingSink();
    let room = 2;
    sink.accept = () => room-- > 0;
    hub.create(watchOf('a'), 1, sink);
    for (let i = 0; i < 5; i++) await put('a', `${i}`);
    expect(sink.lines()).toEqual(['PUT a=0@2', 'PUT a=1@3', 'PUT a=2@4']);
    expect(sink.canceled()?.reason).toMatch(/maxStreamPendingBytes/);
    expect(hub.watcherCount).toBe(0);
  });

  it('sends a progress notification only to idle watchers that asked for one', async () => {
    const { hub, put } = setup();
    const sink = new RecordingSink();
    hub.create(watchOf('a', { progressNotify: true }), 1, sink);
    hub.create(watchOf('b', { progressNotify: true }), 2, sink);
    hub.create(watchOf('c'), 3, sink);
    await put('a', '1');
    hub.progressTick();
    const progress = sink.deliveries.filter((d) => d.delivery.type === 'events' && d.delivery.events.length === 0);
    expect(progress.map((d) => [d.watchId, d.delivery.revision])).toEqual([[2, 2]]);
    hub.progressTick();
    expect(sink.deliveries.filter((d) => d.delivery.type === 'events' && d.delivery.events.length === 0).map((d) => d.watchId)).toEqual([2, 1, 2]);
  });

  it('refuses an empty key, a negative start revision, and watchers beyond maxWatchers', () => {
    const { hub } = setup({ maxWatchers: 1 });
    const sink = new RecordingSink();
    expect(() => hub.create({ key: new Uint8Array(0) }, 1, sink)).toThrow(expect.objectContaining({ code: 'ErrEmptyKey' }));
    expect(() => hub.create(watchOf('a', { startRevision: -1 }), 1, sink)).toThrow(expect.objectContaining({ code: 'ErrInvalidField' }));
    hub.create(watchOf('a'), 1, sink);
    expect(() => hub.create(watchOf('b'), 2, sink)).toThrow(expect.objectContaining({ code: 'ErrTooManyWatchers' }));
  });

  it('after a resync (a snapshot replaced the state), synced watchers catch up from the new state', async () => {
    const source = setup();
    for (let i = 0; i < 6; i++) await source.put(`k${i % 2}`, `v${i}`);
    const target = setup();
    await target.put('k0', 'v0');
    const sink = new RecordingSink();
    target.hub.create(watchOf('k', { rangeEnd: bytes('l') }), 1, sink);
    // Install the source's state in the target's backend, as a snapshot install does.
    for (const [key, value] of target.backend.dump()) target.backend.delete(bytes(key));
    for (const [key, value] of source.backend.dump()) target.backend.put(bytes(key), bytes(value));
    await target.harness.store.load(target.backend);
    target.hub.resync();
    await settle();
    expect(sink.lines()).toEqual(['PUT k1=v1@3', 'PUT k0=v2@4', 'PUT k1=v3@5', 'PUT k0=v4@6', 'PUT k1=v5@7']);
  });

  it('property: each watcher sees exactly the writes to its range from its start revision, in order, once', async () => {
    const keys = ['a', 'b', 'c'];
    const step = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('put' as const), key: fc.constantFrom(...keys), value: fc.string({ maxLength: 3 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('del' as const), key: fc.constantFrom(...keys) }) },
      // Few shapes, so that watchers often share a group (same span, filter and prev_kv) and often differ in one.
      {
        weight: 3,
        arbitrary: fc.record({
          op: fc.constant('watch' as const),
          key: fc.constantFrom('a', 'b'),
          ranged: fc.boolean(),
          back: fc.nat({ max: 6 }),
          filter: fc.constantFrom('', 'NOPUT' as const, 'NODELETE' as const),
          prevKv: fc.boolean(),
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), which: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('pause' as const) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 50 }), fc.boolean(), async (steps, holdReads) => {
        const { backend, harness, hub, put, del } = setup({ maxReplayEventsPerResponse: 2 });
        const history: { revision: number; type: 'PUT' | 'DELETE'; line: string; prev: string; key: string }[] = [];
        const current = new Map<string, string>();
        type Shape = { id: number; from: number; inRange: (key: string) => boolean; filter: string; prevKv: boolean; watch: Watch; canceled: boolean };
        const watchers: Shape[] = [];
        const sink = new RecordingSink();
        let held: (() => void)[] = [];
        if (holdReads) backend.rangeGate = () => new Promise<void>((resolve) => held.push(resolve));
        let id = 0;
        for (const s of steps) {
          if (s.op === 'put') {
            const revision = await put(s.key, s.value);
            history.push({ revision, type: 'PUT', line: `PUT ${s.key}=${s.value}@${revision}`, prev: current.get(s.key) ?? '', key: s.key });
            current.set(s.key, ` prev=${s.value}@${revision}`);
          } else if (s.op === 'del') {
            const before = harness.store.revision;
            const revision = await del(s.key);
            if (revision !== before) history.push({ revision, type: 'DELETE', line: `DELETE ${s.key}@${revision}`, prev: current.get(s.key) ?? '', key: s.key });
            current.delete(s.key);
          } else if (s.op === 'watch') {
            const from = Math.max(1, harness.store.revision + 1 - s.back);
            const start = s.key;
            const inRange = s.ranged ? (key: string) => key >= start : (key: string) => key === start;
            const request = watchOf(start, {
              startRevision: from,
              ...(s.ranged ? { rangeEnd: new Uint8Array([0]) } : {}),
              ...(s.filter === '' ? {} : { filters: [s.filter] }),
              ...(s.prevKv ? { prevKv: true } : {}),
            });
            const watch = hub.create(request, ++id, sink);
            watchers.push({ id, from, inRange, filter: s.filter, prevKv: s.prevKv, watch, canceled: false });
          } else if (s.op === 'cancel') {
            const watcher = watchers[s.which % Math.max(1, watchers.length)];
            if (watcher !== undefined) {
              hub.cancel(watcher.watch);
              watcher.canceled = true;
            }
          } else {
            for (const resolve of held.splice(0)) resolve();
            await settle();
          }
        }
        backend.rangeGate = null;
        for (let round = 0; round < 50 && held.length > 0; round++) {
          for (const resolve of held.splice(0)) resolve();
          await settle();
        }
        await settle();
        for (const watcher of watchers) {
          const wanted = history.filter((h) => h.revision >= watcher.from && watcher.inRange(h.key) && h.type !== watcher.filter.slice(2));
          const expected = wanted.map((h) => h.line + (watcher.prevKv ? h.prev : ''));
          const got = sink.lines(watcher.id);
          // A cancelled watcher got a beginning of its events (a replay may have been cut short), nothing after.
          if (watcher.canceled) expect(expected.slice(0, got.length)).toEqual(got);
          else expect(got).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });
});
