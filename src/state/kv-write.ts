// The writes of one command: every key it writes shares the command's revision, with increasing sub-revisions.
// A put costs one point read (the key's current record) and three record writes (event, history, current; the
// store adds the meta record once per command); prev_kv and ignore_value add the read of the old value. A key
// that joins or leaves a lease also writes or deletes its attachment record.

import { ConclaveError } from '../protocol/errors.js';
import type { DeleteRangeRequest, DeleteRangeResponse, KeyValue, PutRequest, PutResponse, RangeRequest, RangeResponse } from '../protocol/kv.js';
import type { StateWriter } from './backend.js';
import { currentKey, EMPTY, eventKey, historyKey, spanOf } from './kv-layout.js';
import { decodeCurrent, encodeCurrent, encodeHistoryPut, encodePutEvent, encodeTombstoneEvent, type VersionRef } from './kv-records.js';
import { currentVersions, keyValueOf, readRange, valueOf } from './kv-read.js';
import { dropSequenceHint } from './kv-sequential.js';

/** Where keys join and leave leases (the lease table: it writes the attachment records and counts them). */
export interface Attachments {
  attach(writer: StateWriter, lease: number, key: Uint8Array): void;
  detach(writer: StateWriter, lease: number, key: Uint8Array): void;
}

export class WriteContext {
  /** The revision this command's writes get. */
  readonly revision: number;
  private sub = 0;

  constructor(
    readonly writer: StateWriter,
    /** The store's revision before the command. */
    readonly base: number,
    readonly compactRevision: number,
    private readonly pageRows: number,
    private readonly attachments: Attachments,
  ) {
    this.revision = base + 1;
  }

  /** Whether anything was written, so that the command takes a revision. */
  get changed(): boolean {
    return this.sub > 0;
  }

  /** The revision reads inside the command see: its own once it has written. */
  get readRevision(): number {
    return this.changed ? this.revision : this.base;
  }

  range(request: RangeRequest): Promise<RangeResponse> {
    return readRange(this.writer, request, { revision: this.readRevision, compactRevision: this.compactRevision, pageRows: this.pageRows });
  }

  /** Writes nothing and returns ErrKeyNotFound when ignore_value / ignore_lease find no key. The lease is checked by the caller. */
  put(request: PutRequest): PutResponse | ConclaveError {
    const { key } = request;
    const recordKey = currentKey(key);
    const bytes = this.writer.get(recordKey);
    const old = bytes === undefined ? undefined : decodeCurrent(key, bytes);
    const ignoreValue = request.ignoreValue === true;
    const ignoreLease = request.ignoreLease === true;
    if (old === undefined && (ignoreValue || ignoreLease)) return new ConclaveError('ErrKeyNotFound');
    let value = request.value;
    let prevKv: KeyValue | undefined;
    if (old !== undefined && (ignoreValue || request.prevKv === true)) {
      const oldValue = valueOf(this.writer, old);
      if (ignoreValue) value = oldValue;
      if (request.prevKv === true) prevKv = keyValueOf(old, oldValue);
    }
    const lease = ignoreLease ? (old as VersionRef).lease : (request.lease ?? 0);
    const revision = this.revision;
    const sub = this.sub++;
    const createRevision = old === undefined ? revision : old.createRevision;
    const version = old === undefined ? 1 : old.version + 1;
    this.writer.put(eventKey(revision, sub), encodePutEvent(key, value, createRevision, version, lease, old?.modRevision ?? 0, old?.sub ?? 0));
    this.writer.put(historyKey(key, revision, sub), encodeHistoryPut(createRevision, version, lease));
    this.writer.put(recordKey, encodeCurrent(createRevision, revision, sub, version, lease));
    const oldLease = old?.lease ?? 0;
    if (oldLease !== lease) {
      if (oldLease !== 0) {
        this.attachments.detach(this.writer, oldLease, key);
        dropSequenceHint(this.writer, oldLease, key);
      }
      if (lease !== 0) this.attachments.attach(this.writer, lease, key);
    }
    return prevKv === undefined ? {} : { prevKv };
  }

  deleteRange(request: DeleteRangeRequest): DeleteRangeResponse | Promise<DeleteRangeResponse> {
    const found = currentVersions(this.writer, spanOf(request));
    if (Array.isArray(found)) return this.deleteVersions(found, request.prevKv === true);
    return found.then((refs) => this.deleteVersions(refs, request.prevKv === true));
  }

  /** Deletes one key attached to `lease` (its revoke); false when the key's current record is not on that lease. */
  deleteAttached(key: Uint8Array, lease: number): boolean {
    const bytes = this.writer.get(currentKey(key));
    if (bytes === undefined) return false;
    const ref = decodeCurrent(key, bytes);
    if (ref.lease !== lease) return false;
    this.deleteVersions([ref], false);
    return true;
  }

  private deleteVersions(refs: readonly VersionRef[], prevKv: boolean): DeleteRangeResponse {
    const prevKvs = prevKv ? refs.map((ref) => keyValueOf(ref, valueOf(this.writer, ref))) : [];
    for (const ref of refs) {
      const sub = this.sub++;
      this.writer.put(eventKey(this.revision, sub), encodeTombstoneEvent(ref.key, ref.modRevision, ref.sub));
      this.writer.put(historyKey(ref.key, this.revision, sub), EMPTY);
      this.writer.delete(currentKey(ref.key));
      if (ref.lease !== 0) {
        this.attachments.detach(this.writer, ref.lease, ref.key);
        dropSequenceHint(this.writer, ref.lease, ref.key);
      }
    }
    return { deleted: refs.length, prevKvs };
  }
}
