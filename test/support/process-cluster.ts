// Real `conclave` processes on loopback for integration tests, benchmarks and the jepsen-like harness: free ports,
// a temporary data root (or a given one), kill -9 and restart of one member, SIGSTOP/SIGCONT, and cleanup of every
// process and directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, whether this runs from the sources (tests) or from dist/. */
export function repoRoot(): string {
  const here = fileURLToPath(import.meta.url);
  return here.includes('/dist/') ? here.slice(0, here.indexOf('/dist/')) : join(here, '..', '..', '..');
}

/** The built server: tests run from the sources but the processes run dist/. */
export function serverBin(): string {
  return join(repoRoot(), 'dist', 'cmd', 'conclave.js');
}

/** The --initial-cluster-token of every cluster started here (member IDs derive from it and the peer URLs). */
export const CLUSTER_TOKEN = 'test-cluster';

/**
 * Ports for members are drawn below the kernel's ephemeral range (32768-60999 here), which listen(0) and every
 * outgoing connection take from: a member killed and restarted on its port would otherwise find it taken by some
 * other test's connection or proxy in the meantime (seen as a member that never came back, ECONNREFUSED).
 */
const MEMBER_PORTS = { low: 15_000, high: 32_000 } as const;

/** A port on 127.0.0.1 that was free a moment ago, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = MEMBER_PORTS.low + Math.floor(Math.random() * (MEMBER_PORTS.high - MEMBER_PORTS.low));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${MEMBER_PORTS.low}..${MEMBER_PORTS.high} after 200 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface ProcessMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly clientUrl: string;
  /** Where the member listens for its peers. */
  readonly peerUrl: string;
  /** What it advertises to them: peerUrl, unless the cluster puts a proxy in front (ProcessClusterOptions.frontDoor). */
  readonly advertisedPeerUrl: string;
  /** The client URL it advertises (its peers call it there): clientUrl, unless a proxy is put in front (clientFrontDoor). */
  readonly advertisedClientUrl: string;
  readonly dataDir: string;
  process: ChildProcess | null;
  /** Everything the member wrote to stderr and stdout, for the test's failure message. */
  output: string;
}

export interface ProcessClusterOptions {
  readonly size?: number;
  readonly heartbeatIntervalMs?: number;
  readonly electionTimeoutMs?: number;
  readonly extraFlags?: readonly string[];
  readonly logLevel?: string;
  /** Flags for node itself, before the server script (a benchmark's `--cpu-prof`, a test-only `--import` preload). */
  readonly nodeFlags?: readonly string[];
  /** Environment of the member processes, added to this one's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Environment of one member's process, on top of `env` (a fault's control file that only it reads). */
  readonly memberEnv?: (name: string) => Readonly<Record<string, string>>;
  /** The data root to use instead of a temporary one; stop() leaves it in place. */
  readonly root?: string;
  /** A directory to append each member's output to, as NAME.log, across restarts. */
  readonly logDir?: string;
  /** The peer URL a member advertises, given its listening peer port (a proxy the caller starts in front of it). */
  readonly frontDoor?: (name: string, peerPort: number) => Promise<string>;
  /** The client URL a member advertises, given its listening client port (a proxy for its peers' calls). */
  readonly clientFrontDoor?: (name: string, clientPort: number) => Promise<string>;
  /**
   * The server's command line before its flags (default: this node running dist/cmd/conclave.js). The flags are
   * etcd's, so `['etcd']` runs etcd members instead.
   */
  readonly command?: readonly string[];
}

export class ProcessCluster {
  readonly members: ProcessMember[] = [];
  readonly root: string;
  private readonly flags: string[];
  private readonly logFiles = new Map<string, WriteStream>();

  private constructor(
    members: ProcessMember[],
    root: string,
    readonly options: ProcessClusterOptions,
  ) {
    this.members = members;
    this.root = root;
    this.flags = [
      `--heartbeat-interval=${options.heartbeatIntervalMs ?? 50}`,
      `--election-timeout=${options.electionTimeoutMs ?? 500}`,
      `--log-level=${options.logLevel ?? 'info'}`,
      ...(options.extraFlags ?? []),
    ];
  }

