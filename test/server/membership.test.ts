// Membership at run time on real processes, learners first: a member is added as a learner (through a follower,
// which relays to the leader), started with --initial-cluster-state existing, catches up, is promoted to voter,
// and is removed again, upon which it stops on its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WsConnection } from '../../src/client/ws-connection.js';
import { get, postJson, put, waitForLeader, waitForMembersPublished, eventually as eventuallyWith } from '../support/http-json.js';
import { ProcessCluster, type ProcessMember } from '../support/process-cluster.js';

let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: 50, electionTimeoutMs: 500 });
  await waitForLeader(cluster.endpoints, 15_000);
  for (const endpoint of cluster.endpoints) await waitForMembersPublished(endpoint, 3, 10_000);
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
});

interface ListedMember {
  ID: string;
  name?: string;
  peerURLs: string[];
  isLearner?: boolean;
}

async function members(endpoint: string): Promise<ListedMember[]> {
  return (await postJson(endpoint, '/v3/cluster/member/list', {})).body['members'] as ListedMember[];
}

function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  return eventuallyWith(what, probe, timeoutMs, () => cluster.logs());
}

describe('membership changes on a running cluster', () => {
  let added: ProcessMember;
  let addedId: string;

  it('adds a learner through a follower, which relays the change to the leader', async () => {
    const leader = await waitForLeader(cluster.endpoints, 5000);
    const follower = cluster.endpoints.find((e) => e !== leader) as string;
    expect((await put(leader, 'before-join', 'present')).status).toBe(200);
    added = await cluster.newMember('n4');
    const reply = await postJson(follower, '/v3/cluster/member/add', { peerURLs: [added.peerUrl], isLearner: true });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const member = reply.body['member'] as ListedMember;
    expect(member.peerURLs).toEqual([added.peerUrl]);
    expect(member.isLearner).toBe(true);
    addedId = member.ID;
    const listed = (await members(leader)).find((m) => m.ID === addedId);
    expect(listed?.isLearner).toBe(true);
    // The same URLs twice are refused.
    const again = await postJson(leader, '/v3/cluster/member/add', { peerURLs: [added.peerUrl], isLearner: true });
    expect(again.status).toBe(400);
    expect(again.body['error']).toBe('etcdserver: Peer URLs already exists');
  });

  it('starts the learner with --initial-cluster-state existing; it catches up and serves', async () => {
    cluster.spawn(added, 'existing');
    const value = await eventually('the learner caught up', async () => {
      const read = await get(added.clientUrl, 'before-join', { serializable: true });
      return read.value;
    }, 20_000);
    expect(value).toBe('present');
  }, 30_000);

  it('refuses to promote a voter, and to remove a member that does not exist', async () => {
    const leader = await waitForLeader(cluster.endpoints, 5000);
    const voter = (await members(leader)).find((m) => m.isLearner !== true) as ListedMember;
    const promote = await postJson(leader, '/v3/cluster/member/promote', { ID: voter.ID });
    expect(promote.status).toBe(400);
    expect(promote.body['error']).toBe('etcdserver: can only promote a learner member');
    const remove = await postJson(leader, '/v3/cluster/member/remove', { ID: '12345' });
    expect(remove.status).toBe(404);
    expect(remove.body['error']).toBe('etcdserver: member not found');
    expect(remove.body['message']).toBe('etcdserver: member not found: 0000000000003039');
    // Over the WebSocket API on a follower, which relays to the leader as its HTTP gateway does (else ErrNotLeader).
    const follower = cluster.endpoints.find((e) => e !== leader) as string;
    const connection = await WsConnection.connect(follower);
    try {
      const voterId = BigInt(voter.ID).toString(16).padStart(16, '0');
      await expect(connection.call('memberPromote', { id: voterId })).rejects.toMatchObject({ code: 'ErrMemberNotLearner' });
      await expect(connection.call('memberRemove', { id: '0000000000003039' })).rejects.toMatchObject({ code: 'ErrMemberNotFound', detail: '0000000000003039' });
    } finally {
      connection.close();
    }
  });

  it('promotes the learner to a voter once it is in sync', async () => {
    const leader = await waitForLeader(cluster.endpoints, 5000);
    const reply = await eventually('the promotion', async () => {
      const answer = await postJson(leader, '/v3/cluster/member/promote', { ID: addedId });
      return answer.status === 200 ? answer : null;
    }, 10_000);
    const listed = (reply.body['members'] as ListedMember[]).find((m) => m.ID === addedId);
    expect(listed?.isLearner ?? false).toBe(false);
    // A four-voter cluster still writes.
    expect((await put(leader, 'after-promote', 'yes')).status).toBe(200);
    expect((await get(added.clientUrl, 'after-promote')).value).toBe('yes');
  }, 20_000);

  it('removes the member, which then stops on its own', async () => {
    const leader = await waitForLeader(cluster.endpoints, 5000);
    const exited = new Promise<number | null>((resolve) => added.process?.once('exit', (code) => resolve(code)));
    const reply = await postJson(leader, '/v3/cluster/member/remove', { ID: addedId });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect((reply.body['members'] as ListedMember[]).map((m) => m.ID)).not.toContain(addedId);
    expect(await exited).toBe(0);
    expect((await put(leader, 'after-remove', 'yes')).status).toBe(200);
  }, 20_000);
});
