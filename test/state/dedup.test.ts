// Deduplication of client request IDs: a write carrying an ID applies once while its record is kept, and every later
// entry with the ID answers the first result; the window is bounded by count and by bytes, forgets the oldest first,
// and a retry that may be older than the window is refused rather than applied twice. Driven through the state
// machine's apply (the envelope, the KV store and the table together) on the in-memory backend.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/raft/index.js';
import type { ClientRequest } from '../../src/protocol/request-id.js';
import { validateClientRequest, clientRequestOfHeaders } from '../../src/protocol/request-id.js';
import { dedupWindow, lookupRequest } from '../../src/state/dedup.js';
import { KvStore, type KvCommand, type KvResult } from '../../src/state/index.js';
import type { BackendWriter } from '../../src/storage/index.js';
import type { DedupLimits } from '../../src/limits.js';
import { ConclaveStateMachine, encodeProposal, type Applied } from '../../src/server/state-machine.js';
import { bytes, latin1, MemoryBackend } from './memory-backend.js';

class Machine {
  readonly kv = new KvStore();
  readonly machine: ConclaveStateMachine;
  private index = 1;

  constructor(
    readonly backend = new MemoryBackend(),
    limits: Partial<DedupLimits> = {},
  ) {
    this.loaded = this.kv.load(backend);
    this.machine = new ConclaveStateMachine(this.kv, limits);
  }

  private readonly loaded: Promise<void>;

  async apply(command: KvCommand, client?: ClientRequest): Promise<KvResult> {
    await this.loaded;
    const entry: Entry = { type: 'normal', term: 1 as Entry['term'], index: ++this.index as Entry['index'], data: encodeProposal('m.0', { kind: 'kv', command }, client) };
    const applied = (await this.machine.apply(entry, this.backend as unknown as BackendWriter)) as Applied;
    return applied.result as KvResult;
  }

  put(key: string, value: string, client?: ClientRequest, prevKv = false): Promise<KvResult> {
    return this.apply({ type: 'put', request: { key: bytes(key), value: bytes(value), prevKv } }, client);
  }

  async version(key: string): Promise<number> {
    const { response } = await this.kv.range({ key: bytes(key) }, this.backend);
    return response.kvs[0]?.version ?? 0;
  }

  /** Backend rows of the deduplication table. */
  async tableRows(): Promise<number> {
    return (await this.backend.range({ start: Uint8Array.of(0x71), end: Uint8Array.of(0x72) })).length;
  }
}

const ok = (result: KvResult) => {
  if (!result.ok) throw result.error;
  return result;
};

