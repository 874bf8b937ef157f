// `npm run bench:watch`: watch fan-out on a real 3-member Conclave cluster. Opens --watchers watchers over
// --streams HTTP watch streams (spread over the members), each on the prefix or on one of --keys keys, then puts
// at --rate puts/s for --seconds; every put's value carries its send time, so a delivered event gives its
// delivery latency (put sent to event received; sampled from the last line of each socket read). Prints deliveries/s, delivery p50/p99/max, events missed,
// and each member's RSS before and after.
//
//   npm run bench:watch -- [--watchers 10000] [--streams 10] [--keys 0] [--rate 100] [--seconds 10]
//   (--keys 0: every watcher on the prefix; --keys K: watcher i on key i mod K)

import http from 'node:http';
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

interface Args {
  watchers: number;
  streams: number;
  keys: number;
  rate: number;
  seconds: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { watchers: 10_000, streams: 10, keys: 0, rate: 100, seconds: 10 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = Number(argv[++i]);
    if (!Number.isFinite(value)) throw new Error(`${flag} needs a number`);
    const name = flag.replace(/^--/, '') as keyof Args;
    if (!(name in args)) throw new Error(`unknown flag ${flag}`);
    args[name] = value;
  }
  return args;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const PREFIX = 'w/';

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** One watch stream: creates its watchers, then records each event's latency from the send time in its value. */
function openStream(endpoint: string, creates: string[], onEvents: (count: number, sentAtMs: number) => void): Promise<{ close: () => void; created: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let created = 0;
    let markCreated!: () => void;
    const allCreated = new Promise<void>((r) => (markCreated = r));
    const req = http.request(new URL('/v3/watch', endpoint), { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('response', (res) => {
      let rest: Buffer = Buffer.alloc(0);
      res.on('data', (chunk: Buffer) => {
        // Bytes, not JSON.parse of every line: the client must keep up with a line per watcher per put. Each line
        // after the created ones carries one event (one put per revision); the latency is read from the chunk's
        // last complete line (the one that waited longest in it), whose value is base64 of "t=<ms sent>".
        const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
        let lines = 0;
        let lastStart = 0;
        let lastEnd = -1;
        for (let end = data.indexOf(10); end >= 0; end = data.indexOf(10, end + 1)) {
          lines++;
          lastStart = lastEnd + 1;
          lastEnd = end;
        }
        if (lastEnd < 0) {
          rest = data;
          return;
        }
        rest = Buffer.from(data.subarray(lastEnd + 1));
        if (created < creates.length) {
          for (const line of data.subarray(0, lastEnd).toString().split('\n')) {
            if (line.includes('"created":true')) {
              if (++created === creates.length) markCreated();
              lines--;
            }
          }
        }
        const line = data.subarray(lastStart, lastEnd).toString();
        const at = line.indexOf('"value":"');
        if (at < 0 || lines <= 0) return;
        const from = at + 9;
        const sent = Number(Buffer.from(line.slice(from, line.indexOf('"', from)), 'base64').toString().slice(2));
        onEvents(lines, sent);
      });
      resolve({ close: () => req.destroy(), created: allCreated });
    });
    req.on('error', reject);
    req.write(creates.join('\n'));
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cluster = await ProcessCluster.start({ heartbeatIntervalMs: 100, electionTimeoutMs: 1000, logLevel: 'warn' });
  try {
    const leader = await waitForLeader(cluster.endpoints, 20_000);
    await waitForMembersPublished(leader, 3, 20_000);
    const pids = cluster.members.map((m) => m.process?.pid ?? 0);
    const rssBefore = pids.map(rssMiB);
    const latencies: number[] = [];
    let delivered = 0;
    const origin = performance.now();
    const now = () => performance.now() - origin;
    const perStream = Math.ceil(args.watchers / args.streams);
    const streams = [];
    for (let s = 0; s < args.streams; s++) {
      const creates: string[] = [];
      for (let i = s * perStream; i < Math.min(args.watchers, (s + 1) * perStream); i++) {
        const request = args.keys === 0 ? { key: b64(PREFIX), range_end: b64('w0') } : { key: b64(`${PREFIX}${i % args.keys}`) };
        creates.push(JSON.stringify({ create_request: request }));
      }
      const endpoint = cluster.endpoints[s % cluster.endpoints.length] as string;
      streams.push(
        await openStream(endpoint, creates, (count, sent) => {
          delivered += count;
          latencies.push(now() - sent);
        }),
      );
    }
    await Promise.all(streams.map((s) => s.created));
    const rssWatching = pids.map(rssMiB);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const total = Math.round(args.rate * args.seconds);
    const puts: Promise<unknown>[] = [];
    const started = now();
    for (let n = 0; n < total; n++) {
      const due = started + (n * 1000) / args.rate;
      const wait = due - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const key = args.keys === 0 ? `${PREFIX}${n % 1000}` : `${PREFIX}${n % args.keys}`;
      const body = JSON.stringify({ key: b64(key), value: b64(`t=${now()}`) });
      puts.push(post(agent, new URL('/v3/kv/put', leader), body));
    }
    await Promise.all(puts);
    // Events still in flight get a few seconds to arrive.
    const expected = args.keys === 0 ? total * args.watchers : expectedForKeys(total, args);
    const deadline = now() + 10_000;
    while (delivered < expected && now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const elapsedSeconds = (now() - started) / 1000;
    const rssAfter = pids.map(rssMiB);
    for (const s of streams) s.close();
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const q = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN).toFixed(1);
    process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; 3 members\n`);
    process.stdout.write(
      `${args.watchers} watchers on ${args.keys === 0 ? 'one prefix' : `${args.keys} keys`} over ${args.streams} streams, ${args.rate} puts/s for ${args.seconds} s: ` +
        `${delivered} of ${expected} events delivered (${Math.round(delivered / elapsedSeconds)}/s), delivery (sampled per read) p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms\n`,
    );
    process.stdout.write(`member RSS MiB: idle ${rssBefore.join('/')}, watching ${rssWatching.join('/')}, after the puts ${rssAfter.join('/')}\n`);
  } finally {
    await cluster.stop();
  }
}

/** With watchers on keys: put n goes to key n mod K, which watchers i ≡ n (mod K) watch. */
function expectedForKeys(total: number, args: Args): number {
  let sum = 0;
  for (let n = 0; n < total; n++) {
    const key = n % args.keys;
    sum += Math.floor((args.watchers - 1 - key) / args.keys) + 1;
  }
  return sum;
}

function post(agent: http.Agent, url: URL, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`put: ${response.statusCode}`))));
    });
    request.on('error', reject);
    request.end(body);
  });
}

await main();
