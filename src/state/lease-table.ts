// The leases of the replicated state: which exist, the TTL each was granted, and the remaining time the leader
// last checkpointed for it. Time itself is not here: when a lease expires is the leader's business (it measures
// time; the state machine must not), decided outside and applied as a revoke. What is here is what a new leader
// needs to go on from: each lease's TTL and how much of it was left when last checkpointed.
//
// Records ('L' + ID, see kv-layout.ts) hold [ttlSeconds, remainingMs]; remainingMs 0 means "never checkpointed":
// the full TTL from when the grant was applied. Every live lease is also held in memory, so that a put checks its
// lease without a read, and listing leases costs no scan. Attachments of keys ('A' + ID + key) are written by
// the key-value writes (kv-write.ts), so that revoking a lease finds its keys with one range.

import { decodeMsgpack as decode, encodeMsgpack as encode } from '../util/msgpack.js';
import { ConclaveError } from '../protocol/errors.js';
import type { StateReader, StateWriter } from './backend.js';
import { attachedKeyOf, attachmentBounds, LEASE_BOUNDS, leaseKey, leaseOfKey, successor } from './kv-layout.js';

export interface LeaseRecord {
  readonly id: number;
  readonly ttlSeconds: number;
  /** Remaining time at the latest checkpoint, in ms; 0 when none was taken (the full TTL counts). */
  readonly remainingMs: number;
}

function decodeRecord(id: number, bytes: Uint8Array): LeaseRecord {
  const fields = decode(bytes);
  if (!Array.isArray(fields) || typeof fields[0] !== 'number' || typeof fields[1] !== 'number') throw new Error(`lease ${id}: malformed record`);
  return { id, ttlSeconds: fields[0], remainingMs: fields[1] };
}

export class LeaseTable {
  private leases = new Map<number, LeaseRecord>();

  async load(reader: StateReader, pageRows: number): Promise<void> {
    const leases = new Map<number, LeaseRecord>();
    let start: Uint8Array = LEASE_BOUNDS.start;
    for (;;) {
      const rows = await reader.range({ start, end: LEASE_BOUNDS.end, limit: pageRows });
      for (const row of rows) {
        const id = leaseOfKey(row.key);
        leases.set(id, decodeRecord(id, row.value));
      }
      if (rows.length < pageRows) break;
      start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
    }
    this.leases = leases;
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

  grant(writer: StateWriter, id: number, ttlSeconds: number, maxLeases: number): ConclaveError | null {
    if (this.leases.has(id)) return new ConclaveError('ErrLeaseExist');
    if (this.leases.size >= maxLeases) return new ConclaveError('ErrTooManyLeases', `${this.leases.size} leases live, the limit is kvLimits.maxLeases (${maxLeases})`);
    this.store(writer, { id, ttlSeconds, remainingMs: 0 });
    return null;
  }

  /** Records a checkpoint; one for a lease that is gone (revoked after the leader took it) is dropped. */
  checkpoint(writer: StateWriter, id: number, remainingMs: number): void {
    const lease = this.leases.get(id);
    if (lease === undefined) return;
    this.store(writer, { ...lease, remainingMs });
  }

  remove(writer: StateWriter, id: number): void {
    if (!this.leases.delete(id)) throw new Error(`lease ${id}: removed, but it does not exist`);
    writer.delete(leaseKey(id));
  }

  /** The keys attached to a lease, in key order. */
  async attachedKeys(reader: StateReader, id: number, pageRows: number): Promise<Uint8Array[]> {
    const bounds = attachmentBounds(id);
    const keys: Uint8Array[] = [];
    let start = bounds.start;
    for (;;) {
      const rows = await reader.range({ start, end: bounds.end, limit: pageRows });
      for (const row of rows) keys.push(attachedKeyOf(row.key).slice());
      if (rows.length < pageRows) return keys;
      start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
    }
  }

  private store(writer: StateWriter, lease: LeaseRecord): void {
    this.leases.set(lease.id, lease);
    writer.put(leaseKey(lease.id), encode([lease.ttlSeconds, lease.remainingMs]));
  }
}
