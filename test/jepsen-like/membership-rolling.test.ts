// Every member of a three-member cluster removed and added back as a new member, one after another, as the
// jepsen-like membership nemesis does over a run. The last one added back replays a log whose first memberships
// name none of the members there are now: while it catches up it must still take the current members' connections
// (the cluster named them when it joined), or it refuses the leader, never gets the rest of the log and never
// serves (seen in soak runs: "not serving 30s after healing").

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JepsenCluster } from '../../jepsen-like/cluster.js';
import { addBack, removeMember } from '../../jepsen-like/faults/membership.js';
import { Client } from '../../src/client/index.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-membership-rolling-'));
let cluster: JepsenCluster;

beforeAll(async () => {
  cluster = await JepsenCluster.start({ nodes: 3, dir, heartbeatIntervalMs: 50, electionTimeoutMs: 500, readyTimeoutMs: 30_000, target: 'conclave' });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('replacing every member in turn', () => {
  it('leaves every member added back serving, the last one included', async () => {
    const client = new Client({ endpoints: cluster.endpoints, requestTimeoutMs: 2000, dialTimeoutMs: 1000 });
    try {
      // A long stretch of log under the first membership, so that a member added back later takes a while to
      // replay it, its applied membership naming only members since removed.
      for (let batch = 0; batch < 30; batch++) {
        await Promise.all(Array.from({ length: 50 }, (_, i) => client.put(`early/${batch}/${i}`, 'x'.repeat(1000), { timeoutMs: 10_000 })));
      }
      for (const name of ['n1', 'n2', 'n3']) {
        await removeMember(cluster, name);
        // While the member added back catches up, its peers' connections into it are ended again and again, so
        // that they must dial it anew: it must take them although the memberships it has applied so far may not
        // name them.
        let catchingUp = true;
        const others = cluster.current.filter((n) => n !== name);
        const severing = (async () => {
          while (catchingUp) {
            await new Promise((resolve) => setTimeout(resolve, 150));
            try {
              for (const other of others) cluster.network.cut(other, name);
            } catch {
              continue; // its new ID is not known yet
            }
            await new Promise((resolve) => setTimeout(resolve, 30));
            for (const other of others) cluster.network.heal(other, name);
          }
        })();
        const added = await addBack(cluster, name).finally(() => (catchingUp = false));
        await severing;
        cluster.network.healAll();
        expect(added.serving, `${name} added back as ${added.id}:\n${cluster.logs()}`).toBe(true);
      }
      expect(await cluster.waitServing(20_000)).toEqual([]);
      const { response } = await client.memberList({ timeoutMs: 5000 });
      expect(response.members).toHaveLength(3);
      expect(cluster.exited).toEqual([]);
    } finally {
      client.close();
    }
  }, 150_000);
});
