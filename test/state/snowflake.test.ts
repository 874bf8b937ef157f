// Snowflake worker IDs and segment counters in the replicated state, against a simple model: the lowest free ID,
// freed by a revoke or a release and reusable only from freedAt + TTL + skew, the same after a reload and on
// every replica; segments that never overlap.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeKvCommand, encodeKvCommand, KvStore, type KvCommand, type KvResult } from '../../src/state/index.js';
import { expectOk, Harness } from './helpers.js';
import { MemoryBackend } from './memory-backend.js';

const SKEW_MS = 500;
const grant = (id: number, ttl: number): KvCommand => ({ type: 'leaseGrant', request: { id, ttl } });
const revoke = (id: number, atMs?: number): KvCommand => ({ type: 'leaseRevoke', request: atMs === undefined ? { id } : { id, atMs } });
const allocate = (pool: string, lease: number, nowMs: number, workerCount = 4): KvCommand => ({
  type: 'workerAllocate',
  request: { pool, lease, workerCount, nowMs, maxClockSkewMs: SKEW_MS },
});
const release = (pool: string, workerId: number, lease: number, nowMs: number): KvCommand => ({ type: 'workerRelease', request: { pool, workerId, lease, nowMs } });
const reserve = (name: string, count: number): KvCommand => ({ type: 'segmentReserve', request: { name, count } });

/** What a result is, comparably: the response, or the error code. */
const shown = (result: KvResult): unknown => (result.ok ? result.response : result.error.code);

interface ModelRecord {
  lease: number;
  ttlSeconds: number;
  notBeforeMs: number;
}

class Model {
  readonly leases = new Map<number, number>();
  readonly pools = new Map<string, Map<number, ModelRecord>>();
  readonly counters = new Map<string, number>();

  apply(command: KvCommand): unknown {
    switch (command.type) {
      case 'leaseGrant':
        if (this.leases.has(command.request.id)) return 'ErrLeaseExist';
        this.leases.set(command.request.id, command.request.ttl);
        return { id: command.request.id, ttl: command.request.ttl };
      case 'leaseRevoke': {
        const { id, atMs } = command.request;
        if (!this.leases.has(id)) return 'ErrLeaseNotFound';
        this.leases.delete(id);
        for (const records of this.pools.values()) {
          for (const record of records.values()) {
            if (record.lease !== id) continue;
            record.lease = 0;
            record.notBeforeMs = (atMs ?? 0) + record.ttlSeconds * 1000 + SKEW_MS;
          }
        }
        return {};
      }
      case 'workerAllocate': {
        const { pool, lease, workerCount, nowMs } = command.request;
        const ttl = this.leases.get(lease);
        if (ttl === undefined) return 'ErrLeaseNotFound';
        let records = this.pools.get(pool);
        if (records === undefined) this.pools.set(pool, (records = new Map()));
        for (let id = 0; id < workerCount; id++) {
          const record = records.get(id);
          if (record !== undefined && (record.lease !== 0 || record.notBeforeMs > nowMs)) continue;
          records.set(id, { lease, ttlSeconds: ttl, notBeforeMs: 0 });
          return { workerId: id, notBeforeMs: record?.notBeforeMs ?? 0 };
        }
        return 'ErrWorkerIdsExhausted';
      }
      case 'workerRelease': {
        const { pool, workerId, lease, nowMs } = command.request;
        const record = this.pools.get(pool)?.get(workerId);
        if (record === undefined || record.lease !== lease) return 'ErrWorkerNotHeld';
        record.lease = 0;
        record.notBeforeMs = nowMs + record.ttlSeconds * 1000 + SKEW_MS;
        return {};
      }
      case 'segmentReserve': {
        const start = this.counters.get(command.request.name) ?? 0;
        this.counters.set(command.request.name, start + command.request.count);
        return { start, count: command.request.count };
      }
      default:
        throw new Error(`no model of ${command.type}`);
    }
  }
}

type Step = { kind: 'grant'; lease: number; ttl: number } | { kind: 'revoke'; lease: number } | { kind: 'allocate'; pool: string; lease: number } | { kind: 'release'; pool: string; workerId: number; lease: number } | { kind: 'reserve'; name: string; count: number } | { kind: 'reload' };

const steps = fc.array(
  fc.tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('grant' as const), lease: fc.integer({ min: 1, max: 5 }), ttl: fc.integer({ min: 1, max: 3 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('revoke' as const), lease: fc.integer({ min: 1, max: 5 }) }) },
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('allocate' as const), pool: fc.constantFrom('a', 'a', 'b/c'), lease: fc.integer({ min: 1, max: 5 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pool: fc.constantFrom('a', 'b/c'), workerId: fc.integer({ min: 0, max: 4 }), lease: fc.integer({ min: 1, max: 5 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('reserve' as const), name: fc.constantFrom('x', 'y'), count: fc.integer({ min: 1, max: 1000 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'reload' as const }) },
    ),
    // Wall time moves on by this much before the step (the proposers' clocks, carried in the commands).
    fc.integer({ min: 0, max: 1500 }),
  ),
  { minLength: 30, maxLength: 80 },
);

