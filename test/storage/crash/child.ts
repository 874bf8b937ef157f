// The process that gets killed: node dist/test/storage/crash/child.js <data dir> <seed> <write|install>
//
// It reports on stdout, one line each, written synchronously so that a line is out before anything after it
// happens (a SIGKILL loses nothing already written to the pipe):
//   O            about to open storage          R     storage open, running
//   P <id>       about to propose ids up to id  A <id> the entry carrying id is applied (so committed, durable)
//   C <point>    killing itself at that crash point
//   I            install mode: the snapshot's install was persisted (acknowledged)
//   F <message>  a fatal error (exits 2; the parent counts it as a violation)
//
// write: a single-voter member proposing the next ids with a window of proposals in flight, with small storage
// limits so that it snapshots and compacts all the time. install: receives the parent's snapshot file in chunks
// and installs it, as a follower does (see plan.ts).

import { readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { index, term, type HardState, type IncomingSnapshotChunk, type SnapshotMeta } from '../../../src/raft/index.js';
import { NodeStorage, type CrashPoint } from '../../../src/storage/index.js';
import { Rng } from '../../sim/prng.js';
import { ready } from '../helpers.js';
import { NODE, Writer } from './machine.js';
import { childPlan, INSTALL_SPEC_FILE, type ChildMode, type ChildPlan, type InstallSpec } from './plan.js';

/** Longest life of a child whose parent is gone (normally the parent kills it long before). */
const HARD_CAP_MS = 60_000;

function emit(line: string): void {
  const bytes = Buffer.from(line + '\n');
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(1, bytes, written);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue; // a full non-blocking pipe: the parent is reading
      process.kill(process.pid, 'SIGKILL'); // EPIPE: the parent is gone
    }
  }
}

function die(error: unknown): never {
  emit(`F ${String((error as Error)?.stack ?? error).replace(/\n/g, ' | ')}`);
  process.exit(2);
}

function crashHook(plan: ChildPlan): (point: CrashPoint) => void {
  let hits = 0;
  return (point) => {
    if (plan.crash === null || point !== plan.crash.point || ++hits < plan.crash.hit) return;
    emit(`C ${point}`);
    process.kill(process.pid, 'SIGKILL');
  };
}

function write(storage: NodeStorage, plan: ChildPlan, rng: Rng): void {
  const writer = new Writer({
    storage,
    random: rng.asFunction(),
    window: plan.window,
    snapshotCatchUpEntries: plan.limits.snapshotCatchUpEntries ?? 20,
    onPropose: (id) => emit(`P ${id}`),
    onAck: (id) => emit(`A ${id}`),
    onFatal: die,
  });
  writer.start();
}


/** Receives the parent's snapshot in chunks spread over several Readies, then installs it, as a follower would. */
async function install(storage: NodeStorage, plan: ChildPlan, dataDir: string, rng: Rng): Promise<void> {
  const spec = JSON.parse(readFileSync(join(dataDir, INSTALL_SPEC_FILE), 'utf8')) as InstallSpec;
  const bytes = readFileSync(spec.file);
  if (bytes.length !== spec.sizeBytes) throw new Error(`${spec.file} has ${bytes.length} bytes, the spec says ${spec.sizeBytes}`);
  const meta: SnapshotMeta = { index: index(spec.index), term: term(spec.term), config: { voters: [NODE], learners: [] }, sizeBytes: spec.sizeBytes };
  const cuts = new Set<number>();
  while (cuts.size < Math.min(plan.chunks - 1, bytes.length - 1)) cuts.add(rng.int(1, bytes.length - 1));
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const chunks: IncomingSnapshotChunk[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const offset = bounds[i] as number;
    chunks.push({ snapshot: meta, offset, data: bytes.subarray(offset, bounds[i + 1]) });
  }
  const perReady = Math.ceil(chunks.length / plan.chunkReadies);
  for (let i = 0; i < chunks.length; i += perReady) await storage.persist(ready({ snapshotChunks: chunks.slice(i, i + perReady) }));
  const hardState: HardState = { term: meta.term, vote: NODE, commit: meta.index };
  await storage.persist(ready({ snapshot: meta, hardState }));
  emit('I');
}

async function main(): Promise<void> {
  const [dataDir, seedText, modeText] = process.argv.slice(2);
  const seed = Number(seedText);
  if (dataDir === undefined || !Number.isSafeInteger(seed) || (modeText !== 'write' && modeText !== 'install')) {
    throw new Error('usage: child.js <data dir> <seed> <write|install>');
  }
  const mode: ChildMode = modeText;
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), HARD_CAP_MS);
  const plan = childPlan(seed, mode);
  const rng = new Rng(seed ^ 0x5f3759df);
  emit('O');
  const storage = await NodeStorage.open({ dataDir, limits: plan.limits, crashPoint: crashHook(plan) });
  emit('R');
  if (mode === 'write') write(storage, plan, rng);
  else await install(storage, plan, dataDir, rng);
}

process.on('uncaughtException', die);
process.on('unhandledRejection', die);
main().catch(die);
