// `npm run bench:leases`: --leases live leases on a real 3-member Conclave cluster (fsync on), each renewed every
// --interval seconds over streaming keepalive calls (POST /v3/lease/keepalive, --streams of them spread over the
// members, or on the leader with --targets leader), for --seconds. Prints grants/s, renewals/s, keepalive
// latency p50/p99/max (request written to answer read), each member's CPU (% of one core, from /proc) and RSS,
// and the checkpoint commands the leader proposed.
//
//   npm run bench:leases -- [--leases 100000] [--interval 10] [--ttl 30] [--streams 12] [--seconds 30] [--targets all|leader]

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { LineReader } from '../../src/util/lines.js';
import { waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

interface Args {
  leases: number;
  interval: number;
  ttl: number;
  streams: number;
  seconds: number;
  targets: 'all' | 'leader';
}

function parseArgs(argv: string[]): Args {
  const args: Args = { leases: 100_000, interval: 10, ttl: 30, streams: 12, seconds: 30, targets: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const flag = (argv[i] as string).replace(/^--/, '');
    const text = argv[++i] ?? '';
    if (flag === 'targets') {
      if (text !== 'all' && text !== 'leader') throw new Error('--targets is all or leader');
      args.targets = text;
      continue;
    }
    if (!(flag in args)) throw new Error(`unknown flag --${flag}`);
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${flag} needs a positive number`);
    (args as unknown as Record<string, number>)[flag] = value;
  }
  return args;
}

const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round(kb / 1024);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function postJson(url: URL, body: unknown): Promise<Record<string, unknown>> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (response) => {
      let answer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (answer += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(JSON.parse(answer) as Record<string, unknown>) : reject(new Error(`${url.pathname}: ${response.statusCode} ${answer}`))));
    });
    request.on('error', reject);
    request.end(text);
  });
}

/** Grants `count` leases over 64 concurrent calls spread over the members, pushing each ID into `ids` (and to `onGranted`) as it comes. */
async function grantAll(endpoints: readonly string[], count: number, ttl: number, ids: number[], onGranted: (id: number) => void): Promise<void> {
  let next = 0;
  const worker = async (w: number) => {
    const url = new URL('/v3/lease/grant', endpoints[w % endpoints.length]);
    while (next < count) {
      next++;
      // A grant that timed out (a loaded machine, an election) is made again; if the first one applied after all,
      // its lease is never renewed and expires.
      for (let attempt = 1; ; attempt++) {
        try {
          const body = await postJson(url, { TTL: String(ttl) });
          ids.push(Number(body['ID']));
          onGranted(Number(body['ID']));
          break;
        } catch (error) {
          if (attempt >= 5) throw error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, (_, w) => worker(w)));
}

/** One keepalive stream: write `{"ID":..}` objects, read a line per answer. */
function openKeepAlive(endpoint: string, onAnswer: (id: number, ttl: number) => void): { send: (id: number) => void; close: () => void } {
  const request = http.request(new URL('/v3/lease/keepalive', endpoint), { method: 'POST', headers: { 'content-type': 'application/json' } });
  request.on('response', (response) => {
    const lines = new LineReader(1 << 20);
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        const id = /"ID":"(\d+)"/.exec(line)?.[1];
        const ttl = /"TTL":"(\d+)"/.exec(line)?.[1];
        if (id === undefined) throw new Error(`keepalive answered ${line}`);
        onAnswer(Number(id), Number(ttl ?? 0));
      }
    });
  });
  request.on('error', (error) => process.stderr.write(`keepalive stream to ${endpoint}: ${error.message}\n`));
  request.flushHeaders();
  return { send: (id) => request.write(`{"ID":"${id}"}\n`), close: () => request.destroy() };
}

async function debugVars(endpoint: string): Promise<Record<string, unknown>> {
  return (await (await fetch(new URL('/debug/vars', endpoint))).json()) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cluster = await ProcessCluster.start({ heartbeatIntervalMs: 100, electionTimeoutMs: 1000, logLevel: 'warn' });
  try {
    const leader = await waitForLeader(cluster.endpoints, 20_000);
    await waitForMembersPublished(leader, 3, 20_000);
    const pids = cluster.members.map((m) => m.process?.pid ?? 0);
    const rssIdle = pids.map(rssMiB);

    const targets = args.targets === 'leader' ? [leader] : cluster.endpoints;
    const sentAt = new Map<number, number>();
    let latencies: number[] = [];
    let answered = 0;
    let lost = 0;
    const streams = Array.from({ length: args.streams }, (_, s) =>
      openKeepAlive(targets[s % targets.length] as string, (id, ttl) => {
        const sent = sentAt.get(id);
        if (sent !== undefined) latencies.push(performance.now() - sent);
        sentAt.delete(id);
        answered++;
        if (ttl === 0) lost++;
      }),
    );
    // Renewals run from the first grant on: each lease is renewed --interval seconds after its grant, then every
    // --interval seconds (a queue in due order), so that none expires while the others are still being granted.
    const ids: number[] = [];
    const due: { id: number; atMs: number }[] = [];
    let dueHead = 0;
    let sent = 0;
    let renewing = true;
    const renewer = (async () => {
      while (renewing) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        const now = performance.now();
        for (; dueHead < due.length && (due[dueHead] as { atMs: number }).atMs <= now; dueHead++, sent++) {
          const next = due[dueHead] as { id: number; atMs: number };
          sentAt.set(next.id, now);
          (streams[sent % streams.length] as ReturnType<typeof openKeepAlive>).send(next.id);
          due.push({ id: next.id, atMs: next.atMs + args.interval * 1000 });
        }
        // The queue's consumed head is dropped now and then, so that it does not grow without bound.
        if (dueHead > 100_000) {
          due.splice(0, dueHead);
          dueHead = 0;
        }
      }
    })();

    const grantStart = performance.now();
    await grantAll(cluster.endpoints, args.leases, args.ttl, ids, (id) => due.push({ id, atMs: performance.now() + args.interval * 1000 }));
    const grantSeconds = (performance.now() - grantStart) / 1000;
    const rssGranted = pids.map(rssMiB);

    // The measured window: all leases granted, each renewed every --interval seconds.
    const checkpointsBefore = await checkpointCount(leader);
    const cpuBefore = pids.map(cpuSeconds);
    latencies = [];
    const [answeredBefore, sentBefore, lostBefore] = [answered, sent, lost];
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, args.seconds * 1000));
    const elapsedSeconds = (performance.now() - started) / 1000;
    const cpuAfter = pids.map(cpuSeconds);
    renewing = false;
    await renewer;
    const deadline = performance.now() + 10_000;
    while (answered < sent && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const checkpoints = (await checkpointCount(leader)) - checkpointsBefore;
    const rssAfter = pids.map(rssMiB);
    for (const stream of streams) stream.close();
    const vars = await debugVars(leader);

    latencies.sort((a, b) => a - b);
    const q = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN).toFixed(1);
    const cpu = pids.map((_, i) => `${cluster.members[i]?.clientUrl === leader ? 'leader ' : ''}${Math.round((100 * ((cpuAfter[i] ?? 0) - (cpuBefore[i] ?? 0))) / elapsedSeconds)}%`);
    process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; 3 members, fsync on\n`);
    process.stdout.write(`granted ${ids.length} leases (TTL ${args.ttl} s) in ${grantSeconds.toFixed(1)} s: ${Math.round(ids.length / grantSeconds)} grants/s; live at the leader: ${JSON.stringify(vars['leases'])}\n`);
    process.stdout.write(
      `renewing each every ${args.interval} s over ${args.streams} keepalive streams (${args.targets === 'leader' ? 'on the leader' : 'spread over the members'}) for ${args.seconds} s: ` +
        `${answered - answeredBefore} of ${sent - sentBefore} answered (${Math.round((sent - sentBefore) / elapsedSeconds)}/s), ${lost - lostBefore} answered TTL 0; keepalive p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms\n`,
    );
    process.stdout.write(`Raft entries committed meanwhile (checkpoints: nothing else is written): ${checkpoints} (${((answered - answeredBefore) / Math.max(1, checkpoints)).toFixed(1)} renewals each)\n`);
    process.stdout.write(`member CPU (% of one core) while renewing: ${cpu.join(' / ')}\n`);
    process.stdout.write(`member RSS MiB: idle ${rssIdle.join('/')}, after the grants ${rssGranted.join('/')}, after renewing ${rssAfter.join('/')}\n`);
  } catch (error) {
    process.stderr.write(`${cluster.logs().slice(-20_000)}\n`);
    throw error;
  } finally {
    agent.destroy();
    await cluster.stop();
  }
}

/** Raft proposals the leader has seen committed, as a proxy for checkpoint commands (nothing else is written meanwhile). */
async function checkpointCount(leader: string): Promise<number> {
  const vars = await debugVars(leader);
  return Number((vars['raft'] as { commit: number }).commit);
}

await main();
