// `npm run bench:watch`: watch fan-out on a real 3-member Conclave cluster. Opens --watchers watchers over
// --streams HTTP watch streams (spread over the members), each on the prefix or on one of --keys keys, then puts
// at --rate puts/s for --seconds; every put's value carries its send time, so a delivered event gives its
// delivery latency (put sent to event received; sampled from the last line of each socket read). Prints deliveries/s, delivery p50/p99/max, events missed,
// and each member's RSS before and after.
//
//   npm run bench:watch -- [--watchers 10000] [--streams 10] [--keys 0] [--rate 100] [--seconds 10] [--place all|followers] [--cpu-prof DIR]
//   (--keys 0: every watcher on the prefix; --keys K: watcher i on key i mod K; --place followers: no stream on the
//   leader, which takes the puts; --cpu-prof: each member writes a
//   V8 CPU profile into DIR when it stops, which it then does gracefully)
// It also prints the CPU time each member and this client used while the puts ran, so that a run whose client
// (or machine) is the bottleneck shows as such.

import http from 'node:http';
import net from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

interface Args {
  watchers: number;
  streams: number;
  keys: number;
  rate: number;
  seconds: number;
  cpuProfDir: string;
  /** Members the streams go to: all of them in turn, or only those that do not lead. */
  place: 'all' | 'followers';
}

function parseArgs(argv: string[]): Args {
  const args: Args = { watchers: 10_000, streams: 10, keys: 0, rate: 100, seconds: 10, cpuProfDir: '', place: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '--cpu-prof') {
      args.cpuProfDir = argv[++i] ?? '';
      continue;
    }
    if (flag === '--place') {
      const place = argv[++i];
      if (place !== 'all' && place !== 'followers') throw new Error('--place takes all or followers');
      args.place = place;
      continue;
    }
    const value = Number(argv[++i]);
    if (!Number.isFinite(value)) throw new Error(`${flag} needs a number`);
    const name = flag.replace(/^--/, '') as Exclude<keyof Args, 'cpuProfDir' | 'place'>;
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

/** User and system CPU seconds a process has used (/proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** How much of the last 10 s some task waited for a CPU (Linux PSI): the other work on a shared machine. */
function cpuPressure(): string {
  try {
    const some = /some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1];
    return `CPU pressure ${some ?? '?'}% (some, avg10)`;
  } catch {
    return 'CPU pressure unknown';
  }
}

function cpuLine(name: string, before: { user: number; system: number }, after: { user: number; system: number }, seconds: number): string {
  const user = after.user - before.user;
  const system = after.system - before.system;
  return `${name} ${Math.round((100 * (user + system)) / seconds)}% (user ${user.toFixed(1)} s, sys ${system.toFixed(1)} s)`;
}

/**
 * One watch stream: creates its watchers, then records each event's latency from the send time in its value. A
 * plain socket and an HTTP/1.0 request, so that the response is the lines themselves (no chunked framing to
 * parse) and every read lands in one reused buffer: the client must keep up with a line per watcher per put.
 */
