// The `membership` fault's mechanism: a member removed from the cluster through the member API, then added back
// as a new member, as an operator replacing a machine does. Removal goes through memberRemove on the others (the
// cluster refuses one that would leave fewer started voters than a quorum); the removed member stops (it stops
// on its own once it applies its removal; the harness makes sure with kill -9). Adding back is memberAdd of a new
// peer URL -- a fresh front door, since the old URL stays the removed member's in the others' logs -- and starting
// the process on an empty data directory with --initial-cluster-state existing; it then catches up by snapshot or
// log. Its client port is the old one, so that the workload's endpoints all work again once it has.

import { Client } from '../../src/client/index.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import type { JepsenCluster } from '../cluster.js';
import { MEMBER_CHANGE_TIMEOUT_MS, MEMBER_REJOIN_TIMEOUT_MS } from '../limits.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `change` against the members other than `name` until it succeeds or `settled` says the change is done.
 * Every refusal is tried again: those of a cluster under faults ("no leader", "not enough started", a change in
 * flight, a timeout) pass, and one that would not is reported with the deadline.
 */
async function untilDone<T>(
  cluster: JepsenCluster,
  name: string,
  what: string,
  change: (client: Client) => Promise<T>,
  settled: (error: ConclaveError, client: Client) => Promise<T | null>,
): Promise<T> {
  const endpoints = cluster.current.filter((n) => n !== name).map((n) => cluster.clientUrlOf(n));
  const client = new Client({ endpoints, requestTimeoutMs: 2000, dialTimeoutMs: 1000 });
  const deadline = Date.now() + MEMBER_CHANGE_TIMEOUT_MS;
  let last = '';
  try {
    while (Date.now() < deadline) {
      try {
        return await change(client);
      } catch (error) {
        // An attempt whose answer was lost may have made the change: the next one then says so.
        const done = error instanceof ConclaveError ? await settled(error, client) : null;
        if (done !== null) return done;
        last = error instanceof Error ? error.message : String(error);
        await sleep(200);
      }
    }
  } finally {
    client.close();
  }
  throw new Error(`${what} did not succeed within ${MEMBER_CHANGE_TIMEOUT_MS} ms (MEMBER_CHANGE_TIMEOUT_MS); last answer ${last}`);
}

/** Removes member `name` from the cluster and stops it; returns the ID it had. */
export async function removeMember(cluster: JepsenCluster, name: string): Promise<string> {
  const id = cluster.idOf(name);
  await untilDone(
    cluster,
    name,
    `removing member ${name} (${id})`,
    async (client) => void (await client.memberRemove(id)),
    async (error) => (error.code === 'ErrMemberNotFound' ? undefined : null),
  );
  await cluster.retire(name);
  return id;
}

export interface AddedBack {
  readonly id: string;
  readonly peerUrl: string;
  /** Whether it served a linearizable read within MEMBER_REJOIN_TIMEOUT_MS. */
  readonly serving: boolean;
}

/** Adds a removed member back as a new member on a new peer URL and waits for it to serve. */
export async function addBack(cluster: JepsenCluster, name: string): Promise<AddedBack> {
  const peerUrl = await cluster.newDoor(name);
  const id = await untilDone(
    cluster,
    name,
    `adding member ${name} back on ${peerUrl}`,
    async (client) => (await client.memberAdd([peerUrl])).response.member.id,
    async (error, client) => {
      if (error.code !== 'ErrPeerURLExist') return null;
      const listed = await client.memberList().catch(() => null);
      return listed?.response.members.find((m) => m.peerUrls.includes(peerUrl))?.id ?? null;
    },
  );
  cluster.rejoin(name, peerUrl, id);
  const notServing = await cluster.waitServing(MEMBER_REJOIN_TIMEOUT_MS, [name]);
  return { id, peerUrl, serving: notServing.length === 0 };
}
