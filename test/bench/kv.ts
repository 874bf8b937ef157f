// `npm run bench`: put and range load over the HTTP/JSON API of a real 3-member Conclave cluster (fsync on, 256-byte
// values), closed loop at 1, 16, 64 and 256 clients, printing ops/s and p50/p99 latency per row. With --etcd it also
// starts a 3-member etcd (the `etcd` binary of `apt-get install etcd-server`) on other ports and runs every row
// against both in the order Conclave, etcd, etcd, Conclave, averaging each side's two runs (the machine is shared
// and its load drifts; only ratios from one run compare). Rows named ws-put, ws-range and ws-range-serializable
// send the same requests over one WebSocket API connection (msgpack) with that many in flight, Conclave only.
//
//   npm run bench -- [--seconds 5] [--clients 1,16,64,256] [--rows put,range,range-serializable,ws-put,ws-range] [--etcd] [--json]

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { WsConnection } from '../../src/client/ws-connection.js';
import { freePort, ProcessCluster } from '../support/process-cluster.js';

interface Args {
  seconds: number;
  clients: number[];
  rows: string[];
  etcd: boolean;
  json: boolean;
  keys: number;
  valueBytes: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 5, clients: [1, 16, 64, 256], rows: ['put', 'range'], etcd: false, json: false, keys: 10_000, valueBytes: 256 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === '--seconds') args.seconds = Number(value());
    else if (flag === '--clients') args.clients = value().split(',').map(Number);
    else if (flag === '--rows') args.rows = value().split(',');
    else if (flag === '--keys') args.keys = Number(value());
    else if (flag === '--etcd') args.etcd = true;
    else if (flag === '--json') args.json = true;
    else throw new Error(`unknown flag ${flag}`);
  }
  return args;
}

interface Target {
  readonly system: string;
  readonly endpoints: readonly string[];
  leader: string;
}

interface Result {
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly firstError: string | null;
}

function post(agent: http.Agent, url: URL, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (response.statusCode === 200) resolve(text);
          else reject(new Error(`${response.statusCode} ${text.slice(0, 200)}`));
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function findLeader(target: Target, timeoutMs = 20_000): Promise<string> {
  const agent = new http.Agent({ keepAlive: false });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      for (const endpoint of target.endpoints) {
        try {
          const status = JSON.parse(await post(agent, new URL('/v3/maintenance/status', endpoint), '{}')) as { leader?: string; header?: { member_id?: string } };
          if (status.leader !== undefined && status.leader === status.header?.member_id) {
            // A write must go through before the figures mean anything.
            await post(agent, new URL('/v3/kv/put', endpoint), '{"key":"d2FybXVw","value":"MQ=="}');
            return endpoint;
          }
        } catch {
          // Not up yet.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    agent.destroy();
  }
  throw new Error(`${target.system}: no leader within ${timeoutMs} ms`);
}

/** Closed loop: `clients` requests in flight, each client sending its next request when the previous one returns. */
async function closedLoop(clients: number, args: Args, send: (i: number) => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const deadline = started + args.seconds * 1000;
  const client = async (id: number) => {
    for (let i = id; performance.now() < deadline; i += clients) {
      const sent = performance.now();
      try {
        await send(i);
        latencies.push(performance.now() - sent);
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, id) => client(id)));
  const elapsedSeconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { opsPerSecond: latencies.length / elapsedSeconds, p50Ms: quantile(0.5), p99Ms: quantile(0.99), errors, firstError };
}

async function run(target: Target, row: string, clients: number, args: Args): Promise<Result> {
  if (row.startsWith('ws-')) return runOverWebSocket(target, row.slice(3), clients, args);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const value = Buffer.alloc(args.valueBytes, 'v').toString('base64');
  const url = new URL(row === 'put' ? '/v3/kv/put' : '/v3/kv/range', target.leader);
  try {
    return await closedLoop(clients, args, (i) => {
      const key = Buffer.from(`bench/${i % args.keys}`).toString('base64');
      const body =
        row === 'put'
          ? `{"key":"${key}","value":"${value}"}`
          : `{"key":"${key}"${row === 'range-serializable' ? ',"serializable":true' : ''}}`;
      return post(agent, url, body);
    });
  } finally {
    agent.destroy();
  }
}

/** The same workload with every request on one WebSocket API connection (msgpack), `clients` of them in flight. */
async function runOverWebSocket(target: Target, row: string, clients: number, args: Args): Promise<Result> {
  const connection = await WsConnection.connect(target.leader);
  const value = Buffer.alloc(args.valueBytes, 'v');
  try {
    return await closedLoop(clients, args, (i) => {
      const key = Buffer.from(`bench/${i % args.keys}`);
      if (row === 'put') return connection.call('put', { key, value });
      return connection.call('range', row === 'range-serializable' ? { key, serializable: true } : { key });
    });
  } finally {
    connection.close();
  }
}

async function startEtcd(): Promise<{ target: Target; stop: () => Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), 'conclave-bench-etcd-'));
  const ports = [];
  for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const cluster = ports.map((p, i) => `e${i + 1}=http://127.0.0.1:${p.peer}`).join(',');
  const children: ChildProcess[] = ports.map((p, i) =>
    spawn(
      'etcd',
      [
        `--name=e${i + 1}`,
        `--data-dir=${join(root, `e${i + 1}`)}`,
        `--listen-client-urls=http://127.0.0.1:${p.client}`,
        `--advertise-client-urls=http://127.0.0.1:${p.client}`,
        `--listen-peer-urls=http://127.0.0.1:${p.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${p.peer}`,
        `--initial-cluster=${cluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=bench',
        '--log-level=error',
      ],
      { stdio: 'ignore' },
    ),
  );
  const target: Target = { system: 'etcd', endpoints: ports.map((p) => `http://127.0.0.1:${p.client}`), leader: '' };
  const stop = async () => {
    await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : (c.once('exit', resolve), c.kill('SIGKILL'))))));
    rmSync(root, { recursive: true, force: true });
  };
  return { target, stop };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');
