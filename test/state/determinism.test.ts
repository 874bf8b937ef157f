// Apply is deterministic: the same log gives byte-identical state on every member. Random logs mixing every kind of
// command (key-value writes and compactions, lease grants, revokes and checkpoints, sequential puts as locks and
// elections make them, Snowflake worker allocations and releases, segment reserves, registry registrations,
// health changes and deregistrations, member records, and writes carrying client request IDs, retried, for the
// deduplication table) are encoded as Raft entries and applied by the member's state machine on three members
// that differ in everything but the log: in-memory backends with different scan pages, one of them reloading its
// store from the backend now and then (as after a restart), and the real LevelDB backend, flushed at random and
// restarted from disk. Every entry's result must be the same on all three, and so must the whole state: the digest
// of every backend record (hashState), its dump, and the KV-only digest of etcd's HashKV.

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { index, term, type Entry } from '../../src/raft/index.js';
import { registrationPut, instanceKey } from '../../src/protocol/registry-record.js';
import type { ClientRequest } from '../../src/protocol/request-id.js';
import { ConclaveStateMachine, encodeProposal, type Command } from '../../src/server/state-machine.js';
import { hashState, KvStore, type KvCommand, type StateWriter } from '../../src/state/index.js';
import type { BackendWriter, NodeStorage } from '../../src/storage/index.js';
import { hardState, openStorage, ready, removeTempDirs, withTempDir } from '../storage/helpers.js';
import { command as kvCommand, resolveCommand, toKvCommand } from './arbitraries.js';
import { bytes, latin1, MemoryBackend } from './memory-backend.js';

afterAll(removeTempDirs);

const lease = fc.integer({ min: 1, max: 3 });
const service = fc.constantFrom('web', 'db');
const instance = fc.constantFrom('i1', 'i2');

/** A command, some of whose fields are picked when it is appended (from the log's revision and clock so far). */
type Pick = (at: { revision: number; nowMs: number }) => Command;

const kv = (pick: (at: { revision: number; nowMs: number }) => KvCommand): Pick => (at) => ({ kind: 'kv', command: pick(at) });

const picks: fc.Arbitrary<Pick> = fc.oneof(
  { weight: 6, arbitrary: kvCommand.map((c) => kv(({ revision }) => toKvCommand(resolveCommand(c, revision)))) },
  { weight: 2, arbitrary: fc.tuple(lease, fc.integer({ min: 1, max: 30 })).map(([id, ttl]) => kv(() => ({ type: 'leaseGrant', request: { id, ttl } }))) },
  { weight: 1, arbitrary: lease.map((id) => kv(({ nowMs }) => ({ type: 'leaseRevoke', request: { id, atMs: nowMs } }))) },
  { weight: 1, arbitrary: fc.array(fc.record({ id: lease, remainingMs: fc.nat(30_000) }), { maxLength: 3 }).map((checkpoints) => kv(() => ({ type: 'leaseCheckpoint', request: { checkpoints } }))) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('lock/', 'el/'), fc.integer({ min: 0, max: 3 }), fc.boolean()).map(([prefix, id, onePerLease]) =>
      kv(() => ({ type: 'putSequential', request: { prefix: bytes(prefix), value: bytes('v'), ...(id === 0 ? {} : { lease: id }), ...(onePerLease ? { onePerLease } : {}) } })),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('p', 'q'), lease).map(([pool, id]) => kv(({ nowMs }) => ({ type: 'workerAllocate', request: { pool, lease: id, workerCount: 4, nowMs, maxClockSkewMs: 1000 } }))),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('p', 'q'), fc.nat(3), lease).map(([pool, workerId, id]) => kv(({ nowMs }) => ({ type: 'workerRelease', request: { pool, workerId, lease: id, nowMs } }))) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('orders', 'ids'), fc.integer({ min: 1, max: 5 })).map(([name, count]) => kv(() => ({ type: 'segmentReserve', request: { name, count } }))) },
  {
    weight: 2,
    arbitrary: fc.tuple(service, instance, lease, fc.boolean()).map(([s, i, id, checked]) =>
      kv(() => {
        const check = checked ? { check: { type: 'tcp' as const, intervalMs: 1000, timeoutMs: 100 } } : {};
        return { type: 'registryWrite', request: { type: 'put', request: registrationPut({ service: s, instance: i, address: 'h', port: 80, lease: id, ...check }) } };
      }),
    ),
  },
  // The leader's record of a health change: applied only if the record is unchanged since the revision it read.
  {
    weight: 1,
    arbitrary: fc.tuple(service, instance, fc.nat(3)).map(([s, i, back]) =>
      kv(({ revision }) => {
        const key = instanceKey(s, i);
        const put = { requestPut: { key, value: bytes('{"address":"h","port":80,"health":"critical"}'), ignoreLease: true } };
        return { type: 'registryWrite', request: { type: 'txn', request: { compare: [{ key, target: 'mod', result: 'equal', modRevision: Math.max(0, revision - back) }], success: [put], failure: [] } } };
      }),
    ),
  },
  { weight: 1, arbitrary: fc.tuple(service, instance).map(([s, i]) => kv(() => ({ type: 'registryWrite', request: { type: 'deleteRange', request: { key: instanceKey(s, i) } } }))) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('00000000000000aa', '00000000000000bb'), fc.boolean(), fc.constantFrom('n1', 'n2')).map(([id, forget, name]): Pick =>
      () => ({ kind: 'member', command: forget ? { type: 'memberForget', id } : { type: 'memberUpsert', id, name, clientUrls: [`http://${name}:2379`] } }),
    ),
  },
);

