// Benchmark of durable storage: NodeStorage (one LevelDB database for the Raft log, its hard state and the
// backend) driven by RaftLoop, fsync on as always.
//
//   npm run bench:storage [-- --seconds 5 --batches 1,16,256 --value-bytes 256 --keys 1000000 --tail 5000]
//
// 1. Loop: a one-voter RaftNode + NodeStorage + RaftLoop. For each batch size B, B proposals stay in flight
//    (closed loop: each applied proposal is replaced by a new one), each a put of a new key with a value of
//    --value-bytes. Prints applied entries/s, entries per fsync, fsyncs/s, mean fsync time, and the latency of a
//    proposal from propose() to its apply.
// 2. Persist: NodeStorage.persist alone, with synthetic Readies of B entries (what the loop costs on top).
// 3. Restart: loads --keys keys through the loop (puts in a scattered key order, snapshots and log compaction as
//    configured by src/limits.ts), then appends --tail committed entries that are not applied (a crash after
//    the commit, before the applies reached disk), so that the restart replays them. A fresh child process
//    (storage-restart.js) then opens the storage, constructs the node, replays, and serves reads; it prints the
//    time since its process started and its RSS (split into anonymous memory and file-backed pages: LevelDB reads
//    its tables through mmap, so the pages it touches count in RSS although they are shared, reclaimable page
//    cache). A second child on a copy of the directory breaks the time down. By default the member is stopped
//    right after the load, as a restart under load finds it; --settle first lets the snapshot that is due (or
//    being written) be recorded and the log compacted, as after a quiet period.
//
// Figures only; it asserts nothing but the values it reads back. Temporary directories are removed at the end.

import { spawn } from 'node:child_process';
import { cp, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RaftNode } from '../../src/raft/node.js';
import { index, nodeId, term, type Entry, type Ready } from '../../src/raft/types.js';
import { storageLimits } from '../../src/limits.js';
import { RaftLoop } from '../../src/server/raft-loop.js';
import { NodeStorage, type StorageStats } from '../../src/storage/storage.js';
import { ready } from '../storage/helpers.js';
import { DataSet, encodePuts, keyFor, mib, PutStateMachine, seededRandom, valueFor } from './storage-workload.js';

interface Args {
  seconds: number;
  keys: number;
  valueBytes: number;
  batches: number[];
  tail: number;
  reads: number;
  loadBatch: number;
  loadKeysPerEntry: number;
  dir: string;
  skipAppend: boolean;
  skipPersist: boolean;
  skipRestart: boolean;
  settle: boolean;
  keep: boolean;
}