const average = (a: Result, b: Result): Result => ({
  opsPerSecond: (a.opsPerSecond + b.opsPerSecond) / 2,
  p50Ms: (a.p50Ms + b.p50Ms) / 2,
  p99Ms: (a.p99Ms + b.p99Ms) / 2,
  errors: a.errors + b.errors,
  firstError: a.firstError ?? b.firstError,
});

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.etcd && spawnSync('etcd', ['--version']).status !== 0) throw new Error('--etcd: no etcd binary on PATH (apt-get install etcd-server)');
  const conclave = await ProcessCluster.start({ heartbeatIntervalMs: 100, electionTimeoutMs: 1000, logLevel: 'warn' });
  const etcd = args.etcd ? await startEtcd() : null;
  const targets: Target[] = [{ system: 'conclave', endpoints: conclave.endpoints, leader: '' }];
  if (etcd !== null) targets.push(etcd.target);
  try {
    for (const target of targets) target.leader = await findLeader(target);
    process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; 3 members each, fsync on, ${args.valueBytes}-byte values, ${args.seconds} s per run\n`);
    const header = etcd === null ? '| workload | clients | ops/s | p50 ms | p99 ms | errors |' : '| workload | clients | conclave ops/s | p50 ms | p99 ms | etcd ops/s | p50 ms | p99 ms | ratio |';
    process.stdout.write(`${header}\n${header.replace(/[^|]+/g, '---')}\n`);
    for (const row of args.rows) {
      for (const clients of args.clients) {
        const [c, e] = targets;
        let ours: Result;
        let theirs: Result | null = null;
        // etcd has no WebSocket API: its side of a ws- row stays empty.
        if (e === undefined || row.startsWith('ws-')) ours = await run(c as Target, row, clients, args);
        else {
          const c1 = await run(c as Target, row, clients, args);
          const e1 = await run(e, row, clients, args);
          const e2 = await run(e, row, clients, args);
          const c2 = await run(c as Target, row, clients, args);
          ours = average(c1, c2);
          theirs = average(e1, e2);
        }
        if (args.json) process.stdout.write(JSON.stringify({ row, clients, conclave: ours, etcd: theirs }) + '\n');
        const cells =
          etcd === null
            ? [row, clients, fmt(ours.opsPerSecond), fmt(ours.p50Ms, 2), fmt(ours.p99Ms, 2), ours.errors]
            : theirs === null
            ? [row, clients, fmt(ours.opsPerSecond), fmt(ours.p50Ms, 2), fmt(ours.p99Ms, 2), '-', '-', '-', '-']
            : [row, clients, fmt(ours.opsPerSecond), fmt(ours.p50Ms, 2), fmt(ours.p99Ms, 2), fmt(theirs.opsPerSecond), fmt(theirs.p50Ms, 2), fmt(theirs.p99Ms, 2), `${fmt(ours.opsPerSecond / theirs.opsPerSecond, 2)}x`];
        process.stdout.write(`| ${cells.join(' | ')} |\n`);
        if (ours.firstError !== null) process.stdout.write(`  conclave errors: ${ours.errors}, first: ${ours.firstError}\n`);
      }
    }
  } finally {
    await conclave.stop();
    await etcd?.stop();
  }
}

await main();
