// The leases of the replicated state: which exist, the TTL each was granted, and the remaining time the leader
// last checkpointed for it. Time itself is not here: when a lease expires is the leader's business (it measures
// time; the state machine must not), decided outside and applied as a revoke. What is here is what a new leader
// needs to go on from: each lease's TTL and how much of it was left when last checkpointed.
//
// Records ('L' + ID, see kv-layout.ts) hold [ttlSeconds, remainingMs] and, when the command carried one, the
// stamp of its proposer's clock (kv-command.ts: when that time left was measured); remainingMs 0 means "never
// checkpointed": the full TTL from the grant. Every live lease is also held in memory, so that a put checks its
// lease without a read, and listing leases costs no scan. Attachments of keys ('A' + ID + key) are written by
// the key-value writes (kv-write.ts, through attach/detach), so that revoking a lease finds its keys with one range;
// how many each lease has is held in memory (counted again on load), so that revoking a lease with none, as a lock
// cycle does after its unlock, costs no range at all: a range of LevelDB is a native iterator, the dearest read.

import { decodeMsgpack as decode, encodeMsgpack as encode } from '../util/msgpack.js';
import { ConclaveError } from '../protocol/errors.js';
import type { StateReader, StateWriter } from './backend.js';
import { Fields, readStamp, stampFields, type LeaseStamp } from './kv-command.js';
import { ATTACHMENT_BOUNDS, attachedKeyOf, attachmentBounds, attachmentKey, EMPTY, LEASE_BOUNDS, leaseKey, leaseOfKey, successor } from './kv-layout.js';

export interface LeaseRecord {
  readonly id: number;
  readonly ttlSeconds: number;
  /** Remaining time at the latest checkpoint, in ms; 0 when none was taken (the full TTL counts). */
  readonly remainingMs: number;
  /** When the grant or latest checkpoint was measured, if its command said. */
  readonly stamp?: LeaseStamp;
}

function decodeRecord(id: number, bytes: Uint8Array): LeaseRecord {
  try {
    const fields = Fields.of(decode(bytes), `lease ${id}`);
    const ttlSeconds = fields.int();
    const remainingMs = fields.int();
    const stamp = readStamp(fields);
    fields.done();
    return stamp === undefined ? { id, ttlSeconds, remainingMs } : { id, ttlSeconds, remainingMs, stamp };
  } catch (error) {
    throw new Error(`lease ${id}: malformed record (${error instanceof Error ? error.message : String(error)})`);
  }
}

export class LeaseTable {
  private leases = new Map<number, LeaseRecord>();
  /** Attached keys per live lease; a lease with none has no entry. */
  private attached = new Map<number, number>();

  async load(reader: StateReader, pageRows: number): Promise<void> {
    const leases = new Map<number, LeaseRecord>();
    for await (const row of pages(reader, LEASE_BOUNDS, pageRows)) {
      const id = leaseOfKey(row.key);
      leases.set(id, decodeRecord(id, row.value));
    }
    const attached = new Map<number, number>();
    // Attachments are only ever of live leases: with none, there is nothing to count.
    if (leases.size > 0) {
      for await (const row of pages(reader, ATTACHMENT_BOUNDS, pageRows)) {
        const id = leaseOfKey(row.key);
        if (!leases.has(id)) throw new Error(`a key is attached to lease ${id}, which does not exist`);
        attached.set(id, (attached.get(id) ?? 0) + 1);
      }
    }
    this.leases = leases;
    this.attached = attached;
  }

  get size(): number {
    return this.leases.size;
  }

  has(id: number): boolean {
    return this.leases.has(id);
  }

  get(id: number): LeaseRecord | undefined {
    return this.leases.get(id);
  }

  /** Every live lease, by ID. */
  all(): IterableIterator<LeaseRecord> {
    return this.leases.values();
  }

  grant(writer: StateWriter, id: number, ttlSeconds: number, maxLeases: number, stamp?: LeaseStamp): ConclaveError | null {
    if (this.leases.has(id)) return new ConclaveError('ErrLeaseExist');
    if (this.leases.size >= maxLeases) return new ConclaveError('ErrTooManyLeases', `${this.leases.size} leases live, the limit is kvLimits.maxLeases (${maxLeases})`);
    this.store(writer, stamp === undefined ? { id, ttlSeconds, remainingMs: 0 } : { id, ttlSeconds, remainingMs: 0, stamp });
    return null;
  }

  /** Records a checkpoint; one for a lease that is gone (revoked after the leader took it) is dropped. */
  checkpoint(writer: StateWriter, id: number, remainingMs: number, stamp?: LeaseStamp): void {
    const lease = this.leases.get(id);
    if (lease === undefined) return;
    this.store(writer, stamp === undefined ? { id, ttlSeconds: lease.ttlSeconds, remainingMs } : { id, ttlSeconds: lease.ttlSeconds, remainingMs, stamp });
  }

  /** Only once its keys are gone: their attachments would outlive it. */
  remove(writer: StateWriter, id: number): void {
    if (this.attached.has(id)) throw new Error(`lease ${id}: removed with ${this.attached.get(id)} keys still attached`);
    if (!this.leases.delete(id)) throw new Error(`lease ${id}: removed, but it does not exist`);
    writer.delete(leaseKey(id));
  }

  /** `key` joins lease `id` (which exists: the caller checked). */
  attach(writer: StateWriter, id: number, key: Uint8Array): void {
    if (!this.leases.has(id)) throw new Error(`key ${keyName(key)} attached to lease ${id}, which does not exist`);
    this.attached.set(id, (this.attached.get(id) ?? 0) + 1);
    writer.put(attachmentKey(id, key), EMPTY);
  }

  /** `key`, attached to lease `id`, leaves it (deleted, or moved to another lease). */
  detach(writer: StateWriter, id: number, key: Uint8Array): void {
    const count = this.attached.get(id) ?? 0;
    if (count <= 0) throw new Error(`key ${keyName(key)} detached from lease ${id}, which has no keys`);
    if (count === 1) this.attached.delete(id);
    else this.attached.set(id, count - 1);
    writer.delete(attachmentKey(id, key));
  }

  /** How many keys are attached to a lease. */
  attachedCount(id: number): number {
    return this.attached.get(id) ?? 0;
  }

  /** The keys attached to a lease, in key order. */
  async attachedKeys(reader: StateReader, id: number, pageRows: number): Promise<Uint8Array[]> {
    const keys: Uint8Array[] = [];
    if (!this.attached.has(id)) return keys;
    for await (const row of pages(reader, attachmentBounds(id), pageRows)) keys.push(attachedKeyOf(row.key).slice());
    return keys;
  }

  private store(writer: StateWriter, lease: LeaseRecord): void {
    this.leases.set(lease.id, lease);
    writer.put(leaseKey(lease.id), encode([lease.ttlSeconds, lease.remainingMs, ...stampFields(lease.stamp)]));
  }
}

/** The rows of a backend range, read `pageRows` at a time. */
async function* pages(reader: StateReader, bounds: { readonly start: Uint8Array; readonly end: Uint8Array }, pageRows: number): AsyncGenerator<{ key: Uint8Array; value: Uint8Array }> {
  let start = bounds.start;
  for (;;) {
    const rows = await reader.range({ start, end: bounds.end, limit: pageRows });
    yield* rows;
    if (rows.length < pageRows) return;
    start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
  }
}

const keyName = (key: Uint8Array): string => JSON.stringify(new TextDecoder().decode(key));
