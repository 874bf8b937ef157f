// /debug/peer-faults: its body is {"cut":[member IDs]} or it is refused, changing nothing; a member started
// without --unsafe-peer-fault-injection does not serve it at all. (Cuts between real processes are in
// watch-cluster.test.ts.)

import { describe, expect, it } from 'vitest';
import { ConclaveError } from '../../src/protocol/errors.js';
import { setPeerFaults } from '../../src/server/peer-faults.js';
import { PeerFaults } from '../../src/transport/index.js';
import { startLocalNode, type Cleanups } from '../support/local-node.js';

describe('/debug/peer-faults', () => {
  it('takes {"cut":[IDs]} and refuses anything else with ErrInvalidField, changing nothing', () => {
    const faults = new PeerFaults();
    setPeerFaults(faults, { cut: ['000000000000000b', '000000000000000a'] });
    expect(faults.cutPeers).toEqual(['000000000000000a', '000000000000000b']);
    for (const bad of [null, [], 'cut', { cut: 'x' }, { cut: ['B'] }, { cut: [1] }, { cut: [], drop: [] }, {}]) {
      let error: unknown;
      try {
        setPeerFaults(faults, bad);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConclaveError);
      expect((error as ConclaveError).code).toBe('ErrInvalidField');
      expect(faults.cutPeers).toEqual(['000000000000000a', '000000000000000b']);
    }
    setPeerFaults(faults, { cut: [] });
    expect(faults.cutPeers).toEqual([]);
  });

  it('does not exist on a member started without --unsafe-peer-fault-injection', async () => {
    const cleanups: Cleanups = [];
    const { url } = await startLocalNode(cleanups, 'conclave-faults-');
    try {
      const get = await fetch(new URL('/debug/peer-faults', url));
      expect(get.status).toBe(404);
      const post = await fetch(new URL('/debug/peer-faults', url), { method: 'POST', body: '{"cut":["000000000000000b"]}' });
      expect(post.status).toBe(404);
    } finally {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    }
  });
});