interface Step {
  readonly pick: Pick;
  /** A client request ID (a small pool, so that some are repeated), with a retry revision on some. */
  readonly client: { id: number; retry: boolean } | null;
  readonly elapsedMs: number;
  /** What the members do after this entry. */
  readonly reloadMemory: boolean;
  readonly flushDisk: boolean;
  readonly restartDisk: boolean;
}

const step: fc.Arbitrary<Step> = fc.record({
  pick: picks,
  client: fc.option(fc.record({ id: fc.nat(6), retry: fc.boolean() }), { nil: null, freq: 3 }),
  elapsedMs: fc.nat(3000),
  reloadMemory: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  flushDisk: fc.boolean(),
  restartDisk: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
});

/**
 * JSON of a result with bytes as latin1 and errors with their message. Reads the holder's own value: a Buffer (the
 * LevelDB backend's bytes) would reach a replacer already turned into {type, data} by its toJSON.
 */
function showBytes(this: Record<string, unknown>, name: string, value: unknown): unknown {
  const raw = this[name];
  if (raw instanceof Uint8Array) return latin1(raw);
  return raw instanceof Error ? { ...raw, message: raw.message } : value;
}

/** A member: a store and the state machine around it (deduplication, member records) on one backend. */
class Member {
  store: KvStore;
  machine: ConclaveStateMachine;

  constructor(
    public backend: StateWriter,
    private readonly pageRows: number,
  ) {
    ({ store: this.store, machine: this.machine } = this.fresh());
  }

  private fresh(): { store: KvStore; machine: ConclaveStateMachine } {
    const store = new KvStore({ limits: { scanPageRows: this.pageRows } });
    // A small window, so that records are forgotten and retries past it refused.
    return { store, machine: new ConclaveStateMachine(store, { maxKeptRequests: 3 }) };
  }

  /** A new store and state machine that read everything from the backend, as after a restart. */
  async reload(backend: StateWriter = this.backend): Promise<void> {
    this.backend = backend;
    ({ store: this.store, machine: this.machine } = this.fresh());
    await this.store.load(backend);
  }

  async apply(entry: Entry): Promise<string> {
    // The state machine only reads and writes records: the in-memory backend lacks storage's applied index only.
    const applied = await this.machine.apply(entry, this.backend as BackendWriter);
    return JSON.stringify(applied?.result ?? null, showBytes);
  }
}

async function dumpOf(backend: StateWriter): Promise<[string, string][]> {
  return (await backend.range({ start: new Uint8Array(0) })).map(({ key, value }) => [latin1(key), latin1(value)]);
}

