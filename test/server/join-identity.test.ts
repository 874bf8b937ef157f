// A member joining an existing cluster takes its first peers from the cluster's answer, with the IDs the cluster
// gave them, not IDs derived from --initial-cluster's URLs: a member added at run time has an ID of its own, and a
// joiner that derived one refused the leader's connections as from no peer of its, never getting the log (seen in
// a jepsen-like run that removed and added back members one after another).

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/server/config.js';
import { DISCOVERY_PATH, resolveIdentity, type DiscoveryAnswer } from '../../src/server/identity.js';
import { memberIdOf } from '../../src/server/ids.js';
import { silentLogger } from '../../src/server/log.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-join-identity-'));
let peer: Server;
let peerUrl = '';
const joinerUrl = 'http://127.0.0.1:1';
/** IDs the cluster gave at member add time: not derived from the URLs. */
const PEER_ID = '00000000000000aa';
const JOINER_ID = '00000000000000bb';

beforeAll(async () => {
  peer = createServer((request, response) => {
    if (request.url !== DISCOVERY_PATH) {
      response.writeHead(404);
      response.end();
      return;
    }
    const answer: DiscoveryAnswer = { clusterId: '00000000000000cc', members: [{ id: PEER_ID, peerUrls: [peerUrl] }, { id: JOINER_ID, peerUrls: [joinerUrl] }], appliedIndex: 9 };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', () => resolve()));
  peerUrl = `http://127.0.0.1:${(peer.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => peer.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function joinerConfig(dataDir: string) {
  const resolved = resolveServerConfig(
    {
      name: 'joiner',
      'data-dir': dataDir,
      'initial-advertise-peer-urls': joinerUrl,
      'listen-peer-urls': joinerUrl,
      'initial-cluster': `old=${peerUrl},joiner=${joinerUrl}`,
      'initial-cluster-state': 'existing',
    },
    {},
  );
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  return resolved.config;
}

describe('joining an existing cluster', () => {
  it("takes its identity and its first peers from the cluster's answer, IDs included", async () => {
    const config = joinerConfig(join(dir, 'fresh'));
    const identity = await resolveIdentity(config, false, silentLogger);
    expect(identity.memberId).toBe(JOINER_ID);
    expect(identity.clusterId).toBe('00000000000000cc');
    expect(identity.initialPeers).toEqual([[PEER_ID, [peerUrl]], [JOINER_ID, [joinerUrl]]]);
    expect(identity.initialPeers.map(([id]) => id)).not.toContain(memberIdOf([peerUrl], config.initialClusterToken));
  });

  it('asks again after a restart that found no log yet, and keeps the recorded identity', async () => {
    const config = joinerConfig(join(dir, 'restarted'));
    await resolveIdentity(config, false, silentLogger);
    const again = await resolveIdentity(config, false, silentLogger);
    expect(again.memberId).toBe(JOINER_ID);
    expect(again.initialPeers.map(([id]) => id)).toEqual([PEER_ID, JOINER_ID]);
  });
});