const USAGE =
  'options: --seconds S (per row, default 5), --batches 1,16,256, --value-bytes B (256), --keys N (1000000), --tail T (5000), ' +
  '--reads R (10000), --load-batch B (256), --load-keys-per-entry K (1), --dir D (parent of the temporary directory, default os.tmpdir()), ' +
  '--skip-append, --skip-persist, --skip-restart, --settle (let the last snapshot be recorded before the stop), --keep';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    seconds: 5,
    keys: 1_000_000,
    valueBytes: 256,
    batches: [1, 16, 256],
    tail: 5_000,
    reads: 10_000,
    loadBatch: 256,
    loadKeysPerEntry: 1,
    dir: tmpdir(),
    skipAppend: false,
    skipPersist: false,
    skipRestart: false,
    settle: false,
    keep: false,
  };
  const count = (name: string, raw: string | undefined, min: number): number => {
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} needs an integer >= ${min}, not ${String(raw)} (${USAGE})`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const next = (): string | undefined => argv[++i];
    switch (name) {
      case '--seconds': {
        const raw = next();
        args.seconds = Number(raw);
        if (!(args.seconds > 0)) throw new Error(`--seconds needs a positive number, not ${String(raw)}`);
        break;
      }
      case '--keys':
        args.keys = count(name, next(), 1);
        break;
      case '--value-bytes':
        args.valueBytes = count(name, next(), 0);
        break;
      case '--batches':
        args.batches = String(next()).split(',').map((part) => count(name, part, 1));
        break;
      case '--tail':
        args.tail = count(name, next(), 0);
        break;
      case '--reads':
        args.reads = count(name, next(), 0);
        break;
      case '--load-batch':
        args.loadBatch = count(name, next(), 1);
        break;
      case '--load-keys-per-entry':
        args.loadKeysPerEntry = count(name, next(), 1);
        break;
      case '--dir':
        args.dir = String(next());
        break;
      case '--skip-append':
        args.skipAppend = true;
        break;
      case '--skip-persist':
        args.skipPersist = true;
        break;
      case '--skip-restart':
        args.skipRestart = true;
        break;
      case '--settle':
        args.settle = true;
        break;
      case '--keep':
        args.keep = true;
        break;
      default:
        throw new Error(`unknown argument ${String(name)} (${USAGE})`);
    }
  }
  if (args.tail > args.keys) throw new Error(`--tail ${args.tail} exceeds --keys ${args.keys}`);
  return args;
}

// ---- helpers ----

const ID = nodeId('n1');

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Latency samples in a growable Float64Array. */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

function delta(after: StorageStats, before: StorageStats): StorageStats {
  return {
    batches: after.batches - before.batches,
    fsyncs: after.fsyncs - before.fsyncs,
    entriesWritten: after.entriesWritten - before.entriesWritten,
    bytesWritten: after.bytesWritten - before.bytesWritten,
    fsyncDurationMsTotal: after.fsyncDurationMsTotal - before.fsyncDurationMsTotal,
    snapshotsTaken: after.snapshotsTaken - before.snapshotsTaken,
    snapshotsInstalled: after.snapshotsInstalled - before.snapshotsInstalled,
    compactions: after.compactions - before.compactions,
  };
}

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

function table(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padStart(widths[column] as number)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

/** A one-voter member on a fresh (or reopened) data directory, elected leader. */
interface Member {
  storage: NodeStorage;
  node: RaftNode;
  loop: RaftLoop;
  stateMachine: PutStateMachine;
  /** Called for each applied entry that carried puts. */
  onPuts: (entry: Entry) => void;
}

async function startMember(dataDir: string): Promise<Member> {
  const storage = await NodeStorage.open({ dataDir });
  const node = new RaftNode({ id: ID, initialConfig: { voters: [ID], learners: [] }, restored: storage.restored, random: seededRandom(3) });
  const stateMachine = new PutStateMachine();
  let fatal: Error | null = null;
  const member: Member = {
    storage,
    node,
    stateMachine,
    onPuts: () => {},
    loop: new RaftLoop({
      node,
      storage,
      stateMachine,
      send: () => {},
      onApplied: (entry, result) => {
        if ((result as number) > 0) member.onPuts(entry);
      },
      onFatal: (error) => {
        fatal = error;
        console.error(`fatal: ${error.stack ?? error.message}`);
        process.exit(1);
      },
    }),
  };
  node.campaign();
  member.loop.kick();
  while (node.status().role !== 'leader') {
    if (fatal !== null) throw fatal;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return member;
}

/**
 * Keeps `inFlight` proposals in flight (each applied one is replaced at once) until `until()` says stop,
 * then lets the last ones drain. `make(n)` gives the data of the n-th proposal. Returns per-proposal latencies.
 */
async function closedLoop(
  member: Member,
  inFlight: number,
  make: (n: number) => Uint8Array | null,
  onWindow: { measuring: () => boolean; end: () => boolean },
): Promise<{ latencies: Samples; proposed: number }> {
  const { node, loop } = member;
  const latencies = new Samples();
  const proposedAt: number[] = [];
  let head = 0;
  let proposed = 0;
  let outstanding = 0;
  let stopped = false;
  let resolveDrained: () => void = () => {};
  const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
  const proposeOne = (): boolean => {
    const data = make(proposed);
    if (data === null) return false;
    const error = node.propose(data);
    if (error !== null) throw error;
    proposedAt.push(performance.now());
    proposed++;
    outstanding++;
    return true;
  };
  member.onPuts = () => {
    const now = performance.now();
    const at = proposedAt[head++] as number;
    if (head > 65_536) {
      proposedAt.splice(0, head);
      head = 0;
    }
    outstanding--;
    if (onWindow.measuring()) latencies.push(now - at);
    if (!stopped && onWindow.end()) stopped = true;
    if (!stopped && !proposeOne()) stopped = true;
    if (stopped && outstanding === 0) resolveDrained();
  };
  for (let i = 0; i < inFlight; i++) if (!proposeOne()) break;
  loop.kick();
  if (outstanding === 0) resolveDrained();
  await drained;
  member.onPuts = () => {};
  return { latencies, proposed };
}

// ---- 0. disk baseline ----

async function fsyncBaseline(dir: string, seconds: number): Promise<{ fsyncs: number; meanMs: number }> {
  const handle = await open(join(dir, 'fsync-baseline'), 'w');
  const block = Buffer.alloc(4096, 1);
  let count = 0;
  let total = 0;
  const end = performance.now() + seconds * 1000;
  try {
    while (performance.now() < end) {
      await handle.write(block, 0, block.length, null);
      const started = performance.now();
      await handle.datasync();
      total += performance.now() - started;
      count++;
    }
  } finally {
    await handle.close();
    await rm(join(dir, 'fsync-baseline'), { force: true });
  }
  return { fsyncs: count / seconds, meanMs: total / count };
}

// ---- 1. appends through the loop ----

interface AppendRow {
  batch: number;
  seconds: number;
  appliedPerSecond: number;
  entriesPerFsync: number;
  fsyncsPerSecond: number;
  batchesPerSecond: number;
  meanFsyncMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  cpuPercent: number;
  snapshots: number;
}

async function appendRow(root: string, batch: number, seconds: number, valueBytes: number): Promise<AppendRow> {
  const dataDir = await mkdtemp(join(root, `append-${batch}-`));
  const member = await startMember(dataDir);
  const pool = Array.from({ length: 1024 }, (_, i) => valueFor(i, 7, valueBytes));
  const make = (n: number): Uint8Array => encodePuts([[keyFor(n), pool[n % pool.length] as Buffer]]);
  const warmupMs = Math.min(1000, seconds * 200);
  let windowStart = 0;
  let windowEnd = 0;
  let measured = 0;
  let before: StorageStats = member.storage.stats();
  let after: StorageStats = before;
  let cpuBefore = process.cpuUsage();
  let cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  const startedAt = performance.now();
  const { latencies } = await closedLoop(member, batch, make, {
    measuring: () => {
      const now = performance.now();
      if (phase === 'warmup' && now - startedAt >= warmupMs) {
        phase = 'measure';
        windowStart = now;
        before = member.storage.stats();
        cpuBefore = process.cpuUsage();
        return false;
      }
      if (phase === 'measure') {
        measured++;
        return true;
      }
      return false;
    },
    end: () => {
      if (phase === 'measure' && performance.now() - windowStart >= seconds * 1000) {
        phase = 'done';
        windowEnd = performance.now();
        after = member.storage.stats();
        cpu = process.cpuUsage(cpuBefore);
        return true;
      }
      return false;
    },
  });
  const d = delta(after, before);
  const elapsed = (windowEnd - windowStart) / 1000;
  await member.loop.stop();
  await member.storage.close();
  await rm(dataDir, { recursive: true, force: true });
  const sorted = latencies.sorted();
  return {
    batch,
    seconds: elapsed,
    appliedPerSecond: measured / elapsed,
    entriesPerFsync: d.entriesWritten / Math.max(1, d.fsyncs),
    fsyncsPerSecond: d.fsyncs / elapsed,
    batchesPerSecond: d.batches / elapsed,
    meanFsyncMs: d.fsyncDurationMsTotal / Math.max(1, d.fsyncs),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    cpuPercent: ((cpu.user + cpu.system) / 1000 / (elapsed * 1000)) * 100,
    snapshots: d.snapshotsTaken,
  };
}

// ---- 2. NodeStorage.persist alone ----

interface PersistRow {
  batch: number;
  entriesPerSecond: number;
  fsyncsPerSecond: number;
  meanFsyncMs: number;
  p50Ms: number;
  p99Ms: number;
  mibPerSecond: number;
}


async function persistRow(root: string, batch: number, seconds: number, valueBytes: number): Promise<PersistRow> {
  const dataDir = await mkdtemp(join(root, `persist-${batch}-`));
  const storage = await NodeStorage.open({ dataDir });
  const pool = Array.from({ length: 1024 }, (_, i) => valueFor(i, 7, valueBytes));
  const t = term(1);
  let next = 1;
  const readyOf = (): Ready => {
    const entries: Entry[] = [];
    for (let i = 0; i < batch; i++, next++) {
      entries.push({ index: index(next), term: t, type: 'normal', data: encodePuts([[keyFor(next), pool[next % pool.length] as Buffer]]) });
    }
    return ready({ entries, hardState: { term: t, vote: ID, commit: index(next - 1) } });
  };
  const warmupEnd = performance.now() + Math.min(1000, seconds * 200);
  while (performance.now() < warmupEnd) await storage.persist(readyOf());
  const latencies = new Samples();
  const before = storage.stats();
  const started = performance.now();
  const end = started + seconds * 1000;
  let entries = 0;
  while (performance.now() < end) {
    const ready = readyOf();
    const at = performance.now();
    await storage.persist(ready);
    latencies.push(performance.now() - at);
    entries += ready.entries.length;
  }
  const elapsed = (performance.now() - started) / 1000;
  const d = delta(storage.stats(), before);
  await storage.close();
  await rm(dataDir, { recursive: true, force: true });
  const sorted = latencies.sorted();
  return {
    batch,
    entriesPerSecond: entries / elapsed,
    fsyncsPerSecond: d.fsyncs / elapsed,
    meanFsyncMs: d.fsyncDurationMsTotal / Math.max(1, d.fsyncs),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    mibPerSecond: d.bytesWritten / elapsed / (1024 * 1024),
  };
}

// ---- 3. restart ----

interface LoadResult {
  seconds: number;
  settleSeconds: number;
  /** Each snapshot recorded during the load: when, at which index, and how far the applied index was by then. */
  recorded: { seconds: number; snapshotIndex: number; applied: number }[];
  keysPerSecond: number;
  entries: number;
  snapshots: number;
  compactions: number;
  fsyncs: number;
  tailEntries: number;
  tailSeconds: number;
  commit: number;
  applied: number;
  firstStoredIndex: number;
  lastStoredIndex: number;
  snapshotIndex: number | null;
  diskBytes: number;
  dbBytes: number;
  snapBytes: number;
  writerRss: number;
}

async function buildDataSet(dataDir: string, args: Args, data: DataSet): Promise<LoadResult> {
  const member = await startMember(dataDir);
  const perEntry = args.loadKeysPerEntry;
  const started = performance.now();
  let lastReport = started;
  let loaded = 0;
  const recorded: { seconds: number; snapshotIndex: number; applied: number }[] = [];
  let lastSnapshot = 0;
  const watchSnapshots = (now: number): void => {
    const at = member.storage.snapshot?.meta.index ?? 0;
    if (at === lastSnapshot) return;
    lastSnapshot = at;
    recorded.push({ seconds: (now - started) / 1000, snapshotIndex: at, applied: member.storage.backend.appliedIndex });
  };
  const make = (n: number): Uint8Array | null => {
    const first = n * perEntry;
    if (first >= data.keys) return null;
    const pairs: [Uint8Array, Uint8Array][] = [];
    for (let i = first; i < Math.min(data.keys, first + perEntry); i++) {
      const key = data.permute(i);
      pairs.push([keyFor(key), valueFor(key, 0, args.valueBytes)]);
    }
    loaded = Math.min(data.keys, first + perEntry);
    const now = performance.now();
    watchSnapshots(now);
    if (now - lastReport > 10_000) {
      lastReport = now;
      process.stderr.write(`  loading: ${loaded.toLocaleString('en-US')} keys in ${((now - started) / 1000).toFixed(0)} s\n`);
    }
    return encodePuts(pairs);
  };
  const { proposed } = await closedLoop(member, args.loadBatch, make, { measuring: () => false, end: () => false });
  const seconds = (performance.now() - started) / 1000;
  let settleSeconds = 0;
  if (args.settle) {
    // A quiet member: the snapshot due (or being written) is recorded and the log compacted before the stop.
    const settleStarted = performance.now();
    const limit = storageLimits.snapshotEntries;
    for (;;) {
      watchSnapshots(performance.now());
      const durable = member.storage.backend.durableRecord.appliedIndex;
      const behind = durable - (member.storage.snapshot?.meta.index ?? 0);
      if (durable >= member.storage.backend.appliedIndex && behind < limit && !member.storage.snapshotDue()) break;
      if (performance.now() - settleStarted > 600_000) throw new Error('the member did not settle in 600 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
      member.loop.kick();
    }
    settleSeconds = (performance.now() - settleStarted) / 1000;
  }
  await member.loop.stop();
  const stats = member.storage.stats();
  const writerRss = process.memoryUsage().rss;

  // The tail: committed, durable, not applied, as a crash between the commit and the flush of the applies leaves it.
  const storage = member.storage;
  const tailStarted = performance.now();
  const hard = storage.durableHardState;
  const chunk = 500;
  for (let j = 0; j < data.tail; ) {
    const entries: Entry[] = [];
    for (; j < data.tail && entries.length < chunk; j++) {
      const key = data.tailKey(j);
      entries.push({ index: index(storage.lastStoredIndex + entries.length + 1), term: hard.term, type: 'normal', data: encodePuts([[keyFor(key), valueFor(key, 1, args.valueBytes)]]) });
    }
    const last = (entries[entries.length - 1] as Entry).index;
    await storage.persist(ready({ entries, hardState: { term: hard.term, vote: hard.vote, commit: last } }));
  }
  const tailSeconds = (performance.now() - tailStarted) / 1000;
  const result = {
    seconds,
    settleSeconds,
    recorded,
    keysPerSecond: data.keys / seconds,
    entries: proposed,
    snapshots: stats.snapshotsTaken,
    compactions: stats.compactions,
    fsyncs: stats.fsyncs,
    tailEntries: data.tail,
    tailSeconds,
    commit: storage.durableHardState.commit,
    applied: storage.backend.durableRecord.appliedIndex,
    firstStoredIndex: storage.firstIndex,
    lastStoredIndex: storage.lastStoredIndex,
    snapshotIndex: storage.snapshot?.meta.index ?? null,
    writerRss,
  };
  await storage.close();
  const dbBytes = await directorySize(join(dataDir, 'member', 'db'));
  const snapBytes = await directorySize(join(dataDir, 'member', 'snap'));
  return { ...result, diskBytes: dbBytes + snapBytes, dbBytes, snapBytes };
}

interface ChildResult {
  spawnToServedMs: number;
  spawnToExitMs: number;
  done: {
    times: Record<string, number>;
    memory: Record<string, number>;
    split: Record<string, { anon: number; file: number } | null>;
    maxRss: number;
    heapUsed: number;
    restored: { entries: number; firstEntry: number | null; lastEntry: number | null; snapshotIndex: number | null; applied: number; commit: number; replayed: number };
    putsReplayed: number;
    snapshotDueAtOpen: boolean;
    snapshotsTakenWhileServing: number;
    snapshotsTakenByClose: number;
    checked: number;
    readsMs: number;
    closeMs: number;
    breakdown: Record<string, unknown>;
  };
}

async function runChild(dataDir: string, args: Args, mode: 'restart' | 'breakdown'): Promise<ChildResult> {
  const script = fileURLToPath(new URL('./storage-restart.js', import.meta.url));
  const childArgs = [script, '--data-dir', dataDir, '--keys', String(args.keys), '--tail', String(args.tail), '--value-bytes', String(args.valueBytes), '--reads', String(args.reads), '--mode', mode];
  const spawned = performance.now();
  const child = spawn(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  let servedAt = Number.NaN;
  let done: ChildResult['done'] | null = null;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    const message = JSON.parse(line) as { event: string };
    if (message.event === 'served') servedAt = performance.now();
    else if (message.event === 'done') done = message as unknown as ChildResult['done'];
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const exitedAt = performance.now();
  if (code !== 0 || done === null) throw new Error(`restart child (${mode}) exited with ${String(code)}`);
  return { spawnToServedMs: servedAt - spawned, spawnToExitMs: exitedAt - spawned, done };
}

// ---- main ----

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = await mkdtemp(join(args.dir, 'conclave-bench-storage-'));
  const figures: Record<string, unknown> = { node: process.version, valueBytes: args.valueBytes, seconds: args.seconds };
  console.log(`storage bench: NodeStorage on LevelDB + RaftLoop, one voter, fsync on, ${args.valueBytes} B values (node ${process.version}, ${root})`);
  try {
    const baseline = await fsyncBaseline(root, 1);
    figures.diskBaseline = { fdatasyncsPerSecond: round(baseline.fsyncs, 0), meanMs: round(baseline.meanMs, 3) };
    console.log(`disk: write 4 KiB + fdatasync, ${fmt(baseline.fsyncs)}/s, mean ${baseline.meanMs.toFixed(3)} ms`);

    if (!args.skipAppend) {
      console.log(`\n1. appends through RaftLoop (closed loop: batch = proposals in flight; ${args.seconds} s per row after a warm-up)`);
      const rows: AppendRow[] = [];
      for (const batch of args.batches) rows.push(await appendRow(root, batch, args.seconds, args.valueBytes));
      table(
        ['batch', 'appends/s', 'entries/fsync', 'fsyncs/s', 'batches/s', 'fsync ms', 'p50 ms', 'p99 ms', 'max ms', 'cpu %', 'snapshots'],
        rows.map((row) => [
          String(row.batch),
          fmt(row.appliedPerSecond),
          row.entriesPerFsync.toFixed(1),
          fmt(row.fsyncsPerSecond),
          fmt(row.batchesPerSecond),
          row.meanFsyncMs.toFixed(3),
          row.p50Ms.toFixed(2),
          row.p99Ms.toFixed(2),
          row.maxMs.toFixed(1),
          row.cpuPercent.toFixed(0),
          String(row.snapshots),
        ]),
      );
      figures.append = rows.map((row) => ({
        batch: row.batch,
        appendsPerSecond: round(row.appliedPerSecond, 0),
        entriesPerFsync: round(row.entriesPerFsync),
        fsyncsPerSecond: round(row.fsyncsPerSecond, 0),
        batchesPerSecond: round(row.batchesPerSecond, 0),
        meanFsyncMs: round(row.meanFsyncMs, 3),
        p50Ms: round(row.p50Ms, 3),
        p99Ms: round(row.p99Ms, 3),
        maxMs: round(row.maxMs, 1),
        cpuPercent: round(row.cpuPercent, 0),
        snapshots: row.snapshots,
      }));
    }

    if (!args.skipPersist) {
      console.log(`\n2. NodeStorage.persist alone (synthetic Readies of batch entries + hard state, mustSync; ${args.seconds} s per row)`);
      const rows: PersistRow[] = [];
      for (const batch of args.batches) rows.push(await persistRow(root, batch, args.seconds, args.valueBytes));
      table(
        ['batch', 'entries/s', 'fsyncs/s', 'fsync ms', 'p50 ms', 'p99 ms', 'MiB/s'],
        rows.map((row) => [String(row.batch), fmt(row.entriesPerSecond), fmt(row.fsyncsPerSecond), row.meanFsyncMs.toFixed(3), row.p50Ms.toFixed(2), row.p99Ms.toFixed(2), row.mibPerSecond.toFixed(1)]),
      );
      figures.persist = rows.map((row) => ({
        batch: row.batch,
        entriesPerSecond: round(row.entriesPerSecond, 0),
        fsyncsPerSecond: round(row.fsyncsPerSecond, 0),
        meanFsyncMs: round(row.meanFsyncMs, 3),
        p50Ms: round(row.p50Ms, 3),
        p99Ms: round(row.p99Ms, 3),
        mibPerSecond: round(row.mibPerSecond, 1),
      }));
    }

    if (!args.skipRestart) {
      const data = new DataSet(args.keys, args.tail, args.valueBytes);
      console.log(
        `\n3. restart (${args.settle ? 'settled: the due snapshot recorded before the stop' : 'stopped right after the load'}) with ${fmt(args.keys)} keys of ${args.valueBytes} B (loaded through the loop, ${args.loadBatch} proposals in flight, ` +
          `${args.loadKeysPerEntry} put(s) per entry), then ${fmt(args.tail)} committed entries not yet applied`,
      );
      const dataDir = join(root, 'restart');
      const load = await buildDataSet(dataDir, args, data);
      console.log(
        `load: ${fmt(load.entries)} entries in ${load.seconds.toFixed(1)} s (${fmt(load.keysPerSecond)} keys/s), ${load.snapshots} snapshots, ` +
          `${load.compactions} compactions; tail of ${fmt(load.tailEntries)} entries in ${load.tailSeconds.toFixed(2)} s; writer rss ${mib(load.writerRss)} MiB`,
      );
      console.log(
        `snapshots recorded (s: index, applied then): ${load.recorded.map((r) => `${r.seconds.toFixed(0)}: ${fmt(r.snapshotIndex)}, ${fmt(r.applied)}`).join('; ') || 'none'}` +
          (args.settle ? `; settled in ${load.settleSeconds.toFixed(1)} s` : ''),
      );
      console.log(
        `on disk: log entries ${fmt(load.firstStoredIndex)}..${fmt(load.lastStoredIndex)}, snapshot at ${load.snapshotIndex === null ? 'none' : fmt(load.snapshotIndex)}, ` +
          `applied ${fmt(load.applied)}, commit ${fmt(load.commit)}; ${mib(load.diskBytes)} MiB (db ${mib(load.dbBytes)} MiB, snapshots ${mib(load.snapBytes)} MiB)`,
      );
      const copy = join(root, 'restart-copy');
      await cp(dataDir, copy, { recursive: true });
      const restart = await runChild(dataDir, args, 'restart');
      const breakdown = await runChild(copy, args, 'breakdown');
      await rm(copy, { recursive: true, force: true });
      const t = restart.done.times;
      const m = restart.done.memory;
      const r = restart.done.restored;
      console.log(`restart (fresh process): log of ${fmt(r.entries)} entries read, ${fmt(r.replayed)} replayed (applied ${fmt(r.applied)} -> commit ${fmt(r.commit)})`);
      const steps: [string, string][] = [
        ['modules loaded', 'imported'],
        ['NodeStorage.open', 'storageOpened'],
        ['RaftNode constructed', 'nodeConstructed'],
        ['log tail replayed', 'replayed'],
        ['first local read', 'firstLocalRead'],
        ['leader (campaign)', 'leader'],
        ['first linearizable read', 'firstLinearizableRead'],
        [`${fmt(args.reads)} random reads`, 'randomReads'],
      ];
      const splitOf = (name: string) => restart.done.split[name] ?? null;
      table(
        ['step', 'ms since process start', 'step ms', 'rss MiB', 'anon MiB', 'file MiB'],
        [
          ['node started, script running', (t.scriptStart as number).toFixed(0), (t.scriptStart as number).toFixed(0), '', '', ''],
          ...steps.map(([title, name], i) => [
            title,
            (t[name] as number).toFixed(0),
            ((t[name] as number) - (t[i === 0 ? 'scriptStart' : (steps[i - 1] as [string, string])[1]] as number)).toFixed(0),
            String(mib(m[name] as number)),
            splitOf(name) === null ? '' : String(mib((splitOf(name) as { anon: number }).anon)),
            splitOf(name) === null ? '' : String(mib((splitOf(name) as { file: number }).file)),
          ]),
        ],
      );
      const served = t.firstLinearizableRead as number;
      const rssServed = m.firstLinearizableRead as number;
      const rssReads = m.randomReads as number;
      console.log(
        `served after ${served.toFixed(0)} ms (parent: spawn to served ${restart.spawnToServedMs.toFixed(0)} ms); rss ${mib(rssServed)} MiB, ` +
          `${mib(rssReads)} MiB after ${fmt(args.reads)} reads (${((restart.done.readsMs * 1000) / Math.max(1, args.reads)).toFixed(1)} µs each), peak ${mib(restart.done.maxRss)} MiB; ` +
          `${fmt(restart.done.checked)} values checked`,
      );
      if (restart.done.snapshotDueAtOpen) {
        console.log(
          `a snapshot was due at open (applied ${fmt(r.applied)}, snapshot ${r.snapshotIndex === null ? 'none' : fmt(r.snapshotIndex)}): the member started writing one ` +
            `in the background right after its first Ready; ${restart.done.snapshotsTakenWhileServing} finished before the ${fmt(args.reads)} reads were done, ` +
            `${restart.done.snapshotsTakenByClose} by the close`,
        );
      }
      console.log(
        `goal (restart < 2000 ms, rss < 500 MiB): restart ${served < 2000 ? 'met' : 'MISSED'}, rss ${Math.max(rssServed, rssReads) < 500 * 1024 * 1024 ? 'met' : 'MISSED'}` +
          ` (etcd 3.4 on this machine: 4.2 s, about 1.1 GB)`,
      );
      const b = breakdown.done.breakdown;
      const bt = breakdown.done.times;
      console.log(
        `breakdown (fresh process, copy of the directory): LevelDB open ${(b.levelDbOpenMs as number).toFixed(0)} ms (${String(b.sstables)} tables), ` +
          `log scan (recoverLog) ${(b.recoverLogMs as number).toFixed(0)} ms for ${fmt(b.logEntries as number)} entries (${mib(b.logEntryBytes as number)} MiB), ` +
          `rss after scan ${mib(b.rssAfterRecoverLog as number)} MiB; then NodeStorage.open again ${((bt.storageOpened as number) - (bt.breakdownDone as number)).toFixed(0)} ms, ` +
          `replay ${((bt.replayed as number) - (bt.nodeConstructed as number)).toFixed(0)} ms`,
      );
      figures.restart = {
        keys: args.keys,
        tail: args.tail,
        load: {
          seconds: round(load.seconds, 1),
          settled: args.settle,
          settleSeconds: round(load.settleSeconds, 1),
          recorded: load.recorded.map((r) => ({ seconds: round(r.seconds, 1), snapshotIndex: r.snapshotIndex, applied: r.applied })),
          keysPerSecond: round(load.keysPerSecond, 0),
          entries: load.entries,
          snapshots: load.snapshots,
          compactions: load.compactions,
          firstStoredIndex: load.firstStoredIndex,
          lastStoredIndex: load.lastStoredIndex,
          snapshotIndex: load.snapshotIndex,
          applied: load.applied,
          commit: load.commit,
        },
        diskMiB: mib(load.diskBytes),
        dbMiB: mib(load.dbBytes),
        snapshotsMiB: mib(load.snapBytes),
        restoredEntries: r.entries,
        snapshotDueAtOpen: restart.done.snapshotDueAtOpen,
        replayedEntries: r.replayed,
        msToServe: round(served, 0),
        msSpawnToServed: round(restart.spawnToServedMs, 0),
        steps: Object.fromEntries(Object.entries(t).map(([name, value]) => [name, round(value, 1)])),
        rssServedMiB: mib(rssServed),
        rssServedAnonMiB: mib(splitOf('firstLinearizableRead')?.anon ?? Number.NaN),
        rssAfterReadsAnonMiB: mib(splitOf('randomReads')?.anon ?? Number.NaN),
        rssAfterReadsMiB: mib(rssReads),
        peakRssMiB: mib(restart.done.maxRss),
        readMicros: round((restart.done.readsMs * 1000) / Math.max(1, args.reads), 1),
        breakdown: {
          levelDbOpenMs: round(b.levelDbOpenMs as number, 1),
          recoverLogMs: round(b.recoverLogMs as number, 1),
          logEntries: b.logEntries,
          sstables: b.sstables,
          storageOpenAgainMs: round((bt.storageOpened as number) - (bt.breakdownDone as number), 1),
          replayMs: round((bt.replayed as number) - (bt.nodeConstructed as number), 1),
        },
        goalMet: served < 2000 && Math.max(rssServed, rssReads) < 500 * 1024 * 1024,
      };
      if (process.env.BENCH_STORAGE_LEVEL_STATS === '1') console.log(String(b.levelStats));
    }
  } finally {
    if (!args.keep) await rm(root, { recursive: true, force: true });
    else console.log(`kept ${root}`);
  }
  console.log(JSON.stringify({ bench: 'storage', ...figures }));
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
});
