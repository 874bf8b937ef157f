// The store on storage's real Backend (LevelDB with its staged overlay): the same commands give the same results
// and byte-identical backend contents as on the in-memory backend, the state survives a restart, and puts are fast.

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { index, term } from '../../src/raft/index.js';
import { KvStore, type StateWriter } from '../../src/state/index.js';
import type { NodeStorage } from '../../src/storage/index.js';
import { LIVE_LEASE, resolveCommand, resolveRead, step, toKvCommand, toRangeRequest } from './arbitraries.js';
import { bytes, Harness, showRange, showResult } from './helpers.js';
import { latin1, MemoryBackend } from './memory-backend.js';
import { entry, hardState, openStorage, ready, removeTempDirs, tempDir, withTempDir } from '../storage/helpers.js';

afterAll(removeTempDirs);

async function dump(storage: NodeStorage): Promise<[string, string][]> {
  const rows = await storage.backend.range({ start: new Uint8Array(0) });
  return rows.map(({ key, value }) => [latin1(key), latin1(value)]);
}

describe('on the real backend', () => {
  it('is a StateWriter, and its state survives a restart of storage', async () => {
    const dataDir = await tempDir('conclave-kv-');
    const storage = await openStorage(dataDir);
    const writer: StateWriter = storage.backend;
    const kv = new Harness(writer);
    await kv.put('a', '1');
    await kv.put('b', '2');
    await kv.put('a', '3');
    await kv.del('b');
    await kv.compact(3);
    // Changes become part of a batch once their entry is complete (and committed).
    await storage.persist(ready({ entries: [entry(1, 1)], hardState: hardState(1, 1) }));
    storage.backend.setApplied(index(1), term(1));
    await storage.flushApplied();
    await storage.close();

    const reopened = await openStorage(dataDir);
    try {
      const store = new KvStore();
      await store.load(reopened.backend);
      expect([store.revision, store.compactRevision]).toEqual([5, 3]);
      const { response } = await store.range({ key: bytes('\0'), rangeEnd: bytes('\0') }, reopened.backend);
      expect(showRange(response).kvs).toEqual([{ key: 'a', value: '3', createRevision: 2, modRevision: 4, version: 2, lease: 0 }]);
      const past = await store.range({ key: bytes('\0'), rangeEnd: bytes('\0'), revision: 3 }, reopened.backend);
      expect(past.response.kvs.map((kv) => latin1(kv.value))).toEqual(['1', '2']);
    } finally {
      await reopened.close();
    }
  });

  it('gives the same results, backend contents and hash as the in-memory backend for any commands', async () => {
    const flushes = fc.array(fc.boolean(), { minLength: 60, maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), flushes, (steps, flushAfter) =>
        withTempDir(async (dataDir) => {
          const storage = await openStorage(dataDir);
          try {
            const memory = new MemoryBackend();
            const stores = [new KvStore({ limits: { scanPageRows: 2 } }), new KvStore({ limits: { scanPageRows: 3 } })] as const;
            const backends: [StateWriter, StateWriter] = [memory, storage.backend];
            for (const [i, store] of stores.entries()) {
              await store.load(backends[i] as StateWriter);
              await store.apply({ type: 'leaseGrant', request: { id: LIVE_LEASE, ttl: 60 } }, backends[i] as StateWriter);
            }
            for (const [index, next] of steps.entries()) {
              if ('command' in next) {
                const command = toKvCommand(resolveCommand(next.command, stores[0].revision));
                const [a, b] = [await stores[0].apply(command, memory), await stores[1].apply(command, storage.backend)];
                expect(showResult(b), `step ${index}`).toEqual(showResult(a));
              } else {
                const request = toRangeRequest(resolveRead(next.read, stores[0].revision));
                const read = (i: 0 | 1) =>
                  stores[i].range(request, backends[i]).then(
                    ({ revision, response }) => ({ revision, ...showRange(response) }),
                    (error: { code: string }) => error.code,
                  );
                expect(await read(1), `step ${index}`).toEqual(await read(0));
              }
              // Some changes reach LevelDB, others stay staged: reads merge both.
              if (flushAfter[index] === true) await storage.flushApplied();
            }
            expect(await dump(storage)).toEqual(memory.dump());
            expect(await stores[1].hash(storage.backend)).toEqual(await stores[0].hash(memory));
          } finally {
            await storage.close();
          }
        }, 'conclave-kv-'),
      ),
      { numRuns: 20 },
    );
  });

});
