// `npm run bench:locks`: lock acquire+release cycles on a real 3-member Conclave cluster (fsync on), --clients
// closed-loop clients each on its own lock name, over the etcd JSON gateway on the leader, for --seconds per row.
// Rows: `cycle` is etcd's yardstick (grant a lease, lock, unlock, revoke: four calls, as /work/shared/bench's
// kvbench --op lock); `lock-unlock` locks and unlocks on a lease each client keeps (two calls). Prints cycles/s and
// p50/p99 latency of a cycle. Row `put` (one put per cycle) calibrates: the machine is shared, its load drifts.
//
// With --etcd it also starts a 3-member etcd 3.4 (/work/shared/bench/etcd-cluster.sh, the `etcd` of `apt-get
// install etcd-server`) and runs each row in the order Conclave, etcd, etcd, Conclave, averaging each side's two
// runs (the machine is shared and its load drifts: compare the ratio, not figures from different runs).
//
//   npm run bench:locks -- [--clients 64] [--seconds 10] [--rows put,cycle,lock-unlock] [--etcd]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

interface Args {
  clients: number;
  seconds: number;
  rows: string[];
  etcd: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { clients: 64, seconds: 10, rows: ['put', 'cycle', 'lock-unlock'], etcd: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--etcd') {
      args.etcd = true;
      continue;
    }
    const text = argv[++i] ?? '';
    if (flag === '--clients') args.clients = Number(text);
    else if (flag === '--seconds') args.seconds = Number(text);
    else if (flag === '--rows') args.rows = text.split(',');
    else throw new Error(`unknown flag ${String(flag)}`);
  }
  return args;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

function post(endpoint: string, path: string, body: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const request = http.request(new URL(path, endpoint), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        if (response.statusCode !== 200) reject(new Error(`${path}: ${response.statusCode ?? 0} ${text.slice(0, 200)}`));
        else resolve(parsed);
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

async function runRow(row: string, endpoint: string, args: Args): Promise<{ cycles: number; seconds: number; p50: number; p99: number; errors: number; firstError: string | null }> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const deadline = performance.now() + args.seconds * 1000;
  const started = performance.now();
  const worker = async (w: number) => {
    const name = b64(`bench-lock/${row}/${w}`);
    const kept = row === 'lock-unlock' ? ((await post(endpoint, '/v3/lease/grant', '{"TTL":"600"}'))['ID'] as string) : undefined;
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        if (row === 'put') {
          await post(endpoint, '/v3/kv/put', `{"key":"${name}","value":"${b64('v')}"}`);
          latencies.push(performance.now() - t0);
          continue;
        }
        const lease = kept ?? ((await post(endpoint, '/v3/lease/grant', '{"TTL":"30"}'))['ID'] as string);
        const locked = await post(endpoint, '/v3/lock/lock', `{"name":"${name}","lease":"${lease}"}`);
        await post(endpoint, '/v3/lock/unlock', `{"key":"${locked['key'] as string}"}`);
        if (kept === undefined) await post(endpoint, '/v3/lease/revoke', `{"ID":"${lease}"}`);
        latencies.push(performance.now() - t0);
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: args.clients }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { cycles: latencies.length / seconds, seconds, p50: at(0.5), p99: at(0.99), errors, firstError };
}

type RowResult = Awaited<ReturnType<typeof runRow>>;

const ETCD_SCRIPT = '/work/shared/bench/etcd-cluster.sh';
const ETCD_ENDPOINTS = ['http://127.0.0.1:12379', 'http://127.0.0.1:22379', 'http://127.0.0.1:32379'];

function printRow(system: string, row: string, result: RowResult): void {
  const tail = result.firstError === null ? '' : `  first: ${result.firstError}`;
  console.log(`${system.padEnd(9)}${row.padEnd(12)} ${result.cycles.toFixed(0).padStart(8)} ${result.p50.toFixed(2).padStart(8)} ${result.p99.toFixed(2).padStart(8)} ${String(result.errors).padStart(8)}${tail}`);
}

const mean = (a: RowResult, b: RowResult): RowResult => ({
  cycles: (a.cycles + b.cycles) / 2,
  seconds: a.seconds + b.seconds,
  p50: (a.p50 + b.p50) / 2,
  p99: (a.p99 + b.p99) / 2,
  errors: a.errors + b.errors,
  firstError: a.firstError ?? b.firstError,
});

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cluster = await ProcessCluster.start({ logLevel: 'warn' });
  const etcdDir = mkdtempSync(join(tmpdir(), 'bench-etcd-'));
  try {
    const leader = await waitForLeader(cluster.endpoints, 20_000);
    await waitForMembersPublished(leader, 3, 20_000);
    let etcdLeader: string | null = null;
    if (args.etcd) {
      // Its last step, an `etcdctl endpoint status`, fails without etcd-client installed: the members are up anyway.
      spawnSync('bash', [ETCD_SCRIPT, etcdDir], { stdio: 'ignore' });
      etcdLeader = await waitForLeader(ETCD_ENDPOINTS, 20_000);
    }
    console.log(`3 members each (fsync on), ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; ${args.clients} clients on distinct lock names, on the leader, ${args.seconds} s per run`);
    console.log('system   row          cycles/s   p50 ms   p99 ms   errors');
    for (const row of args.rows) {
      if (etcdLeader === null) {
        printRow('conclave', row, await runRow(row, leader, args));
        continue;
      }
      const first = await runRow(row, leader, args);
      const etcd = mean(await runRow(row, etcdLeader, args), await runRow(row, etcdLeader, args));
      const conclave = mean(first, await runRow(row, leader, args));
      printRow('conclave', row, conclave);
      printRow('etcd', row, etcd);
      console.log(`         ${row}: conclave / etcd = ${(conclave.cycles / etcd.cycles).toFixed(2)}x`);
    }
  } finally {
    agent.destroy();
    await cluster.stop();
    if (args.etcd) spawnSync('bash', [ETCD_SCRIPT, etcdDir, 'stop'], { stdio: 'ignore' });
    rmSync(etcdDir, { recursive: true, force: true });
  }
}

await main();
