// The crash test's state machine, its model, and the writer that drives a single-voter RaftNode through
// NodeStorage with it. Used by the child process (which gets killed) and, in-process, by the harness (which
// replays and checks what survived, and grows a data directory before an install).
//
// Every proposal carries the next id of one sequence: 1, 2, 3, ... Applying id n puts `k/<n % 97>` = value(n)
// (deletes it instead when n is a multiple of 7) and `last` = n, and refuses an id that is not last + 1, so
// that a hole or a duplicate in what was committed stops the loop. The state after ids 1..K is a function of K
// alone (model(K)), so what survived a crash can be compared with what it must be, key for key.

import { RaftNode, nodeId, type Entry } from '../../../src/raft/index.js';
import { RaftLoop, type StateMachine } from '../../../src/server/raft-loop.js';
import type { BackendReader, BackendWriter, NodeStorage } from '../../../src/storage/index.js';

export const NODE = nodeId('n1');
export const SLOTS = 97;
export const DELETE_EVERY = 7;

const LAST_KEY = Buffer.from('last');
const slotKey = (slot: number): Buffer => Buffer.from(`k/${slot}`);
/** Values of varying size, so that snapshot blocks and install batches split at varying places. */
export const valueOf = (id: number): string => `${id}${'.'.repeat(id % 40)}`;

/** An apply that found an id out of sequence: a hole, a duplicate or garbage in the committed log. */
export class SequenceError extends Error {
  override readonly name = 'SequenceError';
}

export function encodeProposal(id: number): Uint8Array {
  return Buffer.from(`id:${id}`);
}

/** The id a log entry carries, or null for an entry that is not a proposal (the bootstrap entry, a leader's no-op). */
export function decodeProposal(entry: Entry): number | null {
  if (entry.type !== 'normal' || entry.data.length === 0) return null;
  const text = Buffer.from(entry.data).toString('latin1');
  const match = /^id:([1-9][0-9]*)$/.exec(text);
  if (match === null) throw new SequenceError(`entry ${entry.index} carries ${JSON.stringify(text.slice(0, 40))}, not a proposal of this test`);
  return Number(match[1]);
}

