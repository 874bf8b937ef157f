// The replicated MVCC key-value store (etcd v3 semantics). One global revision: a command that writes takes the
// next one, shared by all its writes (with increasing sub-revisions); reads, no-op deletes, read-only txns, failed
// commands and compactions leave it alone. A fresh store is at revision 1, so the first write is revision 2, as in
// etcd. The layout of its records is described in kv-layout.ts (keys) and kv-records.ts (values).
//
// apply() runs one command at a time, in log order, and is deterministic: the same commands give the same backend
// contents on every member. range() and hash() are served at any time, outside the log order. A command that awaits
// the backend (a ranged delete, a txn, a compaction) holds a gate while it runs, and reads wait at the gate, so no
// read sees half of a command. A read at the current revision takes its view in one backend call (or point reads),
// issued in the turn it passes the gate; the event records it then fetches values from never change. Reads of the
// past page through history records, which writes only add to. Only compaction removes records, so it waits, gate
// held, until the reads in flight are done.
//
// If apply() throws (the backend failed), what it staged is incomplete: the member must stop, as for any failure
// to apply an entry.

import { kvLimits, type KvLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, RangeResponse, TxnRequest } from '../protocol/kv.js';
import type { StateReader, StateWriter } from './backend.js';
import type { KvCommand, KvResult, PlainWrite } from './kv-command.js';
import { compactHistory } from './kv-compact.js';
import { replayEvents, type RevisionEvents } from './kv-events.js';
import { hashRecords } from './kv-hash.js';
import { keyName, META_KEY } from './kv-layout.js';
import { LeaseTable } from './lease-table.js';
import { decodeMeta, encodeMeta } from './kv-records.js';
import { readRange } from './kv-read.js';
import { applyTxn } from './kv-txn.js';
import { validateKvCommand, validateRangeRequest } from './kv-validate.js';
import { WriteContext } from './kv-write.js';
import { putSequential } from './kv-sequential.js';
import type { PutSequentialRequest } from '../protocol/lock.js';
import { SegmentCounters } from './segments.js';
import { WorkerTable } from './workers.js';

export interface KvStoreOptions {
  readonly limits?: Partial<KvLimits>;
}

const FRESH_REVISION = 1;

export class KvStore {
  private current = FRESH_REVISION;
  private compacted = 0;
  /** The live leases (a put with a lease that is not among them fails ErrLeaseNotFound). */
  readonly leases = new LeaseTable();
  private readonly leaseExists = (lease: number): boolean => this.leases.has(lease);
  /** Snowflake worker IDs, each bound to a lease (freed in its revoke), and segment counters. */
  readonly workers = new WorkerTable();
  private readonly segments = new SegmentCounters();
  private readonly limits: KvLimits;
  private applying = false;
  /** Set while load() reads the backend: an apply then would be overwritten by what it read before. */
  private loading = false;
  /** Held while the backend is replaced (a snapshot install): reads wait, as they do for an apply. */
  private replacing = false;
  private gateWaiters: (() => void)[] = [];
  private readsInFlight = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(options: KvStoreOptions = {}) {
    this.limits = { ...kvLimits, ...options.limits };
  }

  /** Re-reads the revisions and the leases from the backend: at start, and after a snapshot replaced the backend. */
  async load(reader: StateReader): Promise<void> {
    if (this.applying || this.loading) throw new Error('KvStore.load() during an apply or another load');
    this.loading = true;
    try {
      const bytes = reader.get(META_KEY);
      const meta = bytes === undefined ? { revision: FRESH_REVISION, compactRevision: 0 } : decodeMeta(bytes);
      this.current = meta.revision;
      this.compacted = meta.compactRevision;
      // Issued together: each table's first page is asked for in this turn.
      await Promise.all([this.leases, this.workers, this.segments].map((table) => table.load(reader, this.limits.scanPageRows)));
    } finally {
      this.loading = false;
    }
  }

  get revision(): number {
    return this.current;
  }

  /** The revision of the latest compaction, 0 if none: reads below it fail ErrCompacted. */
  get compactRevision(): number {
    return this.compacted;
  }