describe('request-ID deduplication', () => {
  it('applies a write once and answers every repeat with the first result', async () => {
    const m = new Machine();
    await m.put('k', 'old');
    const first = ok(await m.put('k', 'new', { id: 'c1.1' }, true));
    const again = ok(await m.put('k', 'new', { id: 'c1.1' }, true));
    const retried = ok(await m.put('k', 'new', { id: 'c1.1', retrySinceRevision: 2 }, true));
    expect(await m.version('k')).toBe(2);
    expect(m.kv.revision).toBe(3);
    for (const repeat of [again, retried]) {
      expect(repeat.revision).toBe(first.revision);
      expect(latin1((repeat.response as { prevKv: { value: Uint8Array } }).prevKv.value)).toBe('old');
      expect(repeat.response).toEqual(first.response);
    }
    // Another ID is another write.
    ok(await m.put('k', 'new', { id: 'c1.2' }));
    expect(await m.version('k')).toBe(3);
  });

  it('answers a repeated txn with the branch the first one took, even after the compare stopped holding', async () => {
    const m = new Machine();
    const txn: KvCommand = {
      type: 'txn',
      request: { compare: [{ key: bytes('n'), target: 'version', result: 'equal', version: 0 }], success: [{ requestPut: { key: bytes('n'), value: bytes('1') } }], failure: [{ requestRange: { key: bytes('n') } }] },
    };
    const first = ok(await m.apply(txn, { id: 'txn-1' }));
    const again = ok(await m.apply(txn, { id: 'txn-1' }));
    expect(again).toEqual(first);
    expect((again.response as { succeeded: boolean }).succeeded).toBe(true);
    expect(await m.version('n')).toBe(1);
  });

  it('keeps a refusal as the answer too', async () => {
    const m = new Machine();
    const refused = await m.put('k', 'v', { id: 'lease-1' }, false).then(() => m.apply({ type: 'put', request: { key: bytes('k'), value: bytes('v'), lease: 99 } }, { id: 'lease-2' }));
    expect(refused.ok).toBe(false);
    const again = await m.apply({ type: 'put', request: { key: bytes('k'), value: bytes('v'), lease: 99 } }, { id: 'lease-2' });
    expect(again.ok === false && again.error.code).toBe('ErrLeaseNotFound');
  });

  it('survives a restart: a new store over the same backend still knows the IDs', async () => {
    const backend = new MemoryBackend();
    const before = new Machine(backend);
    const first = ok(await before.put('k', 'v', { id: 'restart.1' }));
    const after = new Machine(backend);
    const again = ok(await after.put('k', 'v', { id: 'restart.1' }));
    expect(again.revision).toBe(first.revision);
    expect(await after.version('k')).toBe(1);
  });

  it('forgets the oldest IDs beyond maxKeptRequests, and refuses a retry it can no longer vouch for', async () => {
    const m = new Machine(new MemoryBackend(), { maxKeptRequests: 3 });
    for (let i = 0; i < 5; i++) ok(await m.put(`k${i}`, 'v', { id: `id.${i}` }));
    // Revisions 2..6; id.0 and id.1 (revisions 2 and 3) are forgotten.
    expect(dedupWindow(m.backend)).toMatchObject({ oldest: 2, next: 5, kept: 3, evictedThroughRevision: 3 });
    expect(await m.tableRows()).toBe(1 + 2 * 3);
    // Still kept: answered, not applied.
    ok(await m.put('k4', 'v', { id: 'id.4', retrySinceRevision: 5 }));
    expect(await m.version('k4')).toBe(1);
    // Forgotten, and the retry's first attempt was sent when revision 2 was known: it may have applied at 2 or 3.
    const expired = await m.put('k1', 'v', { id: 'id.1', retrySinceRevision: 2 });
    expect(expired.ok === false && expired.error.code).toBe('ErrRequestIdExpired');
    expect(await m.version('k1')).toBe(1);
    // A retry of a first attempt sent after revision 3 was known cannot have been forgotten: not found means not applied.
    expect(lookupRequest(m.backend, { id: 'never-seen', retrySinceRevision: 4 })).toEqual({ kind: 'new' });
    // A first attempt carries no revision: applied when not found (a new write that reuses an old ID).
    ok(await m.put('k1', 'v', { id: 'id.1' }));
    expect(await m.version('k1')).toBe(2);
    expect(await m.tableRows()).toBe(1 + 2 * 3);
  });

  it('forgets the oldest records beyond maxKeptBytes, and keeps only the revision of a result over maxKeptResultBytes', async () => {
    const m = new Machine(new MemoryBackend(), { maxKeptBytes: 2000, maxKeptResultBytes: 100 });
    await m.put('big', 'x'.repeat(500));
    const first = ok(await m.put('big', 'y', { id: 'big.1' }, true));
    const again = await m.put('big', 'y', { id: 'big.1' }, true);
    expect(again.ok).toBe(false);
    expect(again.ok === false && again.error.code).toBe('ErrResultNotKept');
    expect(again.ok === false && again.error.message).toContain(`applied at revision ${first.revision}`);
    expect(await m.version('big')).toBe(2);
    for (let i = 0; i < 100; i++) ok(await m.put('small', 'v', { id: `s.${i}` }));
    const window = dedupWindow(m.backend);
    expect(window.keptBytes).toBeLessThanOrEqual(2000);
    expect(window.kept).toBeLessThan(100);
    expect(await m.tableRows()).toBe(1 + 2 * window.kept);
  });

  it('gives every member the same table: random writes, repeats and retries give identical backends, each ID applied once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ id: fc.integer({ min: 0, max: 12 }), retry: fc.boolean() }), { minLength: 1, maxLength: 60 }), async (writes) => {
        const a = new Machine(new MemoryBackend(), { maxKeptRequests: 8 });
        const b = new Machine(new MemoryBackend(), { maxKeptRequests: 8 });
        const applied = new Map<number, number>();
        for (const write of writes) {
          const client: ClientRequest = write.retry ? { id: `r.${write.id}`, retrySinceRevision: 0 } : { id: `r.${write.id}` };
          const ra = await a.put(`key${write.id}`, 'v', client);
          const rb = await b.put(`key${write.id}`, 'v', client);
          expect(JSON.stringify(ra)).toBe(JSON.stringify(rb));
          applied.set(write.id, await a.version(`key${write.id}`));
        }
        expect(a.backend.dump()).toEqual(b.backend.dump());
        expect(await a.tableRows()).toBeLessThanOrEqual(1 + 2 * 8);
      }),
      { numRuns: 100 },
    );
  });

  it('while nothing is forgotten, applies each ID at most once whatever the mix of repeats and retries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ id: fc.integer({ min: 0, max: 12 }), since: fc.option(fc.nat(5), { nil: undefined }) }), { minLength: 1, maxLength: 60 }), async (writes) => {
        const m = new Machine();
        for (const write of writes) await m.put(`key${write.id}`, 'v', write.since === undefined ? { id: `x.${write.id}` } : { id: `x.${write.id}`, retrySinceRevision: write.since });
        for (const id of new Set(writes.map((w) => w.id))) expect(await m.version(`key${id}`)).toBe(1);
      }),
      { numRuns: 100 },
    );
  });
});