/** The highest id applied to the backend (0 when none). */
export function lastId(backend: BackendReader): number {
  const value = backend.get(LAST_KEY);
  if (value === undefined) return 0;
  const text = Buffer.from(value).toString('latin1');
  if (!/^[1-9][0-9]*$/.test(text)) throw new SequenceError(`the backend's "last" holds ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

export const stateMachine: StateMachine = {
  apply(entry: Entry, backend: BackendWriter): number | null {
    const id = decodeProposal(entry);
    if (id === null) return null;
    const last = lastId(backend);
    if (id !== last + 1) {
      throw new SequenceError(`entry ${entry.index} carries id ${id} but the state is at id ${last} (${id <= last ? 'a duplicate' : `a hole of ${id - last - 1}`})`);
    }
    const slot = slotKey(id % SLOTS);
    if (id % DELETE_EVERY === 0) backend.delete(slot);
    else backend.put(slot, Buffer.from(valueOf(id)));
    backend.put(LAST_KEY, Buffer.from(String(id)));
    return id;
  },
};

/** The backend's key space after ids 1..k, as key -> value strings. */
export function model(k: number): Map<string, string> {
  const state = new Map<string, string>();
  for (let slot = 0; slot < SLOTS; slot++) {
    // The latest id <= k that touched this slot decides it.
    if (k < slot) continue;
    const id = k - ((k - slot) % SLOTS);
    if (id <= 0 || id % DELETE_EVERY === 0) continue;
    state.set(`k/${slot}`, valueOf(id));
  }
  if (k > 0) state.set('last', String(k));
  return state;
}

/** Sorted key/value pairs of model(k), for a snapshot file of that state. */
export function modelPairs(k: number): [Uint8Array, Uint8Array][] {
  return [...model(k)].map(([key, value]): [Buffer, Buffer] => [Buffer.from(key), Buffer.from(value)]).sort((a, b) => Buffer.compare(a[0], b[0]));
}

/** model(k) as the batches writeSnapshotFile reads. */
export async function* modelBatches(k: number): AsyncGenerator<[Uint8Array, Uint8Array][]> {
  yield modelPairs(k);
}

/** The whole key space of a backend (staged changes included), as key -> value strings. */
export async function backendContents(backend: BackendReader): Promise<Map<string, string>> {
  const pairs = await backend.range({ start: Buffer.alloc(0) });
  return new Map(pairs.map(({ key, value }) => [Buffer.from(key).toString('latin1'), Buffer.from(value).toString('latin1')]));
}

/** The first few differences between two key spaces, or null when they are equal. */
export function diffContents(actual: ReadonlyMap<string, string>, expected: ReadonlyMap<string, string>): string | null {
  const differences: string[] = [];
  for (const [key, value] of expected) {
    const got = actual.get(key);
    if (got !== value) differences.push(`${key}: ${got === undefined ? 'missing' : JSON.stringify(got)}, expected ${JSON.stringify(value)}`);
  }
  for (const [key, value] of actual) if (!expected.has(key)) differences.push(`${key}: ${JSON.stringify(value)} should not exist`);
  if (differences.length === 0) return null;
  return `${differences.length} differences: ${differences.slice(0, 4).join('; ')}${differences.length > 4 ? '; ...' : ''}`;
}

/** The highest id anywhere in durable storage: applied to the backend, or in a stored entry (applied or not). */
export function highestStoredId(storage: NodeStorage): number {
  let highest = lastId(storage.backend);
  for (const entry of storage.restored?.entries ?? []) highest = Math.max(highest, decodeProposal(entry) ?? 0);
  return highest;
}

export interface WriterOptions {
  readonly storage: NodeStorage;
  readonly random: () => number;
  /** Proposals in flight (proposed, not yet applied) at most. */
  readonly window: number;
  readonly snapshotCatchUpEntries: number;
  /** Highest id to propose; unbounded when absent. */
  readonly upTo?: number;
  /** Called before the ids up to `id` are proposed. */
  readonly onPropose?: (id: number) => void;
  /** Called once an entry carrying `id` is applied (and therefore committed and durable). */
  readonly onAck?: (id: number) => void;
  readonly onFatal: (error: Error) => void;
}

/**
 * A single-voter member that campaigns, then keeps `window` proposals of the next ids in flight. Ids continue
 * after the highest one stored, applied or not: the new leader commits the entries of its old log, so
 * reusing their ids would be a duplicate.
 */
export class Writer {
  readonly node: RaftNode;
  readonly loop: RaftLoop;
  private nextId: number;
  private readonly firstOwnId: number;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WriterOptions) {
    const { storage } = options;
    this.nextId = highestStoredId(storage) + 1;
    this.firstOwnId = this.nextId;
    this.node = new RaftNode({ id: NODE, initialConfig: { voters: [NODE], learners: [] }, restored: storage.restored, random: options.random });
    this.loop = new RaftLoop({
      node: this.node,
      storage,
      stateMachine,
      send: () => {},
      onApplied: (_entry, result) => this.applied(result),
      onFatal: options.onFatal,
      snapshotCatchUpEntries: options.snapshotCatchUpEntries,
    });
  }

  start(): void {
    this.node.campaign();
    this.loop.kick();
  }

  /** Resolves once every id up to `upTo` is applied (requires `upTo`). */
  whenDone(): Promise<void> {
    if (this.finished()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private applied(result: unknown): void {
    if (typeof result === 'number') {
      if (result >= this.firstOwnId) this.inflight--;
      this.options.onAck?.(result);
    }
    this.pump();
    if (this.finished()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private finished(): boolean {
    const { upTo } = this.options;
    return upTo !== undefined && this.nextId > upTo && this.inflight === 0;
  }

  private pump(): void {
    if (this.node.status().role !== 'leader') return;
    const { upTo, window } = this.options;
    let last = this.nextId - 1;
    while (this.inflight + (last - this.nextId + 1) < window && (upTo === undefined || last < upTo)) last++;
    if (last < this.nextId) return;
    this.options.onPropose?.(last);
    for (; this.nextId <= last; this.nextId++) {
      const error = this.node.propose(encodeProposal(this.nextId));
      if (error !== null) throw error;
      this.inflight++;
    }
    this.loop.kick();
  }
}