  async apply(command: KvCommand, writer: StateWriter): Promise<KvResult> {
    if (this.applying) throw new Error('KvStore.apply() while another apply is in progress: commands apply one at a time, in log order');
    if (this.replacing) throw new Error('KvStore.apply() while the backend is being replaced');
    if (this.loading) throw new Error('KvStore.apply() while the store loads');
    const invalid = validateKvCommand(command, this.limits);
    if (invalid !== null) return this.refuse(invalid);
    this.applying = true;
    try {
      switch (command.type) {
        case 'put':
        case 'deleteRange':
        case 'txn':
          return await this.write(command, writer);
        // Validated as a registry write (its keys under the registry's prefix), applied as the write it carries.
        case 'registryWrite':
          return await this.write(command.request, writer);
        case 'compact':
          return await this.compact(command.request, writer);
        case 'leaseGrant': {
          const refused = this.leases.grant(writer, command.request.id, command.request.ttl, this.limits.maxLeases, command.request.stamp);
          return refused === null ? { revision: this.current, ok: true, response: { id: command.request.id, ttl: command.request.ttl } } : this.refuse(refused);
        }
        case 'leaseRevoke':
          return await this.revokeLease(command.request.id, command.request.atMs ?? 0, writer);
        case 'putSequential':
          return this.putSequential(command.request, writer);
        case 'leaseCheckpoint':
          for (const { id, remainingMs } of command.request.checkpoints) this.leases.checkpoint(writer, id, remainingMs, command.request.stamp);
          return { revision: this.current, ok: true, response: {} };
        case 'workerAllocate':
          return this.outcome(this.workers.allocate(writer, command.request, this.leases.get(command.request.lease)?.ttlSeconds));
        case 'workerRelease':
          return this.outcome(this.workers.release(writer, command.request) ?? {});
        case 'segmentReserve':
          return this.outcome(this.segments.reserve(writer, command.request));
        default:
          throw new Error(`unknown key-value command ${(command as { type: unknown }).type as string}`);
      }
    } finally {
      this.applying = false;
      for (const wake of this.gateWaiters.splice(0)) wake();
    }
  }

  /** Serves a range outside the log order. Throws ConclaveError (ErrCompacted, ErrFutureRev, or a refused request). */
  async range(request: RangeRequest, reader: StateReader): Promise<{ revision: number; response: RangeResponse }> {
    const invalid = validateRangeRequest(request, this.limits);
    if (invalid !== null) throw invalid;
    // Checked again after every wait, and nothing awaited between passing it and readRange's backend call: an
    // apply that started in between would otherwise be seen half done.
    while (this.gateClosed) await this.gateOpened();
    this.readsInFlight++;
    try {
      const revision = this.current;
      const response = await readRange(reader, request, { revision, compactRevision: this.compacted, pageRows: this.limits.scanPageRows });
      return { revision, response };
    } finally {
      this.leave();
    }
  }

  /**
   * The events of revisions [from, through] (through at most the current revision), grouped by revision, in order.
   * Runs as a read: compaction waits until it is done, so nothing it walks disappears under it. Throws
   * ErrCompacted when `from` is at or below the compact revision (compaction there removed tombstones, so the
   * events of those revisions are no longer complete) and ErrFutureRev beyond the current revision.
   */
  async replayEvents(reader: StateReader, from: number, through: number, sink: (events: RevisionEvents) => boolean): Promise<void> {
    while (this.gateClosed) await this.gateOpened();
    this.readsInFlight++;
    try {
      if (from <= this.compacted) throw new ConclaveError('ErrCompacted', `watch from revision ${from}, compacted through ${this.compacted}`);
      if (through > this.current) throw new ConclaveError('ErrFutureRev', `revision ${through}, the store is at ${this.current}`);
      await replayEvents(reader, from, through, this.limits.scanPageRows, sink);
    } finally {
      this.leave();
    }
  }

  /** The keys attached to a lease now, in key order (a read: it waits at the gate). */
  async attachedKeys(reader: StateReader, lease: number): Promise<Uint8Array[]> {
    while (this.gateClosed) await this.gateOpened();
    this.readsInFlight++;
    try {
      return await this.leases.attachedKeys(reader, lease, this.limits.scanPageRows);
    } finally {
      this.leave();
    }
  }

  /** A digest of the MVCC state at the current revision, equal on members that applied the same commands. */
  async hash(reader: StateReader): Promise<{ hash: number; revision: number; compactRevision: number }> {
    while (this.gateClosed) await this.gateOpened();
    this.readsInFlight++;
    try {
      const revision = this.current;
      const compactRevision = this.compacted;
      return { hash: await hashRecords(reader, revision, this.limits.scanPageRows), revision, compactRevision };
    } finally {
      this.leave();
    }
  }

  // ---- commands ----

  private context(writer: StateWriter): WriteContext {
    return new WriteContext(writer, this.current, this.compacted, this.limits.scanPageRows, this.leases);
  }

  private write(write: PlainWrite, writer: StateWriter): KvResult | Promise<KvResult> {
    switch (write.type) {
      case 'put':
        return this.put(write.request, writer);
      case 'deleteRange':
        return this.deleteRange(write.request, writer);
      case 'txn':
        return this.txn(write.request, writer);
    }
  }

