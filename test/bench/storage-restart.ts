// The restart half of bench:storage, run by it in a fresh process on a data directory it built:
//
//   node dist/test/bench/storage-restart.js --data-dir D --keys N --tail T --value-bytes B [--reads R] [--mode M]
//
// --mode restart (the measurement): loads the modules, opens NodeStorage, constructs the RaftNode from what it
// recovered, replays the committed entries after the applied index through a RaftLoop, serves a first local
// read, campaigns (one voter) and serves a first linearizable read (ReadIndex), then reads R random keys. Every
// value read is checked. Times are milliseconds since the process started (performance.timeOrigin).
//
// --mode breakdown (where the time goes, run on a copy of the same directory): LevelDB open alone, the log
// scan (recoverLog) alone, then the same steps as restart.
//
// It prints one line `{"event":"served",...}` as soon as the first linearizable read is served, and one JSON line
// with every figure at the end.

import { readFileSync } from 'node:fs';

const atStart = performance.now();

interface Args {
  dataDir: string;
  keys: number;
  tail: number;
  valueBytes: number;
  reads: number;
  mode: 'restart' | 'breakdown';
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { dataDir: '', keys: 0, tail: 0, valueBytes: 256, reads: 10_000, mode: 'restart' };
  for (let i = 0; i < argv.length; i += 2) {
    const raw = argv[i + 1];
    if (raw === undefined) throw new Error(`${argv[i]} needs a value`);
    const value = Number(raw);
    switch (argv[i]) {
      case '--data-dir':
        args.dataDir = raw;
        break;
      case '--keys':
        args.keys = value;
        break;
      case '--tail':
        args.tail = value;
        break;
      case '--value-bytes':
        args.valueBytes = value;
        break;
      case '--reads':
        args.reads = value;
        break;
      case '--mode':
        if (raw !== 'restart' && raw !== 'breakdown') throw new Error(`--mode restart|breakdown, not ${raw}`);
        args.mode = raw;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (args.dataDir === '' || !(args.keys > 0)) throw new Error('--data-dir and --keys are required');
  return args;
}

const rss = (): number => process.memoryUsage().rss;

/**
 * RSS split as Linux reports it: anonymous memory (heap, buffers, LevelDB's caches) and file-backed pages (code,
 * and the pages of LevelDB's table files, which it reads through mmap: shared with the page cache, reclaimable).
 */
function rssSplit(): { anon: number; file: number } | null {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { anon: field('RssAnon'), file: field('RssFile') + field('RssShmem') };
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const times: Record<string, number> = { scriptStart: atStart };
  const memory: Record<string, number> = {};
  const split: Record<string, { anon: number; file: number } | null> = {};
  const mark = (name: string): void => {
    times[name] = performance.now();
    memory[name] = rss();
    split[name] = rssSplit();
  };

  // Dynamic imports, so that module loading is measured as its own step.
  const [{ NodeStorage }, { RaftNode, nodeId }, { RaftLoop }, workload] = await Promise.all([
    import('../../src/storage/storage.js'),
    import('../../src/raft/index.js'),
    import('../../src/server/raft-loop.js'),
    import('./storage-workload.js'),
  ]);
  mark('imported');

  const breakdown: Record<string, unknown> = {};
  if (args.mode === 'breakdown') {
    const [{ database }, { recoverLog }, { join }] = await Promise.all([import('../../src/storage/leveldb.js'), import('../../src/storage/wal.js'), import('node:path')]);
    const dbPath = join(args.dataDir, 'member', 'db');
    const db = database(dbPath);
    let at = performance.now();
    await db.open();
    breakdown.levelDbOpenMs = performance.now() - at;
    breakdown.rssAfterLevelDbOpen = rss();
    // In Node, `level` is classic-level, which reports LevelDB's own properties.
    const property = (name: string): string => (db as unknown as { getProperty(name: string): string }).getProperty(name);
    breakdown.sstables = property('leveldb.sstables').split('\n').filter((line: string) => /^\s*\d+:/.test(line)).length;
    breakdown.levelStats = property('leveldb.stats');
    at = performance.now();
    const log = await recoverLog(db, dbPath);
    breakdown.recoverLogMs = performance.now() - at;
    breakdown.logEntries = log.entries.length;
    breakdown.logEntryBytes = log.entries.reduce((sum, entry) => sum + entry.data.length, 0);
    breakdown.rssAfterRecoverLog = rss();
    at = performance.now();
    await db.close();
    breakdown.levelDbCloseMs = performance.now() - at;
    mark('breakdownDone');
  }

  const storage = await NodeStorage.open({ dataDir: args.dataDir });
  mark('storageOpened');
  const snapshotDueAtOpen = storage.snapshotDue();
  const restored = storage.restored;
  if (restored === undefined) throw new Error(`${args.dataDir} holds no Raft state`);
  const id = nodeId('n1');
  const node = new RaftNode({ id, initialConfig: { voters: [id], learners: [] }, restored, random: workload.seededRandom(1) });
  mark('nodeConstructed');

  const commitAtStart = restored.hardState.commit;
  const appliedAtStart = restored.applied;
  const data = new workload.DataSet(args.keys, args.tail, args.valueBytes);
  const stateMachine = new workload.PutStateMachine();
  let failure: Error | null = null;
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const readStates = new Map<string, number>();
  const loop = new RaftLoop({
    node,
    storage,
    stateMachine,
    send: () => {},
    onApplied: wake,
    onReadState: (readState) => {
      readStates.set(readState.context, readState.index);
      wake();
    },
    onFatal: (error) => {
      failure = error;
      wake();
    },
  });
  /** Resolves once `condition` holds, re-checked after each applied entry or read state (and each turn). */
  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition()) {
      if (failure !== null) throw failure;
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setImmediate(resolve);
      });
    }
  };

  loop.kick();
  await until(() => storage.backend.appliedIndex >= commitAtStart);
  mark('replayed');

  const random = workload.seededRandom(99);
  const expected = Buffer.allocUnsafe(args.valueBytes);
  let checked = 0;
  const check = (n: number): void => {
    const value = storage.backend.get(workload.keyFor(n));
    workload.fillValue(expected, n, data.versionOf(n));
    if (value === undefined || Buffer.compare(Buffer.from(value.buffer, value.byteOffset, value.length), expected) !== 0) {
      throw new Error(`key ${n}: ${value === undefined ? 'missing' : 'wrong value'} after restart (expected version ${data.versionOf(n)})`);
    }
    checked++;
  };
  check(Math.floor(random() * args.keys));
  mark('firstLocalRead');
  if (args.tail > 0) check(data.tailKey(args.tail - 1)); // the last replayed entry's key has its new value

  node.campaign();
  loop.kick();
  await until(() => node.status().role === 'leader');
  mark('leader');
  const readError = node.readIndex('first-read');
  if (readError !== null) throw readError;
  loop.kick();
  await until(() => {
    const at = readStates.get('first-read');
    return at !== undefined && storage.backend.appliedIndex >= at;
  });
  check(Math.floor(random() * args.keys));
  mark('firstLinearizableRead');
  process.stdout.write(`${JSON.stringify({ event: 'served', ms: times.firstLinearizableRead, rss: memory.firstLinearizableRead })}\n`);

  const readsStarted = performance.now();
  for (let i = 0; i < args.reads; i++) check(Math.floor(random() * args.keys));
  const readsMs = performance.now() - readsStarted;
  mark('randomReads');

  const statsBeforeClose = storage.stats();
  const closeStarted = performance.now();
  await loop.stop();
  await storage.close();
  const closeMs = performance.now() - closeStarted;

  const result = {
    event: 'done',
    mode: args.mode,
    times,
    memory,
    split,
    maxRss: process.resourceUsage().maxRSS * 1024,
    heapUsed: process.memoryUsage().heapUsed,
    restored: {
      entries: restored.entries.length,
      firstEntry: restored.entries[0]?.index ?? null,
      lastEntry: restored.entries[restored.entries.length - 1]?.index ?? null,
      snapshotIndex: restored.snapshot?.index ?? null,
      applied: appliedAtStart,
      commit: commitAtStart,
      replayed: commitAtStart - appliedAtStart,
    },
    putsReplayed: stateMachine.puts,
    snapshotDueAtOpen,
    snapshotsTakenWhileServing: statsBeforeClose.snapshotsTaken,
    snapshotsTakenByClose: storage.stats().snapshotsTaken,
    checked,
    readsMs,
    closeMs,
    breakdown,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`storage-restart: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