  static async start(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const root = options.root ?? mkdtempSync(join(tmpdir(), 'conclave-cluster-'));
    const cluster = new ProcessCluster([], root, options);
    for (let i = 1; i <= (options.size ?? 3); i++) await cluster.newMember(`n${i}`);
    for (const member of cluster.members) cluster.spawn(member, 'new', cluster.members);
    return cluster;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Starts (or restarts, on its data directory) one member. */
  spawn(member: ProcessMember, state: 'new' | 'existing', initial: readonly ProcessMember[] = this.members): void {
    const [program, ...programArgs] = this.options.command ?? [process.execPath, ...(this.options.nodeFlags ?? []), serverBin()];
    const child = spawn(
      program!,
      [
        ...programArgs,
        `--name=${member.name}`,
        `--data-dir=${member.dataDir}`,
        `--listen-client-urls=${member.clientUrl}`,
        `--advertise-client-urls=${member.advertisedClientUrl}`,
        `--listen-peer-urls=${member.peerUrl}`,
        `--initial-advertise-peer-urls=${member.advertisedPeerUrl}`,
        `--initial-cluster=${initial.map((m) => `${m.name}=${m.advertisedPeerUrl}`).join(',')}`,
        `--initial-cluster-state=${state}`,
        `--initial-cluster-token=${CLUSTER_TOKEN}`,
        ...this.flags,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.options.env, ...this.options.memberEnv?.(member.name) } },
    );
    member.process = child;
    const log = this.logFile(member.name);
    const append = (chunk: Buffer) => {
      log?.write(chunk);
      member.output += chunk.toString();
      if (member.output.length > 1_000_000) member.output = member.output.slice(-500_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.on('exit', () => {
      if (member.process === child) member.process = null;
    });
  }

  /** Appends a line of the caller's to the member's output and log (what a harness did to it, and when). */
  note(member: ProcessMember, line: string): void {
    const text = `${new Date().toISOString()} ${line}\n`;
    this.logFile(member.name)?.write(text);
    member.output += text;
  }

  private logFile(name: string): WriteStream | undefined {
    if (this.options.logDir === undefined) return undefined;
    let stream = this.logFiles.get(name);
    if (stream === undefined) {
      mkdirSync(this.options.logDir, { recursive: true });
      stream = createWriteStream(join(this.options.logDir, `${name}.log`), { flags: 'a' });
      this.logFiles.set(name, stream);
    }
    return stream;
  }

  /** Adds a member record (ports, data dir) without starting it. */
  async newMember(name: string): Promise<ProcessMember> {
    const clientPort = await freePort();
    const peerPort = await freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const member: ProcessMember = {
      name,
      clientPort,
      peerPort,
      clientUrl: `http://127.0.0.1:${clientPort}`,
      peerUrl,
      advertisedPeerUrl: this.options.frontDoor === undefined ? peerUrl : await this.options.frontDoor(name, peerPort),
      advertisedClientUrl: this.options.clientFrontDoor === undefined ? `http://127.0.0.1:${clientPort}` : await this.options.clientFrontDoor(name, clientPort),
      dataDir: join(this.root, name),
      process: null,
      output: '',
    };
    this.members.push(member);
    return member;
  }

  /**
   * Starts a member that was removed from the cluster again as a new one: same name and ports, an empty data
   * directory, `advertisedPeerUrl` (the URLs it was added back with), --initial-cluster-state existing.
   */
  rejoin(name: string, advertisedPeerUrl: string): ProcessMember {
    const index = this.members.findIndex((m) => m.name === name);
    const old = this.members[index];
    if (old === undefined) throw new Error(`no member named ${name}`);
    if (old.process !== null) throw new Error(`member ${name} is still running`);
    rmSync(old.dataDir, { recursive: true, force: true });
    const member: ProcessMember = { ...old, advertisedPeerUrl, process: null, output: old.output };
    this.members[index] = member;
    this.spawn(member, 'existing');
    return member;
  }

  async kill(member: ProcessMember, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = member.process;
    if (child === null) return null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  /** SIGSTOP (pause) or SIGCONT (resume) one member; false when it is not running. */
  signal(member: ProcessMember, signal: 'SIGSTOP' | 'SIGCONT'): boolean {
    return member.process?.kill(signal) ?? false;
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m, 'SIGKILL')));
    await Promise.all([...this.logFiles.values()].map((stream) => new Promise((resolve) => stream.end(resolve))));
    this.logFiles.clear();
    if (this.options.root === undefined) rmSync(this.root, { recursive: true, force: true });
  }

  logs(): string {
    return this.members.map((m) => `--- ${m.name} ---\n${m.output.slice(-20_000)}`).join('\n');
  }
}