  private put(request: PutRequest, writer: StateWriter): KvResult {
    const lease = request.lease ?? 0;
    if (lease !== 0 && !this.leaseExists(lease)) return this.refuse(new ConclaveError('ErrLeaseNotFound'));
    const context = this.context(writer);
    const response = context.put(request);
    if (response instanceof ConclaveError) return this.refuse(response);
    this.commit(context, writer);
    return { revision: this.current, ok: true, response };
  }

  private putSequential(request: PutSequentialRequest, writer: StateWriter): KvResult {
    const lease = request.lease ?? 0;
    if (lease !== 0 && !this.leaseExists(lease)) return this.refuse(new ConclaveError('ErrLeaseNotFound'));
    const context = this.context(writer);
    const response = putSequential(context, request);
    if (response instanceof ConclaveError) return this.refuse(response);
    this.commit(context, writer);
    return { revision: this.current, ok: true, response };
  }

  private async deleteRange(request: DeleteRangeRequest, writer: StateWriter): Promise<KvResult> {
    const context = this.context(writer);
    const pending = context.deleteRange(request);
    const response = pending instanceof Promise ? await pending : pending;
    this.commit(context, writer);
    return { revision: this.current, ok: true, response };
  }

  private async txn(request: TxnRequest, writer: StateWriter): Promise<KvResult> {
    const context = this.context(writer);
    const response = await applyTxn(context, request, this.leaseExists);
    if (response instanceof ConclaveError) return this.refuse(response);
    this.commit(context, writer);
    return { revision: this.current, ok: true, response };
  }

  /** A recipe's answer: it writes no key, so the revision stays. */
  private outcome(response: ConclaveError | Extract<KvResult, { ok: true }>['response']): KvResult {
    return response instanceof ConclaveError ? this.refuse(response) : { revision: this.current, ok: true, response };
  }

  /**
   * Deletes the lease and every key attached to it, all in one revision (none if it had no keys), and frees the
   * worker IDs it held from `atMs` (the proposer's wall time, 0 when the command carried none).
   */
  private async revokeLease(id: number, atMs: number, writer: StateWriter): Promise<KvResult> {
    if (!this.leases.has(id)) return this.refuse(new ConclaveError('ErrLeaseNotFound'));
    const keys = await this.leases.attachedKeys(writer, id, this.limits.scanPageRows);
    const context = this.context(writer);
    for (const key of keys) {
      const deleted = context.deleteAttached(key, id);
      if (!deleted) throw new Error(`lease ${id}: key ${keyName(key)} is attached to it, but its current record says otherwise`);
    }
    this.leases.remove(writer, id);
    this.workers.freeLease(writer, id, atMs);
    this.commit(context, writer);
    return { revision: this.current, ok: true, response: {} };
  }

  private async compact(request: CompactionRequest, writer: StateWriter): Promise<KvResult> {
    const at = request.revision;
    if (at <= this.compacted) return this.refuse(new ConclaveError('ErrCompacted', `revision ${at}, compacted through ${this.compacted}`));
    if (at > this.current) return this.refuse(new ConclaveError('ErrFutureRev', `revision ${at}, the store is at ${this.current}`));
    await this.drained();
    await compactHistory(writer, this.compacted, at, this.limits.scanPageRows);
    this.compacted = at;
    writer.put(META_KEY, encodeMeta({ revision: this.current, compactRevision: at }));
    return { revision: this.current, ok: true, response: {} };
  }

  private commit(context: WriteContext, writer: StateWriter): void {
    if (!context.changed) return;
    writer.put(META_KEY, encodeMeta({ revision: context.revision, compactRevision: this.compacted }));
    this.current = context.revision;
  }

  private refuse(error: ConclaveError): KvResult {
    return { revision: this.current, ok: false, error };
  }

  /**
   * Runs `replace` (the install of a snapshot, which swaps the backend under the store) once the reads in flight
   * are done, holding new reads at the gate until it returns; they then read the new state. Without it, a read
   * that pages through history could take its first pages from the old state and the rest from the new one.
   */
  async whileReplacing<T>(replace: () => Promise<T>): Promise<T> {
    if (this.applying || this.replacing) throw new Error('KvStore.whileReplacing() during an apply or another replacement');
    this.replacing = true;
    try {
      await this.drained();
      return await replace();
    } finally {
      this.replacing = false;
      for (const wake of this.gateWaiters.splice(0)) wake();
    }
  }

  // ---- the gate ----

  private get gateClosed(): boolean {
    return this.applying || this.replacing;
  }

  private gateOpened(): Promise<void> {
    return new Promise<void>((resolve) => this.gateWaiters.push(resolve));
  }

  private leave(): void {
    this.readsInFlight--;
    if (this.readsInFlight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private async drained(): Promise<void> {
    while (this.readsInFlight > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }
}
