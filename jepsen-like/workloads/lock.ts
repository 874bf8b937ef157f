// The lock workload: clients take a few locks (`jepsen/lock/l0`... in the store, l0... in the history) with the
// client's lock() (a waiter key under `<lock>/` bound to a lease the client keeps alive; the fencing token is its
// create revision), write under the fence, unlock and revoke the lease. The operations and their outcomes are
// fenced.ts's: acquire, fenced-write, release, and the grants read after healing.

import { ConclaveError } from '../../src/protocol/errors.js';
import { RECIPE_LEASE_TTL_S, RECIPE_WAIT_MS } from '../limits.js';
import type { Worker } from './clients.js';
import { FencedWorkload, type FencedNames, type Hold } from './fenced.js';

export const LOCK_NAMES: FencedNames = { acquire: 'acquire', release: 'release', storePrefix: 'jepsen/lock/', dataPrefix: 'jepsen/lock-data/', letter: 'l' };

export class LockWorkload extends FencedWorkload {
  protected readonly names = LOCK_NAMES;

  protected async take(worker: Worker, storeName: string, signal: AbortSignal): Promise<Hold> {
    if (this.options.target === 'etcd') return this.takeOnEtcd(worker, storeName, signal);
    const held = await worker.client.lock(storeName, { ttlSeconds: RECIPE_LEASE_TTL_S, timeoutMs: RECIPE_WAIT_MS, signal });
    return {
      key: held.key,
      token: held.fence,
      keptLease: held.keptLease,
      release: async () => {
        await worker.client.call('unlock', { key: held.key });
      },
    };
  }

  /**
   * etcd's lock answers with the waiter key only: the token is that key's create revision, read once the lock is
   * held. etcd's lease IDs are 63-bit and the client holds IDs as numbers, so the harness picks one below 2^53.
   */
  private async takeOnEtcd(worker: Worker, storeName: string, signal: AbortSignal): Promise<Hold> {
    const id = 1 + Math.floor(worker.rng.next() * (Number.MAX_SAFE_INTEGER - 1));
    const keptLease = await worker.client.lease(RECIPE_LEASE_TTL_S, { id });
    try {
      const held = await worker.client.lock(storeName, { lease: id, timeoutMs: RECIPE_WAIT_MS, signal });
      // Held from here on: an error now leaves the acquisition's outcome unknown, never failed.
      const kv = await worker.client.get(held.key, { timeoutMs: this.options.opTimeoutMs }).then(
        ({ response }) => response.kvs[0],
        (error: unknown) => {
          throw new ConclaveError('ErrTimeout', `the lock was granted but its key could not be read: ${String(error)}`);
        },
      );
      if (kv === undefined) throw new ConclaveError('ErrTimeout', 'the lock was granted but its key is gone (the lease expired)');
      return {
        key: held.key,
        token: kv.createRevision,
        keptLease,
        release: async () => {
          await worker.client.call('unlock', { key: held.key });
        },
      };
    } catch (error) {
      keptLease.close();
      await keptLease.revoke().catch(() => undefined);
      throw error;
    }
  }
}