function openStream(endpoint: string, creates: string[], onEvents: (count: number, value: string) => void): Promise<{ close: () => void; created: Promise<void> }> {
  const url = new URL(endpoint);
  const body = Buffer.from(creates.join('\n'));
  return new Promise((resolve, reject) => {
    let created = 0;
    let markCreated!: () => void;
    const allCreated = new Promise<void>((r) => (markCreated = r));
    let head = '';
    let rest = '';
    let partial = false;
    const onBody = (bytes: Buffer): void => {
      if (created < creates.length) {
        const text = rest + bytes.toString('latin1');
        const lines = text.split('\n');
        rest = lines.pop() ?? '';
        partial = rest.length > 0;
        for (const line of lines) if (line.includes('"created":true') && ++created === creates.length) markCreated();
        return;
      }
      // Bytes, not JSON.parse of every line. Each line after the created ones carries one event (one put per
      // revision); the latency is read from the read's last complete line (the one that waited longest in it),
      // whose value is base64 of "t=<ms sent>".
      let lines = 0;
      let lastStart = -1;
      let lastEnd = -1;
      for (let end = bytes.indexOf(10); end >= 0; end = bytes.indexOf(10, end + 1)) {
        lines++;
        lastStart = lastEnd + 1;
        lastEnd = end;
      }
      if (lastEnd < 0) {
        partial = true;
        return;
      }
      // A last line that began in the previous read is not sampled (lines are short: this is rare).
      const sampled = !(lines === 1 && partial);
      partial = lastEnd < bytes.length - 1;
      if (!sampled) {
        onEvents(lines, '');
        return;
      }
      const line = bytes.subarray(lastStart, lastEnd).toString('latin1');
      const at = line.indexOf('"value":"');
      const from = at + 9;
      onEvents(lines, at < 0 ? '' : Buffer.from(line.slice(from, line.indexOf('"', from)), 'base64').toString());
    };
    const onRead = (bytes: Buffer): void => {
      if (head.endsWith('\r\n\r\n')) {
        onBody(bytes);
        return;
      }
      // latin1: a character per byte, so that positions in the text are positions in the bytes.
      const before = head.length;
      const text = head + bytes.toString('latin1');
      const at = text.indexOf('\r\n\r\n');
      if (at < 0) {
        head = text;
        return;
      }
      head = text.slice(0, at + 4);
      if (!/^HTTP\/1\.[01] 200/.test(head)) reject(new Error(`watch: ${head.split('\r\n')[0] ?? ''}`));
      onBody(bytes.subarray(at + 4 - before));
    };
    const socket = net.connect({
      host: url.hostname,
      port: Number(url.port),
      onread: { buffer: Buffer.allocUnsafe(1 << 20), callback: (count: number, buffer: Uint8Array) => (onRead(Buffer.from(buffer.buffer, buffer.byteOffset, count)), true) },
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`POST /v3/watch HTTP/1.0\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
      socket.write(body);
      resolve({ close: () => socket.destroy(), created: allCreated });
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const nodeFlags = args.cpuProfDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${args.cpuProfDir}`];
  const cluster = await ProcessCluster.start({ heartbeatIntervalMs: 100, electionTimeoutMs: 1000, logLevel: 'warn', nodeFlags });
  try {
    const leader = await waitForLeader(cluster.endpoints, 20_000);
    await waitForMembersPublished(leader, 3, 20_000);
    const pids = cluster.members.map((m) => m.process?.pid ?? 0);
    const rssBefore = pids.map(rssMiB);
    const latencies: number[] = [];
    /** Sampled deliveries as [put number, when received], and when each put was answered: the fan-out's own share. */
    const received: [number, number][] = [];
    const answeredAt: number[] = [];
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
      const targets = args.place === 'all' ? cluster.endpoints : cluster.endpoints.filter((e) => e !== leader);
      const endpoint = targets[s % targets.length] as string;
      streams.push(
        await openStream(endpoint, creates, (count, value) => {
          delivered += count;
          // The value is "t=<ms sent> n=<put number>".
          if (value === '') return;
          const [sent = '', n = ''] = value.split(' ');
          const at = now();
          latencies.push(at - Number(sent.slice(2)));
          received.push([Number(n.slice(2)), at]);
        }),
      );
    }
    await Promise.all(streams.map((s) => s.created));
    const rssWatching = pids.map(rssMiB);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
    const total = Math.round(args.rate * args.seconds);
    const puts: Promise<unknown>[] = [];
    // How long a put takes to commit and apply: a delivery cannot be faster, and a busy disk makes it slower.
    const putLatencies: number[] = [];
    const started = now();
    const cpuBefore = pids.map(cpuSeconds);
    const clientCpuBefore = cpuSeconds(process.pid);
    for (let n = 0; n < total; n++) {
      const due = started + (n * 1000) / args.rate;
      const wait = due - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const key = args.keys === 0 ? `${PREFIX}${n % 1000}` : `${PREFIX}${n % args.keys}`;
      const body = JSON.stringify({ key: b64(key), value: b64(`t=${now().toFixed(1)} n=${n}`) });
      const sentAt = now();
      puts.push(
        post(agent, new URL('/v3/kv/put', leader), body).then(() => {
          answeredAt[n] = now();
          putLatencies.push(now() - sentAt);
        }),
      );
    }
    await Promise.all(puts);
    // Events still in flight get a few seconds to arrive.
    const expected = args.keys === 0 ? total * args.watchers : expectedForKeys(total, args);
    const deadline = now() + 10_000;
    // (or until nothing has arrived for 2 s: a cancelled watcher's events never will).
    for (let seen = delivered, quietSince = now(); delivered < expected && now() < deadline && now() - quietSince < 2000; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (delivered !== seen) [seen, quietSince] = [delivered, now()];
    }
    const elapsedSeconds = (now() - started) / 1000;
    const cpuAfter = pids.map(cpuSeconds);
    // A watcher a member found too slow is cancelled there (its stream gets the reason): the members count the rest.
    const watching = await Promise.all(cluster.endpoints.map(async (endpoint) => ((await (await fetch(new URL('/debug/vars', endpoint))).json()) as { watches: number }).watches));
    const canceled = args.watchers - watching.reduce((a, b) => a + b, 0);
    const clientCpuAfter = cpuSeconds(process.pid);
    const rssAfter = pids.map(rssMiB);
    for (const s of streams) s.close();
    agent.destroy();
    latencies.sort((a, b) => a - b);
    putLatencies.sort((a, b) => a - b);
    // An event that arrived before its put's answer took no time past the answer.
    const afterAnswer = received.map(([n, at]) => Math.max(0, at - (answeredAt[n] ?? at))).sort((a, b) => a - b);
    const quantile = (sorted: number[], p: number) => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN).toFixed(1);
    const q = (p: number) => quantile(latencies, p);
    process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; 3 members\n`);
    process.stdout.write(
      `${args.watchers} watchers on ${args.keys === 0 ? 'one prefix' : `${args.keys} keys`} over ${args.streams} streams, ${args.rate} puts/s for ${args.seconds} s: ` +
        `${delivered} of ${expected} events delivered (${Math.round(delivered / elapsedSeconds)}/s), ${canceled} watchers cancelled as too slow, delivery (sampled per read) p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms\n`,
    );
    process.stdout.write(
      `put (sent to answered) p50 ${quantile(putLatencies, 0.5)} ms, p99 ${quantile(putLatencies, 0.99)} ms, max ${quantile(putLatencies, 1)} ms; ` +
        `delivery after the put's answer p50 ${quantile(afterAnswer, 0.5)} ms, p99 ${quantile(afterAnswer, 0.99)} ms, max ${quantile(afterAnswer, 1)} ms\n`,
    );
    process.stdout.write(`member RSS MiB: idle ${rssBefore.join('/')}, watching ${rssWatching.join('/')}, after the puts ${rssAfter.join('/')}\n`);
    const cpu = pids.map((pid, i) => cpuLine(`n${i + 1}${cluster.endpoints[i] === leader ? ' (leader)' : ''}`, cpuBefore[i]!, cpuAfter[i]!, elapsedSeconds));
    process.stdout.write(`CPU over ${elapsedSeconds.toFixed(1)} s: ${[...cpu, cpuLine('client', clientCpuBefore, clientCpuAfter, elapsedSeconds)].join('; ')}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${cpuPressure()}\n`);
  } finally {
    // A profiling member writes its profile when it exits on its own, so it is stopped gracefully first.
    if (args.cpuProfDir !== '') await Promise.all(cluster.members.map((m) => cluster.kill(m, 'SIGTERM')));
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
