// The registry and Snowflake IDs on a real 3-member cluster with its leader killed with -9 in the middle:
// - no Snowflake ID is issued twice across 10 generators whose worker IDs (a pool of 16) are reallocated as
//   leases expire or are revoked under generators still minting;
// - discovery never lists an instance whose lease expired more than one election timeout ago;
// - `conclavectl registry register` keeps its instance while it runs, deregisters it on SIGTERM, and killed with
//   -9 its instance goes when the lease expires.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, snowflakeWorker, type SnowflakeWorker } from '../../src/client/index.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import { eventually, waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ctlBin } from '../support/ctl.js';
import { ProcessCluster, type ProcessMember } from '../support/process-cluster.js';

const ELECTION_MS = 500;
/** The lessor's expiry check, the revoke's commit and the probe's round trip. */
const SLACK_MS = 600;
let cluster: ProcessCluster;
let client: Client;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: 50, electionTimeoutMs: ELECTION_MS, logLevel: 'warn' });
  const leader = await waitForLeader(cluster.endpoints, 15_000);
  await waitForMembersPublished(leader, 3, 15_000);
  client = new Client({ endpoints: cluster.endpoints, requestTimeoutMs: 2000 });
}, 40_000);
afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

const memberOf = (endpoint: string): ProcessMember => cluster.members.find((m) => m.clientUrl === endpoint)!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kills the leader with -9 after `afterMs`, and starts it again `downMs` later. */
async function killLeaderDuring(afterMs: number, downMs: number): Promise<void> {
  await sleep(afterMs);
  const killed = memberOf(await waitForLeader(cluster.endpoints, 10_000));
  await cluster.kill(killed);
  await sleep(downMs);
  cluster.spawn(killed, 'existing');
  await waitForLeader(cluster.endpoints, 10_000);
}

describe('recipes under a leader kill', () => {
  it('no Snowflake ID is issued twice across 10 generators with worker IDs reallocated under expiry and revokes', async () => {
    const layout = { timestampBits: 41, workerBits: 4, sequenceBits: 12, epochMs: 1288834974657 };
    const issued = new Set<bigint>();
    let duplicates = 0;
    let refusals = 0;
    const holders = new Map<number, Set<number>>();
    const deadline = Date.now() + 12_000;

    const generator = async (index: number): Promise<void> => {
      let worker: SnowflakeWorker | null = null;
      let round = 0;
      while (Date.now() < deadline) {
        if (worker === null) {
          try {
            worker = await snowflakeWorker(client, 'pool', 1, { layout });
          } catch {
            await sleep(100);
            continue;
          }
          const leases = holders.get(worker.generator.workerId) ?? new Set<number>();
          leases.add(worker.lease.id);
          holders.set(worker.generator.workerId, leases);
          round = 0;
        }
        round++;
        // Churn: some generators stop renewing (the cluster expires their lease), others have their lease revoked
        // by someone else while they go on minting until they learn of it.
        if (round === 40 + index * 7) {
          if (index % 2 === 0) worker.lease.close();
          else void client.leaseRevoke(worker.lease.id).catch(() => undefined);
        }
        try {
          for (const id of await worker.generator.nextBatch(20)) {
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
    };

    await Promise.all([...Array.from({ length: 10 }, (_, i) => generator(i)), killLeaderDuring(4000, 2000)]);
    expect(duplicates).toBe(0);
    expect(issued.size).toBeGreaterThan(10_000);
    // Worker IDs were held by more than one lease in turn: reallocation happened.
    expect([...holders.values()].some((leases) => leases.size > 1)).toBe(true);
    expect(refusals).toBeGreaterThan(0);
  }, 40_000);

  it('discovery never lists an instance whose lease expired more than one election timeout ago', async () => {
    const TTL_S = 2;
    const kept = new Map<string, { lease: number; renewedAt: number; stopped: boolean }>();
    for (let i = 0; i < 6; i++) {
      const { response } = await client.leaseGrant(TTL_S);
      await client.registryRegister({ service: 'svc', instance: `i${i}`, address: '127.0.0.1', port: 8000 + i, lease: response.id });
      kept.set(`i${i}`, { lease: response.id, renewedAt: Date.now(), stopped: false });
    }
    const deadline = Date.now() + 10_000;
    const renewing = (async () => {
      let tick = 0;
      while (Date.now() < deadline) {
        tick++;
        for (const [name, state] of kept) {
          // One instance stops renewing every 2 s or so.
          if (!state.stopped && tick === 1 + Number(name.slice(1)) * 6) state.stopped = true;
          if (state.stopped) continue;
          try {
            if ((await client.leaseKeepAliveOnce(state.lease)).response.ttl > 0) state.renewedAt = Date.now();
          } catch {
            // A renewal lost in the election: the lease may expire, as it would for any client.
          }
        }
        await sleep(250);
      }
    })();
    const violations: string[] = [];
    let listings = 0;
    const listing = (async () => {
      while (Date.now() < deadline) {
        const sentAt = Date.now();
        try {
          const { response } = await client.registryList('svc');
          listings++;
          for (const instance of response.instances) {
            const state = kept.get(instance.instance);
            if (state === undefined) continue;
            const expiredAt = state.renewedAt + TTL_S * 1000;
            if (sentAt > expiredAt + ELECTION_MS + SLACK_MS) violations.push(`${instance.instance} listed ${sentAt - expiredAt} ms after its lease expired`);
          }
        } catch {
          // No leader for a moment.
        }
        await sleep(50);
      }
    })();
    await Promise.all([renewing, listing, killLeaderDuring(3000, 1500)]);
    expect(violations).toEqual([]);
    expect(listings).toBeGreaterThan(20);
    // Every instance that stopped renewing is gone once its lease has had time to expire.
    await sleep(TTL_S * 1000 + ELECTION_MS + SLACK_MS);
    const left = (await client.registryList('svc')).response.instances.map((i) => i.instance);
    expect(left.every((name) => kept.get(name)?.stopped === false)).toBe(true);
  }, 40_000);

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
