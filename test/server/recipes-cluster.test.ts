// The registry and Snowflake IDs on a real 3-member cluster under faults: the leader isolated by a partition (cut
// from both followers on all three members' /debug/peer-faults) and healed, the leader killed with -9 and
// restarted, and a follower isolated and healed, while clients that use every endpoint (failing over) go on:
// - no Snowflake ID is issued twice across 10 generators whose worker IDs (a pool of 16) are reallocated as
//   leases expire or are revoked under generators still minting, reallocations and minting happening during the
//   faults too;
// - discovery never lists an instance whose lease expired more than one election timeout ago, with instances
//   timed to stop renewing so that their leases expire while the leader is cut off (no leader can revoke them
//   then) and while it is down;
// - `conclavectl registry register` keeps its instance while it runs, deregisters it on SIGTERM, and killed with
//   -9 its instance goes when the lease expires.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, snowflakeWorker, type SnowflakeWorker } from '../../src/client/index.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import { ClusterFaults, FAULT_INJECTION_FLAGS, type FaultKind, type FaultStep } from '../support/cluster-faults.js';
import { eventually, waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ctlBin } from '../support/ctl.js';
import { ProcessCluster } from '../support/process-cluster.js';

const ELECTION_MS = 500;
/** The lessor's expiry check, the revoke's commit and the probe's round trip. */
const SLACK_MS = 600;
/**
 * Leader isolated, leader killed, follower isolated, the first `atMs` after the run starts. Each begins a second
 * more than the registry test's TTL after the previous one ended, so that the leases timed to expire as it
 * begins were last renewed in a healthy cluster.
 */
