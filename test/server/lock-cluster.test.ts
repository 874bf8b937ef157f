// Locks and elections on a real 3-member cluster under faults: the leader isolated by a partition (cut from both
// followers on all three members' /debug/peer-faults) and healed, the leader killed with -9 and restarted, a
// follower isolated and healed, and the leader killed again. Clients that use every endpoint (failing over) contend
// for one lock and one election all along, and each holder writes to a "storage" key through a txn guarded by its
// fencing token (compare create_revision(lock key) = token). The storage key's history must show tokens that never
// go down, each written by one client only: a holder's writes all come before the next holder's, whatever the
// lock's hand-overs, lease expiries, failovers and partitions did. The faults must have happened (a new leader
// elected while the old one was cut off, messages dropped by each cut) and the lock and the office must have
// changed hands while a member was cut off.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { compare, op } from '../../src/client/txn.js';
import { ClusterFaults, FAULT_INJECTION_FLAGS, type FaultKind } from '../support/cluster-faults.js';
import { waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

const ELECTION_MS = 400;
/** After the faults, the clients go on until they have had enough turns. */
const MIN_TURNS = 12;
/** However slow the machine, the run ends by then. */
const MAX_RUN_MS = 35_000;
let cluster: ProcessCluster;
let faults: ClusterFaults;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: 40, electionTimeoutMs: ELECTION_MS, logLevel: 'warn', extraFlags: FAULT_INJECTION_FLAGS });
  const leader = await waitForLeader(cluster.endpoints, 15_000);
  await waitForMembersPublished(leader, 3, 15_000);
  faults = await ClusterFaults.of(cluster);
}, 40_000);
afterAll(async () => {
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every value the key held, in revision order, from its history (a watch from revision 1). */
async function history(client: Client, key: string): Promise<string[]> {
  const now = await client.get(key);
  const last = now.response.kvs[0]?.modRevision ?? 0;
  const values: string[] = [];
  if (last === 0) return values;
  const controller = new AbortController();
  for await (const batch of client.watch(key, { startRevision: 1, signal: controller.signal })) {
    for (const event of batch.events) if (event.type === 'PUT') values.push(Buffer.from(event.kv.value).toString());
    if (batch.header.revision >= last) break;
  }
  controller.abort();
  return values;
}

const decreases = (tokens: readonly number[]): [number, number][] => tokens.flatMap((token, i) => (i > 0 && token < (tokens[i - 1] as number) ? [[tokens[i - 1] as number, token] as [number, number]] : []));

/** Tokens written by more than one client (each holder's token is its own). */
function sharedTokens(values: readonly string[]): string[] {
  const writers = new Map<string, Set<string>>();
  for (const value of values) {
    const [token = '', who = ''] = value.split(' ');
    writers.set(token, (writers.get(token) ?? new Set()).add(who));
  }
  return [...writers].filter(([, who]) => who.size > 1).map(([token, who]) => `${token} by ${[...who].join(',')}`);
}

describe('locks and elections under leader kill and partition', () => {
  it('no two holders of a lock, nor two leaders of an election, ever interleave their fenced writes', async () => {
    const clients = Array.from({ length: 6 }, () => new Client({ endpoints: cluster.endpoints, discover: true, requestTimeoutMs: 2000 }));
    const started = performance.now();
    let faulting = true;
    const goOn = (turns: () => number) => performance.now() - started < MAX_RUN_MS && (faulting || turns() < MIN_TURNS);
    /** Each fenced write that went through: its recipe, its token and when its answer came (wall time). */
    const fenced: { recipe: 'lock' | 'office'; token: number; atMs: number }[] = [];
    let acquisitions = 0;
    let terms = 0;
    const guardedWrite = async (client: Client, recipe: 'lock' | 'office', guard: Uint8Array, token: number, who: number): Promise<void> => {
      const outcome = await client
        .txn()
        .if(compare.createRevision(guard, '=', token))
        .then(op.put(`storage/${recipe}`, `${token} ${who}`))
        .commit();
      if (outcome.succeeded) fenced.push({ recipe, token, atMs: Date.now() });
    };
    const locker = async (client: Client, who: number): Promise<void> => {
      while (goOn(() => acquisitions)) {
        try {
          const held = await client.lock('fenced', { ttlSeconds: 2, timeoutMs: 3000 });
          acquisitions++;
          for (let i = 0; i < 3; i++) {
            await guardedWrite(client, 'lock', held.key, held.fence, who);
            await sleep(10);
          }
          await held.unlock().catch(() => undefined);
        } catch {
          await sleep(50);
        }
      }
    };
    const candidate = async (client: Client, who: number): Promise<void> => {
      while (goOn(() => terms)) {
        try {
          const term = await client.campaign('office', `c${who}`, { ttlSeconds: 2, timeoutMs: 3000 });
          terms++;
          for (let i = 0; i < 3; i++) {
            await guardedWrite(client, 'office', term.leader.key, term.leader.rev, who);
            await sleep(10);
          }
          await term.resign().catch(() => undefined);
        } catch {
          await sleep(50);
        }
      }
    };
    const faulted = (async () => {
      await faults.run([
        { kind: 'isolate-leader', atMs: 1000, forMs: 3000 },
        { kind: 'kill-leader', atMs: 4800, forMs: 1500 },
        { kind: 'isolate-follower', atMs: 8000, forMs: 2000 },
        { kind: 'kill-leader', atMs: 10_800, forMs: 1500 },
      ]);
      faulting = false;
    })();
    await Promise.all([faulted, ...clients.slice(0, 3).map((c, i) => locker(c, i)), ...clients.slice(3).map((c, i) => candidate(c, i + 3))]);
    await waitForLeader(cluster.endpoints, 10_000);
    const reader = clients[0] as Client;
    const lockValues = await history(reader, 'storage/lock');
    const officeValues = await history(reader, 'storage/office');
    for (const client of clients) client.close();
    const tokensOf = (values: readonly string[]) => values.map((v) => Number(v.split(' ')[0]));

    // The faults happened: a new leader while the old one was cut off, each cut dropped messages, each kill
    // was followed by an election.
    const timeline = faults.summary();
    expect(faults.log.map((r) => r.kind), timeline).toEqual(['isolate-leader', 'kill-leader', 'isolate-follower', 'kill-leader']);
    expect(faults.problems(), timeline).toEqual([]);
    // The lock and the office changed hands during the faults, while a member was cut off too.
    const handOvers = (recipe: 'lock' | 'office', ...kinds: FaultKind[]) =>
      new Set(fenced.filter((w) => w.recipe === recipe && faults.during(w.atMs, ...kinds)).map((w) => w.token)).size;
    expect(handOvers('lock'), timeline).toBeGreaterThanOrEqual(4);
    expect(handOvers('office'), timeline).toBeGreaterThanOrEqual(4);
    expect(handOvers('lock', 'isolate-leader', 'isolate-follower'), timeline).toBeGreaterThanOrEqual(2);
    expect(handOvers('office', 'isolate-leader', 'isolate-follower'), timeline).toBeGreaterThanOrEqual(2);
    expect(acquisitions).toBeGreaterThanOrEqual(MIN_TURNS);
    expect(terms).toBeGreaterThanOrEqual(MIN_TURNS);
    // Every write answered as done is in the history (a write whose answer was lost may be there uncounted).
    const count = (recipe: string) => fenced.filter((w) => w.recipe === recipe).length;
    expect(lockValues.length).toBeGreaterThanOrEqual(count('lock'));
    expect(officeValues.length).toBeGreaterThanOrEqual(count('office'));
    // The safety property: tokens never go down, and no token is written by two clients.
    expect(decreases(tokensOf(lockValues))).toEqual([]);
    expect(decreases(tokensOf(officeValues))).toEqual([]);
    expect(sharedTokens(lockValues)).toEqual([]);
    expect(sharedTokens(officeValues)).toEqual([]);
  }, 90_000);
});
