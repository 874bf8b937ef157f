// The election workload: candidates campaign for a few offices (`jepsen/election/e0`... in the store, e0... in the
// history) with the client's campaign() (a candidate key under `<office>/` bound to a lease the client keeps alive;
// the leader's token is its key's create revision), write under that fence, resign and revoke the lease. The
// operations and their outcomes are fenced.ts's: campaign, fenced-write, resign, and the grants read after healing.

import { RECIPE_LEASE_TTL_S, RECIPE_WAIT_MS } from '../limits.js';
import type { Worker } from './clients.js';
import { FencedWorkload, type FencedNames, type Hold } from './fenced.js';

export const ELECTION_NAMES: FencedNames = { acquire: 'campaign', release: 'resign', storePrefix: 'jepsen/election/', dataPrefix: 'jepsen/election-data/', letter: 'e' };

export class ElectionWorkload extends FencedWorkload {
  protected readonly names = ELECTION_NAMES;

  protected async take(worker: Worker, storeName: string, signal: AbortSignal): Promise<Hold> {
    const leadership = await worker.client.campaign(storeName, `p${worker.process}`, { ttlSeconds: RECIPE_LEASE_TTL_S, timeoutMs: RECIPE_WAIT_MS, signal });
    const { leader } = leadership;
    return {
      key: leader.key,
      token: leader.rev,
      keptLease: leadership.keptLease,
      release: async () => {
        await worker.client.call('resign', { leader });
      },
    };
  }
}