const faultSteps = (atMs: number): FaultStep[] => [
  { kind: 'isolate-leader', atMs, forMs: 2500 },
  { kind: 'kill-leader', atMs: atMs + 5500, forMs: 1500 },
  { kind: 'isolate-follower', atMs: atMs + 10_000, forMs: 2000 },
];
let cluster: ProcessCluster;
let client: Client;
let faults: ClusterFaults;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: 50, electionTimeoutMs: ELECTION_MS, logLevel: 'warn', extraFlags: FAULT_INJECTION_FLAGS });
  const leader = await waitForLeader(cluster.endpoints, 15_000);
  await waitForMembersPublished(leader, 3, 15_000);
  faults = await ClusterFaults.of(cluster);
  client = new Client({ endpoints: cluster.endpoints, requestTimeoutMs: 2000 });
}, 40_000);
afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('recipes under leader kill and partition', () => {
  it('no Snowflake ID is issued twice across 10 generators with worker IDs reallocated under expiry and revokes', async () => {
    const layout = { timestampBits: 41, workerBits: 4, sequenceBits: 12, epochMs: 1288834974657 };
    const issued = new Set<bigint>();
    let duplicates = 0;
    let refusals = 0;
    /** When each batch was minted (wall time), and its size. */
    const minted: { atMs: number; count: number }[] = [];
    /** Every allocation: the worker ID, the lease it went to and when (wall time). */
    const allocations: { workerId: number; lease: number; atMs: number }[] = [];
    let running = true;

    const generator = async (index: number): Promise<void> => {
      // Its own client, first trying a different member from the others: the faults reach some of them first.
      const own = new Client({ endpoints: [...cluster.endpoints.slice(index % 3), ...cluster.endpoints.slice(0, index % 3)], discover: true, requestTimeoutMs: 1000 });
      let worker: SnowflakeWorker | null = null;
      let round = 0;
      while (running) {
        if (worker === null) {
          try {
            worker = await snowflakeWorker(own, 'pool', 2, { layout });
          } catch {
            await sleep(100);
            continue;
          }
          allocations.push({ workerId: worker.generator.workerId, lease: worker.lease.id, atMs: Date.now() });
          round = 0;
        }
        round++;
        // Churn: some generators stop renewing (the cluster expires their lease), others have their lease revoked
        // by someone else while they go on minting until they learn of it.
        if (round === 100 + index * 20) {
          if (index % 2 === 0) worker.lease.close();
          else void own.leaseRevoke(worker.lease.id).catch(() => undefined);
        }
        try {
          const batch = await worker.generator.nextBatch(20);
          minted.push({ atMs: Date.now(), count: batch.length });
          for (const id of batch) {
            if (issued.has(id)) duplicates++;
            issued.add(id);
          }
        } catch (error) {
          if (!(error instanceof ConclaveError) || error.code !== 'ErrLeaseNotFound') throw error;
          refusals++;
          worker.lease.close();
          worker = null;
        }
        await sleep(5);
      }
      await worker?.close();
      own.close();
    };

    const faulted = (async () => {
      await faults.run(faultSteps(1500));
      await sleep(1000);
      running = false;
    })();
    await Promise.all([...Array.from({ length: 10 }, (_, i) => generator(i)), faulted]);
    const timeline = faults.summary();
    expect(faults.problems(), timeline).toEqual([]);
    expect(duplicates).toBe(0);
    expect(issued.size).toBeGreaterThan(10_000);
    const mintedDuring = (...kinds: FaultKind[]) => minted.filter((m) => faults.during(m.atMs, ...kinds)).reduce((sum, m) => sum + m.count, 0);
    expect(mintedDuring('isolate-leader'), timeline).toBeGreaterThan(1000);
    expect(mintedDuring('isolate-follower'), timeline).toBeGreaterThan(1000);
    expect(mintedDuring('kill-leader'), timeline).toBeGreaterThan(1000);
    expect(refusals).toBeGreaterThan(0);
    // Worker IDs went to a new lease after another had held them: reallocation happened, during the faults too.
    const reallocations = allocations.filter((a, i) => allocations.slice(0, i).some((b) => b.workerId === a.workerId && b.lease !== a.lease));
    expect(reallocations.length).toBeGreaterThan(5);
    expect(reallocations.filter((a) => faults.during(a.atMs)).length, timeline).toBeGreaterThan(0);
  }, 45_000);

  it('discovery never lists an instance whose lease expired more than one election timeout ago', async () => {
    const TTL_S = 2;
    const startedAt = Date.now();
    const steps = faultSteps(2600);
    // When each instance stops renewing (from the start): three for each fault, so that their leases expire around
    // the moment it begins (the leader cut off or down: no leader to revoke them for a while), and two never.
    const stops = [...steps.flatMap((step) => [0, 150, 300].map((ms) => step.atMs - TTL_S * 1000 + ms)), Infinity, Infinity];
    /** When each lease was last renewed, as far as the test can tell (the lease of a listed instance names it). */
    const renewedAt = new Map<number, number>();
    /** Each instance: the lease it is registered with now, and when it stops renewing. */
    const kept = new Map<string, { lease: number; stopAt: number }>();
    const register = async (name: string, stopAt: number): Promise<void> => {
      const { response } = await client.leaseGrant(TTL_S);
      renewedAt.set(response.id, Date.now());
      await client.registryRegister({ service: 'svc', instance: name, address: '127.0.0.1', port: 8000, lease: response.id });
      kept.set(name, { lease: response.id, stopAt });
    };
    for (const [i, stopAfterMs] of stops.entries()) await register(`i${i}`, startedAt + stopAfterMs);
    let running = true;
    const renewing = [...kept.entries()].map(async ([name, state]) => {
      while (running && Date.now() < state.stopAt) {
        const lease = kept.get(name)!.lease;
        try {
          // A lease lost to the faults is replaced, as a service would, so that every instance lives up to its stop.
          if ((await client.leaseKeepAliveOnce(lease)).response.ttl > 0) renewedAt.set(lease, Date.now());
          else await register(name, state.stopAt);
        } catch {
          // A renewal whose answer was lost to the faults may still have gone through: counted as renewed then.
          renewedAt.set(lease, Date.now());
        }
        await sleep(Math.min(250, Math.max(0, state.stopAt - Date.now())));
      }
    });
    const violations: string[] = [];
    /** When each listing was answered (wall time). */
    const listedAt: number[] = [];
    // Listings have a client of their own with short attempts: a listing sent to the member just cut off (or to
    // a follower still forwarding to it) moves on in well under the fault's window, so that discovery is really
    // exercised during each fault.
    const lister = new Client({ endpoints: cluster.endpoints, requestTimeoutMs: ELECTION_MS + 100 });
    const listing = (async () => {
      while (running) {
        const sentAt = Date.now();
        try {
          const { response } = await lister.registryList('svc');
          listedAt.push(Date.now());
          for (const instance of response.instances) {
            const renewed = renewedAt.get(instance.lease);
            if (renewed === undefined) continue;
            const expiredAt = renewed + TTL_S * 1000;
            if (sentAt > expiredAt + ELECTION_MS + SLACK_MS) violations.push(`${instance.instance} listed ${sentAt - expiredAt} ms after its lease expired (sent at ${sentAt - startedAt} ms)`);
          }
        } catch {
          // No leader for a moment.
        }
        await sleep(50);
      }
    })();
    await (async () => {
      await faults.run(steps, startedAt);
      await sleep(1500);
      running = false;
    })();
    await Promise.all([...renewing, listing]);
    lister.close();
    const timeline = faults.summary();
    expect(faults.problems(), timeline).toEqual([]);
    expect(violations, timeline).toEqual([]);
    expect(listedAt.length).toBeGreaterThan(20);
    for (const kind of ['isolate-leader', 'kill-leader', 'isolate-follower'] as const) expect(listedAt.filter((at) => faults.during(at, kind)).length, `${kind}: ${timeline}`).toBeGreaterThan(3);
    // Every instance that stopped renewing is gone once its lease has had time to expire; those still renewed at
    // the end may have lost a lease to the faults, but are listed only if their lease lives.
    await sleep(TTL_S * 1000 + ELECTION_MS + SLACK_MS);
    const left = (await client.registryList('svc')).response.instances.map((i) => i.instance);
    expect(left.every((name) => kept.get(name)?.stopAt === Infinity)).toBe(true);
    // Leases did expire while the leader was cut off, and while it was down.
    const expiryOf = (state: { lease: number }) => renewedAt.get(state.lease)! + TTL_S * 1000;
    const expiredDuring = (kind: FaultKind) => [...kept.values()].filter((state) => state.stopAt < Infinity && faults.during(expiryOf(state), kind)).length;
    const expiries = [...kept.entries()].map(([name, state]) => `${name} ${expiryOf(state) - (faults.log[0]?.fromMs ?? 0)}`).join(', ');
    expect(expiredDuring('isolate-leader'), `${timeline}; expiries ${expiries}`).toBeGreaterThan(0);
    expect(expiredDuring('kill-leader'), `${timeline}; expiries ${expiries}`).toBeGreaterThan(0);
  }, 45_000);

  it('conclavectl registry register holds its instance while it runs, deregisters on SIGTERM, and under -9 the instance goes with its lease', async () => {
    const start = (instance: string) => {
      const child = spawn(process.execPath, [ctlBin(), '--endpoints', cluster.endpoints.join(','), 'registry', 'register', 'cli', instance, '--address', '127.0.0.1', '--port', '7000', '--ttl', '2', '--tag', 't'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const registered = new Promise<void>((resolve) => child.stdout.on('data', () => stdout.includes('registered') && resolve()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return { child, registered, exited, output: () => stdout };
    };
    const listed = async () => (await client.registryList('cli')).response.instances.map((i) => i.instance).sort();

    const graceful = start('g');
    const killed = start('k');
    await Promise.all([graceful.registered, killed.registered]);
    expect(await listed()).toEqual(['g', 'k']);
    // Held past its TTL: the keep-alive renews it.
    await sleep(3000);
    expect(await listed()).toEqual(['g', 'k']);
    graceful.child.kill('SIGTERM');
    expect(await graceful.exited).toBe(0);
    expect(graceful.output()).toContain('deregistered cli/g');
    expect(await listed()).toEqual(['k']);
    killed.child.kill('SIGKILL');
    await killed.exited;
    await eventually('the killed instance deregistered', async () => ((await listed()).length === 0 ? true : null), 10_000);
  }, 30_000);
});