/** First bytes of the records the runs held at some point, to check that the mix reaches every state module. */
const prefixesSeen = new Set<string>();

async function run(steps: readonly Step[], dataDir: string): Promise<void> {
  let storage: NodeStorage = await openStorage(dataDir);
  try {
    const members = [new Member(new MemoryBackend(), 1024), new Member(new MemoryBackend(), 2), new Member(storage.backend, 3)] as const;
    const [, inMemory, onDisk] = members;
    let nowMs = 1_000_000;
    const unpersisted: Entry[] = [];
    for (const [at, next] of steps.entries()) {
      nowMs += next.elapsedMs;
      const command = next.pick({ revision: members[0].store.revision, nowMs });
      const client: ClientRequest | undefined =
        next.client === null || command.kind !== 'kv' ? undefined : next.client.retry ? { id: `c.${next.client.id}`, retrySinceRevision: Math.max(0, members[0].store.revision - 3) } : { id: `c.${next.client.id}` };
      const entry: Entry = { index: index(at + 1), term: term(1), type: 'normal', data: encodeProposal(`m.${at}`, command, client) };
      const results = [];
      for (const member of members) results.push(await member.apply(entry));
      storage.backend.setApplied(entry.index, entry.term);
      expect(results[1], `entry ${at + 1}: ${results[0]}`).toBe(results[0]);
      expect(results[2], `entry ${at + 1}: ${results[0]}`).toBe(results[0]);
      for (const [key] of (members[0].backend as MemoryBackend).dump()) prefixesSeen.add(key[0] as string);
      if (next.reloadMemory) await inMemory.reload();
      if (next.flushDisk) await storage.flushApplied();
      unpersisted.push(entry);
      if (next.restartDisk) {
        // As the member's loop does: the entries and the commit index that covers them are durable first.
        await storage.persist(ready({ entries: unpersisted.splice(0), hardState: hardState(1, at + 1) }));
        await storage.flushApplied();
        await storage.close();
        storage = await openStorage(dataDir);
        await onDisk.reload(storage.backend);
      }
    }
    const states = await Promise.all(members.map(async (m) => ({ state: await hashState(m.backend, 4), kv: await m.store.hash(m.backend), dump: await dumpOf(m.backend) })));
    for (const other of states.slice(1)) {
      expect(other.dump).toEqual(states[0]?.dump);
      expect(other.state).toBe(states[0]?.state);
      expect(other.kv).toEqual(states[0]?.kv);
    }
  } finally {
    await storage.close();
  }
}

describe('apply is deterministic', () => {
  it('gives every member byte-identical state, recipe records and all, for any log', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: 80 }), (steps) => withTempDir((dir) => run(steps, dir), 'conclave-determinism-')),
      { numRuns: 40 },
    );
    // KV records, leases and attachments, sequence hints, workers, counters, the deduplication table, members.
    expect([...prefixesSeen].sort()).toEqual(['A', 'G', 'L', 'M', 'S', 'W', 'h', 'k', 'q', 'r', 'v']);
  });

  it('hashes every record: state that the KV digest cannot see changes the state digest', async () => {
    const digests = async (commands: KvCommand[]) => {
      const backend = new MemoryBackend();
      const store = new KvStore();
      for (const command of [{ type: 'leaseGrant', request: { id: 1, ttl: 10 } } as KvCommand, ...commands]) await store.apply(command, backend);
      return { kv: (await store.hash(backend)).hash, state: await hashState(backend, 2) };
    };
    const base = await digests([]);
    for (const command of [
      { type: 'workerAllocate', request: { pool: 'p', lease: 1, workerCount: 4, nowMs: 5, maxClockSkewMs: 1000 } },
      { type: 'segmentReserve', request: { name: 'orders', count: 3 } },
      { type: 'leaseCheckpoint', request: { checkpoints: [{ id: 1, remainingMs: 7 }] } },
      { type: 'leaseGrant', request: { id: 2, ttl: 10 } },
    ] satisfies KvCommand[]) {
      const changed = await digests([command]);
      expect(changed.kv, command.type).toBe(base.kv);
      expect(changed.state, command.type).not.toBe(base.state);
    }
  });
});
