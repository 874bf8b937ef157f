// Discovery of the current state is the leader's to answer: a follower sends the call to the leader's advertised
// client URL, and answers ErrNoLeader when it cannot reach it, rather than answering from its own lease deadlines
// (a member that applied a lease's last renewal late holds a late deadline, and listed an instance long after its
// lease expired: found by the jepsen-like registry workload). A past revision is read locally, as any range is.
// Here every member advertises a client URL that nothing listens on, so a follower's call to the leader fails.

import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { statusOf, waitForLeader } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

let cluster: ProcessCluster;

/** A loopback URL on which nothing listens. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: 50, electionTimeoutMs: 500, logLevel: 'warn', clientFrontDoor: () => deadUrl() });
  await waitForLeader(cluster.endpoints, 15_000);
}, 40_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('registry discovery', () => {
  it("is answered by the leader: a follower that cannot reach the leader's client URL says ErrNoLeader", async () => {
    const leaderUrl = await waitForLeader(cluster.endpoints, 15_000);
    const followerUrl = cluster.endpoints.find((url) => url !== leaderUrl)!;
    expect((await statusOf(followerUrl))?.leader).not.toBe('0');
    const client = new Client({ endpoints: [leaderUrl], requestTimeoutMs: 3000 });
    const follower = new Client({ endpoints: [followerUrl], requestTimeoutMs: 3000 });
    try {
      const { response: lease } = await client.leaseGrant(30);
      const { header } = await client.registryRegister({ service: 'svc', instance: 'a', address: '127.0.0.1', port: 8000, lease: lease.id });
      const atLeader = await client.registryList('svc');
      expect(atLeader.response.instances.map((i) => i.instance)).toEqual(['a']);
      await expect(follower.registryList('svc')).rejects.toMatchObject({ code: 'ErrNoLeader' });
      // A past revision is not about lease deadlines: any member reads it.
      const past = await follower.registryList('svc', { revision: header.revision });
      expect(past.response.instances.map((i) => i.instance)).toEqual(['a']);
    } finally {
      client.close();
      follower.close();
    }
  }, 30_000);
});
