// Model-based property test: random sequences of puts, deletes, txns, compactions and reads, applied to the store
// and to a plain reference model of etcd's semantics (model.ts), must give the same answer to every command and
// every read, at the current revision and at past ones. History is walked a few rows at a time so that paging is
// exercised, and after each command the store must hold exactly the records compaction leaves.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvStore } from '../../src/state/index.js';
import { LIVE_LEASE, leaseExists, resolveCommand, resolveRead, step, toKvCommand, toRangeRequest, type Step } from './arbitraries.js';
import { showRange, showResult } from './helpers.js';
import { MemoryBackend } from './memory-backend.js';
import { Model, type MRange } from './model.js';

async function storeRead(store: KvStore, backend: MemoryBackend, request: MRange): Promise<unknown> {
  try {
    const { revision, response } = await store.range(toRangeRequest(request), backend);
    return { revision, ...showRange(response) };
  } catch (error) {
    return { error: (error as { code?: string }).code ?? String(error) };
  }
}

async function run(steps: readonly Step[], pageRows: number): Promise<void> {
  const backend = new MemoryBackend();
  const store = new KvStore({ limits: { scanPageRows: pageRows } });
  await store.load(backend);
  await store.apply({ type: 'leaseGrant', request: { id: LIVE_LEASE, ttl: 60 } }, backend);
  const model = new Model(leaseExists);
  for (const [index, next] of steps.entries()) {
    if ('command' in next) {
      const command = resolveCommand(next.command, model.revision);
      const expected = model.apply(command);
      const actual = showResult(await store.apply(toKvCommand(command), backend));
      expect(actual, `step ${index}: ${JSON.stringify(command)}`).toEqual(expected);
      const records = backend.dump().filter(([key]) => key.startsWith('r')).length;
      expect(records, `event records after step ${index}`).toBe(model.expectedRecords());
      expect(backend.dump().filter(([key]) => key.startsWith('h')).length).toBe(records);
    } else {
      const request = resolveRead(next.read, model.revision);
      expect(await storeRead(store, backend, request), `step ${index}: read ${JSON.stringify(request)}`).toEqual(model.range(request));
    }
  }
  expect(store.revision).toBe(model.revision);
  expect(store.compactRevision).toBe(model.compactRevision);
  // Every key at every revision that can still be read.
  for (let revision = Math.max(1, model.compactRevision); revision <= model.revision; revision++) {
    const all: MRange = { key: '\0', rangeEnd: '\0', revision };
    expect(await storeRead(store, backend, all), `all keys at ${revision}`).toEqual(model.range(all));
  }
  // A store loaded from the same backend continues where this one is.
  const reloaded = new KvStore();
  await reloaded.load(backend);
  expect([reloaded.revision, reloaded.compactRevision]).toEqual([store.revision, store.compactRevision]);
  expect([...reloaded.leases.all()]).toEqual([...store.leases.all()]);
}

describe('the store against the reference model', () => {
  it('answers every command and every read as etcd would', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), fc.constantFrom(1, 2, 3, 1024), (steps, pageRows) => run(steps, pageRows)),
      { numRuns: 300 },
    );
  });

  it('stays exact through long histories with repeated compactions', async () => {
    const long = fc.array(step, { minLength: 80, maxLength: 150 });
    await fc.assert(
      fc.asyncProperty(long, (steps) => run(steps, 4)),
      { numRuns: 25 },
    );
  });
});
