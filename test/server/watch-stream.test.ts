// A watch stream over a real hub and store, its output captured as lines: fragmenting a large revision, the
// per-stream watcher bound, a slow consumer's watches cancelled with the reason, and a closed stream's watches
// gone from the hub.

import { describe, expect, it } from 'vitest';
import { WatchHub } from '../../src/server/watch-hub.js';
import { WatchStream } from '../../src/server/watch-stream.js';
import { bytes, expectOk, Harness } from '../state/helpers.js';
import { MemoryBackend } from '../state/memory-backend.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function setup(limits: ConstructorParameters<typeof WatchStream>[0]['limits'] = {}, queued: () => number = () => 0) {
  const backend = new MemoryBackend();
  const harness = new Harness(backend);
  const hub = new WatchHub({ store: harness.store, reader: () => backend });
  const lines: any[] = [];
  const stream = new WatchStream({
    hub,
    header: (revision) => ({ clusterId: '0000000000000001', memberId: '0000000000000002', revision, raftTerm: 1 }),
    write: (pieces) => {
      const text = Buffer.concat(pieces).toString();
      expect(text.endsWith('\n')).toBe(true);
      for (const line of text.slice(0, -1).split('\n')) lines.push(JSON.parse(line));
    },
    queuedBytes: queued,
    limits,
  });
  const txnPuts = async (keys: string[]) => {
    const result = expectOk(await harness.txn({ compare: [], success: keys.map((key) => ({ requestPut: { key: bytes(key), value: bytes('x'.repeat(40)) } })), failure: [] }));
    hub.notify(result.revision);
  };
  return { hub, stream, lines, txnPuts, harness };
}

describe('WatchStream', () => {
  it('splits a revision into fragments of at most maxWatchResponseBytes when the watch asks for it', async () => {
    const { stream, lines, txnPuts } = setup({ maxWatchResponseBytes: 300 });
    stream.handle({ createRequest: { key: bytes('f/'), rangeEnd: bytes('f0'), fragment: true } });
    stream.handle({ createRequest: { key: bytes('f/'), rangeEnd: bytes('f0') } });
    await txnPuts(['f/1', 'f/2', 'f/3', 'f/4', 'f/5']);
    const fragmented = lines.filter((l) => (l.result.watch_id ?? '0') === '0' && l.result.events !== undefined);
    const whole = lines.filter((l) => l.result.watch_id === '1' && l.result.events !== undefined);
    expect(fragmented.length).toBeGreaterThan(1);
    expect(fragmented.map((l) => l.result.fragment === true)).toEqual([...fragmented.slice(1).map(() => true), false]);
    expect(fragmented.flatMap((l) => l.result.events.map((e: any) => e.kv.key))).toEqual(['f/1', 'f/2', 'f/3', 'f/4', 'f/5'].map(b64));
    for (const l of fragmented) expect(JSON.stringify(l.result.events).length).toBeLessThanOrEqual(300 + 200);
    expect(whole).toHaveLength(1);
    expect(whole[0].result.events).toHaveLength(5);
  });

  it('refuses a watcher beyond maxWatchersPerStream, created and canceled with the bound named', () => {
    const { stream, lines, hub } = setup({ maxWatchersPerStream: 2 });
    for (let i = 0; i < 3; i++) stream.handle({ createRequest: { key: bytes(`k${i}`) } });
    expect(lines[2].result).toMatchObject({ watch_id: '-1', created: true, canceled: true, cancel_reason: expect.stringContaining('maxWatchersPerStream (2)') });
    expect(hub.watcherCount).toBe(2);
  });

  it('cancels the watches of a consumer that lets too much queue up, with the reason', async () => {
    let queued = 0;
    const { stream, lines, txnPuts, hub } = setup({ maxStreamPendingBytes: 1000 }, () => queued);
    stream.handle({ createRequest: { key: bytes('s/'), rangeEnd: bytes('s0') } });
    await txnPuts(['s/1']);
    queued = 5000;
    await txnPuts(['s/2']);
    await txnPuts(['s/3']);
    const canceled = lines.find((l) => l.result.canceled === true);
    expect(canceled.result.cancel_reason).toMatch(/maxStreamPendingBytes/);
    expect(lines.filter((l) => l.result.events !== undefined)).toHaveLength(2);
    expect(hub.watcherCount).toBe(0);
    expect(stream.watchCount).toBe(0);
  });

  it('writes the lines of one delivery to many watches together, in order with the stream\'s other lines', async () => {
    const { stream, lines, txnPuts, hub } = setup();
    for (let i = 0; i < 30; i++) stream.handle({ createRequest: { key: bytes('r/'), rangeEnd: bytes('r0') } });
    stream.handle({ createRequest: { key: bytes('r/'), rangeEnd: bytes('r0'), filters: ['NOPUT'] } });
    stream.handle({ createRequest: { key: bytes('r/1'), prevKv: true, watchId: 1000 } });
    const created = lines.length;
    await txnPuts(['r/1', 'r/2']);
    // The cancel comes after the delivery's lines, though they were gathered and not yet written when it came.
    await txnPuts(['r/1']);
    stream.handle({ cancelRequest: { watchId: 7 } });
    await Promise.resolve();
    const after = lines.slice(created);
    // Within a revision the watches come in no particular order; each revision's lines come before the next's.
    const ids = (from: number, to: number) => after.slice(from, to).map((l) => Number(l.result.watch_id ?? 0)).sort((a, b) => a - b);
    const range = Array.from({ length: 30 }, (_, i) => i);
    expect(ids(0, 31)).toEqual([...range, 1000]);
    expect(ids(31, 62)).toEqual([...range, 1000]);
    expect(after[62].result).toMatchObject({ watch_id: '7', canceled: true });
    expect(after).toHaveLength(63);
    const byId = (from: number, to: number) => new Map(after.slice(from, to).map((l) => [Number(l.result.watch_id ?? 0), l.result]));
    const first = byId(0, 31);
    for (const i of range) expect(first.get(i).events.map((e: any) => e.kv.key)).toEqual([b64('r/1'), b64('r/2')]);
    expect(first.get(1000).events).toHaveLength(1);
    expect(byId(31, 62).get(1000).events[0].prev_kv.mod_revision).toBe(first.get(0).header.revision);
    expect(hub.watcherCount).toBe(31);
  });

  it('ends every watch of a closed stream in the hub', () => {
    const { stream, hub } = setup();
    stream.handle({ createRequest: { key: bytes('a') } });
    stream.handle({ createRequest: { key: bytes('b'), rangeEnd: bytes('c') } });
    expect(hub.watcherCount).toBe(2);
    stream.close();
    expect(hub.watcherCount).toBe(0);
  });
});
