// What the lock and election workloads share: each client takes a hold on one of a few names (a lock, an office),
// bound to a short lease it keeps alive, makes one to three fenced writes under it, lets go and starts over; after
// healing, one read per name collects every waiter (or candidate) key the committed history ever created under it.
// checkers/fenced.ts checks the history. Operations (key: the name):
//   acquire | campaign  invoke null; ok the fencing token (the key's create revision). Fail only when nothing was
//                       proposed (NOT_APPLIED), else info: the hold may have been taken
//   fenced-write        invoke the token; a txn guarded by `create_revision(key) = token` putting the name's data
//                       key; ok the revision it was accepted at; fail when the guard refused it (or NOT_APPLIED);
//                       otherwise info. With --unfenced-writes a plain put of the data key instead, which nothing
//                       refuses: what a lock without fencing gives (etcd's lock API hands out no token), so that
//                       the checker sees a holder writing after its lock moved on
//   release | resign    invoke the token; ok null; unchecked
//   grants              after healing: ok the create revisions of every key under the name, from revision 1
// A holder whose lease is lost carries on writing: the fence, not the holder, must refuse its writes. Some holders
// stall on purpose (STALL_SHARE, and the first client's first hold), as a paused process would, so that refused
// writes happen under any nemesis.

import { compare, op } from '../../src/client/index.js';
import type { KeptLease } from '../../src/client/lease.js';
import { MAX_FENCED_WRITES_PER_HOLD, RECIPE_LEASE_TTL_S, RECIPE_WAIT_MS, STALL_MARGIN_MS, STALL_SHARE } from '../limits.js';
import { ClientWorkload, type Worker } from './clients.js';

/** A hold on a name: the key whose create revision is the token, and how to let go. */
export interface Hold {
  readonly key: Uint8Array;
  readonly token: number;
  readonly keptLease: KeptLease | undefined;
  /** Lets go of the hold (unlock, resign), leaving the lease to the workload. */
  release(): Promise<void>;
}

export interface FencedNames {
  /** The f values of taking and of letting go. */
  readonly acquire: 'acquire' | 'campaign';
  readonly release: 'release' | 'resign';
  /** Where the names live (`jepsen/lock/`): a name's keys are under `<prefix><name>/`. */
  readonly storePrefix: string;
  /** Where each name's fenced data key lives (outside the names' key ranges): `<dataPrefix><name>`. */
  readonly dataPrefix: string;
  /** History keys: this letter and a number (l0, l1, ...). */
  readonly letter: string;
}

/** Put under a name's prefix after healing: the grants read stops at its event. Not a sequence key. */
const END_MARKER = '~end-of-run';

const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export abstract class FencedWorkload extends ClientWorkload {
  protected abstract readonly names: FencedNames;

  /** Takes the hold on the name stored at `storeName`, waiting at most RECIPE_WAIT_MS; throws as the client does. */
  protected abstract take(worker: Worker, storeName: string, signal: AbortSignal): Promise<Hold>;

  private nextValue = 1;
  private firstStalled = false;

  get keys(): string[] {
    return Array.from({ length: this.options.keys }, (_, i) => `${this.names.letter}${i}`);
  }

  protected async step(worker: Worker): Promise<void> {
    const name = worker.rng.pick(this.keys);
    const hold = await this.acquire(worker, name);
    if (hold === null) return;
    if (this.stalls(worker)) {
      hold.keptLease?.close();
      await sleep(RECIPE_LEASE_TTL_S * 1000 + STALL_MARGIN_MS);
    }
    const writes = worker.rng.int(1, MAX_FENCED_WRITES_PER_HOLD);
    for (let i = 0; i < writes; i++) await this.fencedWrite(worker, name, hold);
    await this.release(worker, name, hold);
  }

  /** Whether this hold stalls: the first client's first one does, so that every run, however short, has one. */
  private stalls(worker: Worker): boolean {
    const drawn = worker.rng.chance(STALL_SHARE);
    if (worker !== this.workers[0] || this.firstStalled) return drawn;
    this.firstStalled = true;
    return true;
  }

  private async acquire(worker: Worker, name: string): Promise<Hold | null> {
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, this.names.acquire, name, null);
    try {
      const hold = await this.take(worker, this.names.storePrefix + name, AbortSignal.timeout(RECIPE_WAIT_MS + opTimeoutMs));
      this.complete(worker, 'ok', hold.token);
      return hold;
    } catch (error) {
      // The client revoked the lease it granted for the hold (or, that failing, stopped renewing it).
      this.failed(worker, error, null);
      return null;
    }
  }

  private async fencedWrite(worker: Worker, name: string, hold: Hold): Promise<void> {
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, 'fenced-write', name, hold.token);
    try {
      if (this.options.unfencedWrites) {
        const { header } = await worker.client.put(this.names.dataPrefix + name, String(this.nextValue++), { timeoutMs: opTimeoutMs });
        this.complete(worker, 'ok', header.revision);
        return;
      }
      const outcome = await worker.client
        .txn()
        .if(compare.createRevision(hold.key, '=', hold.token))
        .then(op.put(this.names.dataPrefix + name, String(this.nextValue++)))
        .commit({ timeoutMs: opTimeoutMs });
      if (outcome.succeeded) this.complete(worker, 'ok', outcome.header.revision);
      else this.complete(worker, 'fail', null);
    } catch (error) {
      this.failed(worker, error, null);
    }
  }

  private async release(worker: Worker, name: string, hold: Hold): Promise<void> {
    this.options.recorder.invoke(worker.process, this.names.release, name, hold.token);
    try {
      await hold.release();
      this.complete(worker, 'ok', null);
    } catch (error) {
      this.failed(worker, error, null);
    }
    // Unrecorded: a lease that cannot be revoked (a stalled holder's has expired) just expires, renewed no more.
    await hold.keptLease?.revoke().catch(() => undefined);
  }

  /** The grants read: every key ever created under the name, from revision 1 to a marker put now. */
  protected async finalRead(worker: Worker, name: string): Promise<boolean> {
    const { recorder } = this.options;
    recorder.invoke(worker.process, 'grants', name, null);
    try {
      this.complete(worker, 'ok', await this.creations(worker, `${this.names.storePrefix}${name}/`));
      return true;
    } catch {
      this.complete(worker, 'fail', null);
      return false;
    }
  }

  private async creations(worker: Worker, prefix: string): Promise<number[]> {
    const { opTimeoutMs } = this.options;
    const marker = prefix + END_MARKER;
    await worker.client.put(marker, '', { timeoutMs: opTimeoutMs });
    const creations: number[] = [];
    // The whole history of the name replays from revision 1: nothing compacts during a run.
    const signal = AbortSignal.timeout(opTimeoutMs * 5);
    for await (const batch of worker.client.watch(prefix, { prefix: true, startRevision: 1, signal })) {
      for (const event of batch.events) {
        if (decoder.decode(event.kv.key) === marker) return creations;
        if (event.type === 'PUT' && event.kv.version === 1) creations.push(event.kv.createRevision);
      }
    }
    throw new Error(`the watch of ${prefix} ended before the marker put after healing`);
  }
}
