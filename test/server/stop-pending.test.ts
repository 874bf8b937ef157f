// A member that stops with proposals pending cannot say whether their entries will commit (they may be in the
// leader's log, and in a quorum's, already): it fails them as outcome unknown (ErrTimeout), never as ErrStopped,
// which tells a client that nothing was applied and that the write may go to another member as it is.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConclaveNode } from '../../src/index.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import { eventually } from '../support/http-json.js';
import { startLocalCluster, type Cleanups } from '../support/local-node.js';

const cleanups: Cleanups = [];
let nodes: ConclaveNode[];

describe('a member stopping with proposals pending', () => {
  beforeAll(async () => {
    // An election timeout long enough that the leader does not step down (CheckQuorum) before it stops.
    nodes = await startLocalCluster(cleanups, 3, { heartbeatIntervalMs: 100, electionTimeoutMs: 3000 });
  }, 60_000);

  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('fails them as outcome unknown, and refuses new ones with ErrStopped', async () => {
    const leader = await eventually(
      'a leader',
      async () => {
        const { leader: id } = await (nodes[0] as ConclaveNode).status();
        return nodes.find((node) => node.id === id) ?? null;
      },
      30_000,
    );
    await leader.put('before', 'x');
    // Without its followers the leader appends the entry but cannot commit it.
    for (const node of nodes) if (node !== leader) await node.close();
    const pending = leader.put('pending', 'y').then(
      () => null,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await leader.close();
    const error = await pending;
    expect(error).toBeInstanceOf(ConclaveError);
    expect((error as ConclaveError).code).toBe('ErrTimeout');
    expect((error as ConclaveError).message).toMatch(/may or may not/);
    const after = await leader.put('after', 'z').then(
      () => null,
      (e: unknown) => e as ConclaveError,
    );
    expect(after?.code).toBe('ErrStopped');
  }, 60_000);
});
