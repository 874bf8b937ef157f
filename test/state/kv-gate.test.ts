// Reads served outside the log order never see half of a command: they wait while an apply that awaits the
// backend is in progress, a read at the current revision sees one view, and compaction waits for reads in flight.

import { describe, expect, it } from 'vitest';
import { bytes, Harness, opPut } from './helpers.js';
import { MemoryBackend } from './memory-backend.js';

/** A latch: ranges of the backend wait on it while it is closed. */
function latch(backend: MemoryBackend) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let waiting = 0;
  backend.rangeGate = () => {
    waiting++;
    return opened;
  };
  return {
    open: () => {
      backend.rangeGate = null;
      open();
    },
    get waiting() {
      return waiting;
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('the gate between applies and reads', () => {
  it('makes a read wait for a txn that is waiting on the backend, then see all of it', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('a', '1'); // 2
    const held = latch(backend);
    const order: string[] = [];
    // The compare over a range makes the txn await the backend after... nothing yet; then it writes two keys.
    const txn = kv
      .txn({ compare: [{ key: bytes('a'), rangeEnd: bytes('b'), target: 'version', result: 'greater', version: 0 }], success: [opPut('x', '1'), opPut('y', '1')], failure: [] })
      .then((result) => order.push(`txn@${result.revision}`));
    const read = kv.get('x', { rangeEnd: 'z' }).then((response) => {
      order.push(`read@${response.revision}`);
      return response;
    });
    const single = kv.get('y').then((response) => order.push(`single@${response.revision}:${response.count}`));
    await settle();
    expect(order).toEqual([]);
    held.open();
    const response = await read;
    await Promise.all([txn, single]);
    expect(order[0]).toBe('txn@3');
    expect(order.slice(1).sort()).toEqual(['read@3', 'single@3:1']);
    expect(response.kvs.map((kv) => kv.key)).toEqual(['x', 'y']);
  });

  it('serves a read whose view was taken before a put from that view, values included', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('k1', 'old'); // 2
    await kv.put('k2', 'old'); // 3
    const held = latch(backend);
    const read = kv.get('k', { rangeEnd: 'l' });
    await settle();
    expect(held.waiting).toBe(1);
    // Puts need no range: they apply at once, and replace the current records the read is about to use.
    await kv.put('k1', 'new'); // 4
    await kv.del('k2'); // 5
    held.open();
    expect(await read).toMatchObject({
      revision: 3,
      count: 2,
      kvs: [
        { key: 'k1', value: 'old', modRevision: 2 },
        { key: 'k2', value: 'old', modRevision: 3 },
      ],
    });
    expect(await kv.pairs('k', { rangeEnd: 'l' })).toEqual(['k1=new']);
  });

  it('makes compaction wait for a read of the past in flight, which then completes exactly', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend, { limits: { scanPageRows: 1 } });
    for (let i = 0; i < 6; i++) await kv.put(`k${i % 3}`, `v${i}`); // 2..7
    const expected = await kv.pairs('k', { rangeEnd: 'l', revision: 4 });
    expect(expected).toEqual(['k0=v0', 'k1=v1', 'k2=v2']);
    const before = backend.dump();
    const held = latch(backend);
    const read = kv.pairs('k', { rangeEnd: 'l', revision: 4 });
    await settle();
    let compacted = false;
    const compaction = kv.compact(7).then((result) => {
      compacted = true;
      return result;
    });
    await settle();
    expect(compacted).toBe(false);
    expect(backend.dump()).toEqual(before);
    held.open();
    expect(await read).toEqual(expected);
    expect(await compaction).toMatchObject({ ok: true });
    await expect(kv.get('k0', { revision: 4 })).rejects.toMatchObject({ code: 'ErrCompacted' });
  });

  it('makes reads that arrive during a compaction wait until it is done', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('a', '1'); // 2
    await kv.put('a', '2'); // 3
    const held = latch(backend);
    const compaction = kv.compact(3);
    const read = kv.get('a', { revision: 2 }).then(
      () => 'served',
      (error: { code: string }) => error.code,
    );
    await settle();
    held.open();
    await compaction;
    expect(await read).toBe('ErrCompacted');
  });

  it('refuses an apply while another is in progress (commands apply one at a time, in log order)', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.loaded;
    const held = latch(backend);
    const first = kv.del('a', 'z');
    await expect(kv.put('b', '1')).rejects.toThrow(/one at a time/);
    held.open();
    await first;
    expect((await kv.put('b', '1')).revision).toBe(2);
  });

  it('makes hash wait for an apply, and hash what is at its revision even while puts go on', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend, { limits: { scanPageRows: 1 } });
    for (let i = 0; i < 5; i++) await kv.put(`k${i}`, `v${i}`);
    const at6 = await kv.store.hash(backend);
    const held = latch(backend);
    const hash = kv.store.hash(backend);
    await settle();
    await kv.put('k9', 'later');
    held.open();
    expect(await hash).toEqual(at6);
    expect((await kv.store.hash(backend)).hash).not.toBe(at6.hash);
  });

  it('lets a replacement of the backend wait for the reads in flight, and hold back the reads that come after', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('a/1', 'old');
    await kv.put('a/2', 'old');
    const held = latch(backend);
    const order: string[] = [];
    const before = kv.pairs('a/', { rangeEnd: 'a0' }).then((pairs) => order.push(`read before: ${pairs.join(' ')}`));
    await settle();
    const replacement = kv.store.whileReplacing(async () => {
      order.push('replace');
      // What an install does: the backend's contents change under the store.
      backend.delete(bytes('ka/2'));
    });
    const after = kv.pairs('a/', { rangeEnd: 'a0' }).then((pairs) => order.push(`read after: ${pairs.join(' ')}`));
    await settle();
    // The first read holds the backend: the replacement has not started, and the second read waits at the gate.
    expect(order).toEqual([]);
    expect(held.waiting).toBe(1);
    held.open();
    await Promise.all([before, replacement, after]);
    expect(order).toContain('read before: a/1=old a/2=old');
    expect(order.indexOf('replace')).toBeLessThan(order.indexOf('read after: a/1=old'));
    expect(order).toHaveLength(3);
  });

  it('holds reads during a replacement and lets them read the new state', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.put('b', 'old');
    const order: string[] = [];
    let finish!: () => void;
    const replacement = kv.store.whileReplacing(
      () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    );
    await settle();
    const read = kv.pairs('b').then((pairs) => order.push(pairs.join(' ')));
    await settle();
    expect(order).toEqual([]);
    await kv.put('c', 'x').catch(() => order.push('apply refused'));
    expect(order).toEqual(['apply refused']);
    finish();
    await replacement;
    await read;
    expect(order).toEqual(['apply refused', 'b=old']);
  });
});