describe('client request IDs on the wire', () => {
  it('accepts IDs of the allowed characters up to dedupLimits.maxRequestIdBytes, and refuses the rest with a reason', () => {
    expect(validateClientRequest({ id: 'a1B2.c_d:e-f' })).toBeNull();
    expect(validateClientRequest({ id: 'x'.repeat(64) })).toBeNull();
    expect(validateClientRequest({ id: 'x'.repeat(65) })?.message).toContain('dedupLimits.maxRequestIdBytes (64)');
    expect(validateClientRequest({ id: '' })?.code).toBe('ErrInvalidRequestId');
    expect(validateClientRequest({ id: 'a b' })?.code).toBe('ErrInvalidRequestId');
    expect(validateClientRequest({ id: 'é' })?.code).toBe('ErrInvalidRequestId');
    expect(validateClientRequest({ id: 'a', retrySinceRevision: -1 })?.code).toBe('ErrInvalidRequestId');
  });

  it('reads the headers, and refuses a retry revision without an ID or one that is not a number', () => {
    expect(clientRequestOfHeaders({})).toBeUndefined();
    expect(clientRequestOfHeaders({ 'x-conclave-request-id': 'a.1' })).toEqual({ id: 'a.1' });
    expect(clientRequestOfHeaders({ 'x-conclave-request-id': 'a.1', 'x-conclave-retry-since-revision': '42' })).toEqual({ id: 'a.1', retrySinceRevision: 42 });
    expect(() => clientRequestOfHeaders({ 'x-conclave-retry-since-revision': '42' })).toThrow(/without x-conclave-request-id/);
    expect(() => clientRequestOfHeaders({ 'x-conclave-request-id': 'a.1', 'x-conclave-retry-since-revision': 'soon' })).toThrow(/must be a revision/);
  });

  it('travels in the proposal envelope', async () => {
    const { decodeProposal } = await import('../../src/server/state-machine.js');
    const command: KvCommand = { type: 'put', request: { key: bytes('k'), value: bytes('v') } };
    expect(decodeProposal(encodeProposal('m.1', { kind: 'kv', command }, { id: 'c.7', retrySinceRevision: 12 })).client).toEqual({ id: 'c.7', retrySinceRevision: 12 });
    expect(decodeProposal(encodeProposal('m.1', { kind: 'kv', command }, { id: 'c.7' })).client).toEqual({ id: 'c.7' });
    expect(decodeProposal(encodeProposal('m.1', { kind: 'kv', command })).client).toBeUndefined();
  });
});