function commandOf(step: Exclude<Step, { kind: 'reload' }>, nowMs: number): KvCommand {
  switch (step.kind) {
    case 'grant':
      return grant(step.lease, step.ttl);
    case 'revoke':
      return revoke(step.lease, nowMs);
    case 'allocate':
      return allocate(step.pool, step.lease, nowMs);
    case 'release':
      return release(step.pool, step.workerId, step.lease, nowMs);
    case 'reserve':
      return reserve(step.name, step.count);
  }
}

describe('Snowflake worker IDs in the state', () => {
  it('matches the model: the lowest free ID, reusable from freedAt + TTL + skew; segments from 0 without overlap; a reload and a replica agree', async () => {
    await fc.assert(
      fc.asyncProperty(steps, async (plan) => {
        const backend = new MemoryBackend();
        let store = new KvStore();
        await store.load(backend);
        const replica = new Harness();
        await replica.loaded;
        const model = new Model();
        let nowMs = 1_000_000;
        for (const [step, elapsedMs] of plan) {
          nowMs += elapsedMs;
          if (step.kind === 'reload') {
            store = new KvStore();
            await store.load(backend);
            continue;
          }
          const command = commandOf(step, nowMs);
          const expected = model.apply(command);
          // Through the log encoding, as every member reads it.
          const decoded = decodeKvCommand(encodeKvCommand(command));
          const got = shown(await store.apply(decoded, backend));
          expect(got).toEqual(expected);
          expect(shown(await replica.store.apply(decoded, replica.backend))).toEqual(expected);
        }
        expect(backend.dump()).toEqual((replica.backend as MemoryBackend).dump());
      }),
      { numRuns: 150 },
    );
  });

  it('a freed ID is not handed out before its not-before time, then is, with that time', async () => {
    const kv = new Harness();
    await kv.loaded;
    expectOk(await kv.store.apply(grant(1, 2), kv.backend));
    expectOk(await kv.store.apply(grant(2, 2), kv.backend));
    expect(expectOk(await kv.store.apply(allocate('p', 1, 10_000, 1), kv.backend)).response).toEqual({ workerId: 0, notBeforeMs: 0 });
    expectOk(await kv.store.apply(revoke(1, 20_000), kv.backend));
    const notBefore = 20_000 + 2000 + SKEW_MS;
    expect(await kv.store.apply(allocate('p', 2, notBefore - 1, 1), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrWorkerIdsExhausted' } });
    expect(expectOk(await kv.store.apply(allocate('p', 2, notBefore, 1), kv.backend)).response).toEqual({ workerId: 0, notBeforeMs: notBefore });
  });

  it('a revoke that carried no time frees its IDs from the next allocation in the pool', async () => {
    const kv = new Harness();
    await kv.loaded;
    expectOk(await kv.store.apply(grant(1, 2), kv.backend));
    expectOk(await kv.store.apply(grant(2, 2), kv.backend));
    expectOk(await kv.store.apply(allocate('p', 1, 10_000), kv.backend));
    expectOk(await kv.store.apply(revoke(1), kv.backend));
    // At 50 000 the ID is marked free from then on, so the allocation takes the next one; from 52 500 it is free.
    expect(expectOk(await kv.store.apply(allocate('p', 2, 50_000), kv.backend)).response).toEqual({ workerId: 1, notBeforeMs: 0 });
    expect(expectOk(await kv.store.apply(allocate('p', 2, 52_500), kv.backend)).response).toEqual({ workerId: 0, notBeforeMs: 52_500 });
  });

  it('refuses bad names, counts and unknown leases, writing nothing', async () => {
    const kv = new Harness();
    await kv.loaded;
    const before = (kv.backend as MemoryBackend).dump();
    expect(await kv.store.apply(allocate('bad name', 1, 0), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrInvalidField' } });
    expect(await kv.store.apply(allocate('p', 1, 0, 70_000), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrInvalidField' } });
    expect(await kv.store.apply(allocate('p', 9, 0), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrLeaseNotFound' } });
    expect(await kv.store.apply(reserve('x', 0), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrInvalidField' } });
    expect(await kv.store.apply(reserve('x', 2_000_000), kv.backend)).toMatchObject({ ok: false, error: { code: 'ErrInvalidField' } });
    expect((kv.backend as MemoryBackend).dump()).toEqual(before);
  });
});
