// The lock workload: clients take a few locks (`jepsen/lock/l0`... in the store, l0... in the history) with the
// client's lock() (a waiter key under `<lock>/` bound to a lease the client keeps alive; the fencing token is its
// create revision), write under the fence, unlock and revoke the lease. The operations and their outcomes are
// fenced.ts's: acquire, fenced-write, release, and the grants read after healing.

import { RECIPE_LEASE_TTL_S, RECIPE_WAIT_MS } from '../limits.js';
import type { Worker } from './clients.js';
import { FencedWorkload, type FencedNames, type Hold } from './fenced.js';

export const LOCK_NAMES: FencedNames = { acquire: 'acquire', release: 'release', storePrefix: 'jepsen/lock/', dataPrefix: 'jepsen/lock-data/', letter: 'l' };

export class LockWorkload extends FencedWorkload {
  protected readonly names = LOCK_NAMES;

  protected async take(worker: Worker, storeName: string, signal: AbortSignal): Promise<Hold> {
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
}
