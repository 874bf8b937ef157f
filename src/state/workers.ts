// Snowflake worker IDs of the replicated state: in each named pool, which IDs are held (and by which lease), and
// which were freed but may not be handed out yet. A held ID is freed when its lease dies (in the revoke's apply)
// or is released; it is reusable only once the allocating proposer's wall time reaches its not-before time:
//
//   notBefore = freedAt + holder's lease TTL + maxClockSkewMs
//
// where freedAt is the wall time the proposer of the revoke (or release) carried in the command. The state machine
// has no clock: every time here came in a command, so every member computes the same records. Why this covers the
// longest time the previous holder could still be issuing IDs is in docs/architecture.md (Snowflake worker IDs).
//
// Records ('W' <pool> 00 <id u32 BE>) hold [lease, ttlSeconds, skewMs, notBeforeMs, pending]: lease 0 for a freed
// ID; pending 1 for one freed by a revoke that carried no time (a log written before revokes carried one), whose
// not-before time is set by the next allocation in its pool from that allocation's time (later than needed, so
// still safe). Every record is also held in memory, indexed by pool and by lease, so that an allocation and a
// revoke never scan the backend.

import { decodeMsgpack as decode, encodeMsgpack as encode } from '../util/msgpack.js';
import { snowflakeLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { WorkerAllocateResponse } from '../protocol/snowflake.js';
import type { StateReader, StateWriter } from './backend.js';
import { successor } from './kv-layout.js';

const WORKER = 0x57; // 'W'
export const WORKER_BOUNDS = { start: Uint8Array.of(WORKER), end: Uint8Array.of(WORKER + 1) } as const;
const NAME = /^[A-Za-z0-9._/-]+$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface WorkerAllocateCommand {
  readonly pool: string;
  readonly lease: number;
  readonly workerCount: number;
  /** The proposer's wall time (ms). */
  readonly nowMs: number;
  /** The proposer's bound on clock differences, kept with the record for when it is freed. */
  readonly maxClockSkewMs: number;
}

export interface WorkerReleaseCommand {
  readonly pool: string;
  readonly workerId: number;
  readonly lease: number;
  readonly nowMs: number;
}

interface WorkerRecord {
  readonly lease: number;
  readonly ttlSeconds: number;
  readonly skewMs: number;
  readonly notBeforeMs: number;
  readonly pending: boolean;
}

export function checkRecipeName(name: unknown, what: string): ConclaveError | null {
  if (typeof name !== 'string' || !NAME.test(name)) return new ConclaveError('ErrInvalidField', `${what} ${JSON.stringify(name)}: letters, digits, '.', '_', '/' and '-' only, not empty`);
  if (name.length > snowflakeLimits.maxNameBytes) return new ConclaveError('ErrInvalidField', `${what} of ${name.length} bytes, above snowflakeLimits.maxNameBytes (${snowflakeLimits.maxNameBytes})`);
  return null;
}

function integer(value: unknown, name: string, min: number, max: number): ConclaveError | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return null;
  return new ConclaveError('ErrInvalidField', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
}

export function checkAllocate(command: WorkerAllocateCommand): ConclaveError | null {
  return (
    checkRecipeName(command.pool, 'pool') ??
    integer(command.lease, 'lease', 1, Number.MAX_SAFE_INTEGER) ??
    integer(command.workerCount, 'workerCount (snowflakeLimits.maxWorkerCount)', 1, snowflakeLimits.maxWorkerCount) ??
    integer(command.nowMs, 'nowMs', 0, Number.MAX_SAFE_INTEGER) ??
    integer(command.maxClockSkewMs, 'maxClockSkewMs', 0, 3_600_000)
  );
}

export function checkRelease(command: WorkerReleaseCommand): ConclaveError | null {
  return (
    checkRecipeName(command.pool, 'pool') ??
    integer(command.workerId, 'workerId', 0, snowflakeLimits.maxWorkerCount - 1) ??
    integer(command.lease, 'lease', 1, Number.MAX_SAFE_INTEGER) ??
    integer(command.nowMs, 'nowMs', 0, Number.MAX_SAFE_INTEGER)
  );
}

function recordKey(pool: string, id: number): Uint8Array {
  const name = encoder.encode(pool);
  const out = new Uint8Array(1 + name.length + 1 + 4);
  out[0] = WORKER;
  out.set(name, 1);
  new DataView(out.buffer).setUint32(2 + name.length, id);
  return out;
}

function parseRecordKey(key: Uint8Array): { pool: string; id: number } {
  const id = new DataView(key.buffer, key.byteOffset, key.length).getUint32(key.length - 4);
  return { pool: decoder.decode(key.subarray(1, key.length - 5)), id };
}

const holding = (pool: string, id: number): string => `${pool}\0${id}`;

export class WorkerTable {
  private pools = new Map<string, Map<number, WorkerRecord>>();
  /** The IDs each lease holds, as `pool \0 id`. */
  private byLease = new Map<number, Set<string>>();
  private records = 0;

  async load(reader: StateReader, pageRows: number): Promise<void> {
    this.pools = new Map();
    this.byLease = new Map();
    this.records = 0;
    let start: Uint8Array = WORKER_BOUNDS.start;
    for (;;) {
      const rows = await reader.range({ start, end: WORKER_BOUNDS.end, limit: pageRows });
      for (const row of rows) {
        const { pool, id } = parseRecordKey(row.key);
        const fields = decode(row.value) as number[];
        this.remember(pool, id, { lease: fields[0] ?? 0, ttlSeconds: fields[1] ?? 0, skewMs: fields[2] ?? 0, notBeforeMs: fields[3] ?? 0, pending: fields[4] === 1 });
      }
      if (rows.length < pageRows) break;
      start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
    }
  }

  /** The worker ID a lease holds in a pool now, if any (for tests and listing). */
  holder(pool: string, id: number): number {
    return this.pools.get(pool)?.get(id)?.lease ?? 0;
  }

  /** The lowest ID of the pool that no one holds and whose not-before time has passed, bound to `lease`. */
  allocate(writer: StateWriter, command: WorkerAllocateCommand, leaseTtlSeconds: number | undefined): WorkerAllocateResponse | ConclaveError {
    if (leaseTtlSeconds === undefined) return new ConclaveError('ErrLeaseNotFound');
    const pool = this.pools.get(command.pool);
    let chosen = -1;
    let notBeforeMs = 0;
    for (let id = 0; id < command.workerCount; id++) {
      const record = pool?.get(id);
      if (record === undefined) {
        chosen = id;
        break;
      }
      if (record.lease !== 0) continue;
      if (record.pending) {
        // Freed by a revoke that carried no time: its not-before time counts from now.
        this.store(writer, command.pool, id, { ...record, pending: false, notBeforeMs: command.nowMs + record.ttlSeconds * 1000 + record.skewMs });
        continue;
      }
      if (record.notBeforeMs <= command.nowMs) {
        chosen = id;
        notBeforeMs = record.notBeforeMs;
        break;
      }
    }
    if (chosen < 0) return new ConclaveError('ErrWorkerIdsExhausted', `pool ${command.pool}: all ${command.workerCount} worker IDs are held or freed too recently`);
    if (pool?.get(chosen) === undefined && this.records >= snowflakeLimits.maxWorkerRecords) {
      return new ConclaveError('ErrTooManyWorkers', `${this.records} worker records, the limit is snowflakeLimits.maxWorkerRecords (${snowflakeLimits.maxWorkerRecords})`);
    }
    this.store(writer, command.pool, chosen, { lease: command.lease, ttlSeconds: leaseTtlSeconds, skewMs: command.maxClockSkewMs, notBeforeMs: 0, pending: false });
    return { workerId: chosen, notBeforeMs };
  }

  release(writer: StateWriter, command: WorkerReleaseCommand): ConclaveError | null {
    const record = this.pools.get(command.pool)?.get(command.workerId);
    if (record === undefined || record.lease !== command.lease) {
      return new ConclaveError('ErrWorkerNotHeld', `pool ${command.pool}: worker ID ${command.workerId} is not held by lease ${command.lease}`);
    }
    this.free(writer, command.pool, command.workerId, record, command.nowMs);
    return null;
  }

  /** Frees every ID the lease holds (its revoke); `nowMs` 0 when the revoke carried no time. */
  freeLease(writer: StateWriter, lease: number, nowMs: number): void {
    const held = this.byLease.get(lease);
    if (held === undefined) return;
    for (const name of [...held].sort()) {
      const cut = name.lastIndexOf('\0');
      const pool = name.slice(0, cut);
      const id = Number(name.slice(cut + 1));
      const record = this.pools.get(pool)?.get(id);
      if (record !== undefined) this.free(writer, pool, id, record, nowMs);
    }
  }

  private free(writer: StateWriter, pool: string, id: number, record: WorkerRecord, nowMs: number): void {
    const pending = nowMs === 0;
    const notBeforeMs = pending ? 0 : nowMs + record.ttlSeconds * 1000 + record.skewMs;
    this.store(writer, pool, id, { ...record, lease: 0, notBeforeMs, pending });
  }

  private store(writer: StateWriter, pool: string, id: number, record: WorkerRecord): void {
    this.remember(pool, id, record);
    writer.put(recordKey(pool, id), encode([record.lease, record.ttlSeconds, record.skewMs, record.notBeforeMs, record.pending ? 1 : 0]));
  }

  private remember(pool: string, id: number, record: WorkerRecord): void {
    let records = this.pools.get(pool);
    if (records === undefined) this.pools.set(pool, (records = new Map()));
    const old = records.get(id);
    if (old === undefined) this.records++;
    else if (old.lease !== 0) this.byLease.get(old.lease)?.delete(holding(pool, id));
    if (old !== undefined && old.lease !== 0 && this.byLease.get(old.lease)?.size === 0) this.byLease.delete(old.lease);
    records.set(id, record);
    if (record.lease !== 0) {
      let held = this.byLease.get(record.lease);
      if (held === undefined) this.byLease.set(record.lease, (held = new Set()));
      held.add(holding(pool, id));
    }
  }
}
