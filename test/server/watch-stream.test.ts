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
      lines.push(JSON.parse(text));
      return queued();
    },
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

  it('ends every watch of a closed stream in the hub', () => {
    const { stream, hub } = setup();
    stream.handle({ createRequest: { key: bytes('a') } });
    stream.handle({ createRequest: { key: bytes('b'), rangeEnd: bytes('c') } });
    expect(hub.watcherCount).toBe(2);
    stream.close();
    expect(hub.watcherCount).toBe(0);
  });
});
