// The wait shared by locks and elections (ZooKeeper's recipe over etcd's revisions): a waiter's key lies under a
// prefix, and its turn comes when no key under the prefix was created before it. It watches only its predecessor,
// the newest key created before its own, for deletion (and its own key, which its lease may take); when that goes
// it looks again (the predecessor may have been a waiter that gave up, with others before it). So a release wakes
// one waiter, not all (no herd effect), and waiters are served in the order their keys were created (FIFO). Reads
// and the watch are this member's own: the waiter's key was applied here before the wait starts, and the watch
// starts right after the revision read, so no deletion falls between them.

import { ConclaveError } from '../protocol/errors.js';
import { prefixEnd, type KeyValue, type ResponseHeader } from '../protocol/kv.js';
import { localWatch } from './local-watch.js';
import type { Member } from './member.js';

export interface Waiter {
  readonly prefix: Uint8Array;
  readonly key: Uint8Array;
  readonly createRevision: number;
}

/** The first key under `prefix` by create revision (the holder, the leader), with its value; undefined when none. */
export async function firstUnder(member: Member, prefix: Uint8Array, serializable: boolean): Promise<{ header: ResponseHeader; kv: KeyValue | undefined }> {
  const { header, response } = await member.range({ key: prefix, rangeEnd: prefixEnd(prefix), sortOrder: 'ascend', sortTarget: 'create', limit: 1, serializable });
  return { header, kv: response.kvs[0] };
}

/**
 * Resolves with the header of the revision at which `waiter` became the first under its prefix. Fails with
 * ErrWaiterGone when the waiter's own key is deleted first, and with the signal's reason when it is aborted.
 */
export async function waitForTurn(member: Member, waiter: Waiter, signal: AbortSignal): Promise<ResponseHeader> {
  for (;;) {
    signal.throwIfAborted();
    // The waiter's key and the one created just before it, newest first.
    const { header, response } = await member.range({
      key: waiter.prefix,
      rangeEnd: prefixEnd(waiter.prefix),
      maxCreateRevision: waiter.createRevision,
      sortOrder: 'descend',
      sortTarget: 'create',
      limit: 2,
      keysOnly: true,
      serializable: true,
    });
    const [own, predecessor] = response.kvs;
    if (own === undefined || own.createRevision !== waiter.createRevision) throw new ConclaveError('ErrWaiterGone', `key ${new TextDecoder().decode(waiter.key)}`);
    if (predecessor === undefined) return header;
    await deletion(member, predecessor.key, waiter.key, header.revision + 1, signal);
  }
}

/**
 * Resolves at the first deletion of the predecessor or of the waiter's own key. One watch covers both: the range
 * from the predecessor's key through the waiter's (sequence keys sort in create order, so no other waiter lies
 * between them; any other key there only causes a look again).
 */
async function deletion(member: Member, predecessor: Uint8Array, own: Uint8Array, fromRevision: number, signal: AbortSignal): Promise<void> {
  // A predecessor that is not a sequence key (put under the name by hand) may sort after the waiter's.
  const [low, high] = Buffer.compare(predecessor, own) <= 0 ? [predecessor, own] : [own, predecessor];
  const rangeEnd = new Uint8Array(high.length + 1);
  rangeEnd.set(high, 0);
  try {
    for await (const batch of localWatch(member, { key: low, rangeEnd, startRevision: fromRevision, filters: ['NOPUT'] }, signal)) {
      if (batch.events.some((event) => event.type === 'DELETE')) return;
    }
  } catch (error) {
    // A compaction took the revisions to replay: look again at what is there now.
    if (!(error instanceof ConclaveError && error.code === 'ErrCompacted')) throw error;
  }
  signal.throwIfAborted();
}

/**
 * Runs a wait bounded by `timeoutMs` (0: none) and the caller's signal; on either, deletes the waiter's key and
 * fails: ErrLockTimeout (`what` names the call) or ErrCanceled.
 */
export async function waitOrWithdraw(member: Member, waiter: Waiter, timeoutMs: number, callerSignal: AbortSignal | undefined, what: string): Promise<ResponseHeader> {
  const controller = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(new ConclaveError('ErrLockTimeout', `${what}: not done within ${timeoutMs} ms; its key was deleted`)), timeoutMs) : undefined;
  const canceled = () => controller.abort(new ConclaveError('ErrCanceled', `${what}: the caller went away; its key was deleted`));
  if (callerSignal?.aborted === true) canceled();
  callerSignal?.addEventListener('abort', canceled, { once: true });
  try {
    return await waitForTurn(member, waiter, controller.signal);
  } catch (error) {
    if (controller.signal.aborted) {
      await member.proposeKv({ type: 'deleteRange', request: { key: waiter.key } }).catch(() => undefined);
      throw controller.signal.reason;
    }
    throw error;
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener('abort', canceled);
  }
}
