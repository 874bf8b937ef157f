// The parent's side of one kill: reopening the data directory after the child died, replaying the committed
// tail, and checking what survived against what was acknowledged and proposed; and, before an install
// child, preparing the snapshot it receives (and growing the directory's state in-process).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageLimits } from '../../../src/limits.js';
import { RaftNode } from '../../../src/raft/index.js';
import { RaftLoop } from '../../../src/server/raft-loop.js';
import { NodeStorage, writeSnapshotFile, type CrashPoint } from '../../../src/storage/index.js';
import { Rng } from '../../sim/prng.js';
import { backendContents, decodeProposal, diffContents, highestStoredId, lastId, model, modelBatches, NODE, stateMachine, Writer } from './machine.js';
import { INSTALL_DURABLE_AFTER, INSTALL_SPEC_FILE, type InstallSpec } from './plan.js';

/** What the harness knows of one data directory, across the children that ran on it. */
export interface DirState {
  readonly dir: string;
  /** Highest id acknowledged by any child on this directory. */
  maxAcked: number;
  /** Highest id a child announced it would propose, or the parent put into a snapshot or proposed itself. */
  maxProposed: number;
  /** The id the state was at after the last check (committed: replayed and checked). */
  recovered: number;
  /** Storage as the last check left it (applied = commit). */
  applied: number;
  lastIndex: number;
  term: number;
  snapshotIndex: number;
}

export function newDirState(dir: string): DirState {
  return { dir, maxAcked: 0, maxProposed: 0, recovered: 0, applied: 0, lastIndex: 0, term: 0, snapshotIndex: 0 };
}

/** What a child reported before it died. */
export interface ChildOutcome {
  /** Highest id it acknowledged (0 when none). */
  readonly maxAck: number;
  /** The crash point it killed itself at, or null (the parent killed it). */
  readonly crashPoint: CrashPoint | null;
  /** Install mode: it reported the install persisted. */
  readonly installed: boolean;
}

/** The two states an install child may leave behind: the one before (A) and the received snapshot's (B). */
export interface InstallExpectation {
  readonly a: { readonly applied: number; readonly k: number };
  readonly b: { readonly applied: number; readonly k: number };
}

export type InstallResult = 'A' | 'B' | null;

const REPLAY_TIMEOUT_MS = 15_000;

function recordStorage(state: DirState, storage: NodeStorage): void {
  state.applied = storage.backend.appliedIndex;
  state.lastIndex = storage.lastStoredIndex;
  state.term = storage.durableHardState.term;
  state.snapshotIndex = storage.snapshot?.meta.index ?? 0;
}

/** Applies the committed entries that the backend has not applied yet, through the core and the loop. */
async function replay(storage: NodeStorage): Promise<string | null> {
  const restored = storage.restored;
  const lastStored = restored?.entries.at(-1)?.index ?? 0;
  if (restored === undefined || storage.backend.appliedIndex >= lastStored) return null;
  // What a restarted single voter does: it campaigns, and its first entry as leader commits every entry before
  // it. (The durable commit index may lag: it is a hint, written with the next batch that syncs anyway.)
  const node = new RaftNode({ id: NODE, initialConfig: { voters: [NODE], learners: [] }, restored, random: new Rng(1).asFunction() });
  let finish: (problem: string | null) => void = () => {};
  const done = new Promise<string | null>((resolve) => (finish = resolve));
  const loop = new RaftLoop({
    node,
    storage,
    stateMachine,
    send: () => {},
    onApplied: (entry) => {
      if (entry.index > lastStored) finish(null);
    },
    onFatal: (error) => finish(`replay stopped: ${error.message}`),
  });
  const timer = setTimeout(() => finish(`replay stalled at applied ${storage.backend.appliedIndex} of the stored log's ${lastStored}`), REPLAY_TIMEOUT_MS);
  node.campaign();
  loop.kick();
  const problem = await done;
  clearTimeout(timer);
  await loop.stop();
  return problem;
}

/**
 * Reopens the directory after a kill and checks it: storage opens (no ErrCorrupt); the durable backend is the
 * model of the id it records (applied changes are atomic with their index); after replaying the committed tail
 * through the core, the state is exactly model(K) for the recovered id K, every replayed id followed the one
 * before it (no hole, no duplicate), K covers every acknowledged id and every earlier recovered one, no id
 * beyond any proposal appears, and the uncommitted tail of the log continues the sequence. After an install
 * child, the state is exactly the one before (A) or the received snapshot's (B), consistent with where it died.
 */
export async function recoverAndCheck(state: DirState, child: ChildOutcome, install: InstallExpectation | null): Promise<{ problems: string[]; install: InstallResult }> {
  const problems: string[] = [];
  let storage: NodeStorage;
  try {
    storage = await NodeStorage.open({ dataDir: state.dir });
  } catch (error) {
    return { problems: [`reopening failed: ${(error as Error).message}`], install: null };
  }
  let installResult: InstallResult = null;
  try {
    const applied = storage.backend.appliedIndex;
    const durable = await backendContents(storage.backend);
    const durableId = lastId(storage.backend);
    const durableDiff = diffContents(durable, model(durableId));
    if (durableDiff !== null) problems.push(`the durable backend (applied index ${applied}) is not the state after ids 1..${durableId}: ${durableDiff}`);
    if (install !== null) {
      if (applied === install.a.applied && diffContents(durable, model(install.a.k)) === null) installResult = 'A';
      else if (applied === install.b.applied && storage.snapshot?.meta.index === install.b.applied && diffContents(durable, model(install.b.k)) === null) installResult = 'B';
      else {
        problems.push(
          `after an install, neither the state before (applied ${install.a.applied}, id ${install.a.k}) nor the snapshot's (applied ${install.b.applied}, id ${install.b.k}): ` +
            `applied ${applied}, snapshot ${storage.snapshot?.meta.index ?? 'none'}, id ${durableId}`,
        );
      }
      if (installResult === 'A' && child.installed) problems.push('an acknowledged install was lost');
      if (installResult !== null && child.crashPoint !== null) {
        const mustBe = INSTALL_DURABLE_AFTER.has(child.crashPoint) ? 'B' : 'A';
        if (installResult !== mustBe) problems.push(`killed at ${child.crashPoint}, the state is ${installResult}, expected ${mustBe}`);
      }
    }
    const replayProblem = await replay(storage);
    if (replayProblem !== null) problems.push(replayProblem);
    const k = lastId(storage.backend);
    const diff = diffContents(await backendContents(storage.backend), model(k));
    if (diff !== null) problems.push(`after replay, the backend is not the state after ids 1..${k}: ${diff}`);
    const commit = storage.durableHardState.commit;
    if (storage.backend.appliedIndex < commit) problems.push(`applied ${storage.backend.appliedIndex} short of commit ${commit} after replay`);
    const acked = Math.max(state.maxAcked, child.maxAck);
    if (k < acked) problems.push(`acknowledged id ${acked} was lost: recovered ids 1..${k}`);
    if (k < state.recovered) problems.push(`committed ids were lost: recovered 1..${k}, an earlier check recovered 1..${state.recovered}`);
    if (k > state.maxProposed) problems.push(`recovered ids 1..${k}, but no id beyond ${state.maxProposed} was ever proposed`);
    let expected = k + 1;
    for (const entry of storage.restored?.entries ?? []) {
      if (entry.index <= commit) continue;
      const id = decodeProposal(entry);
      if (id === null) continue;
      if (id !== expected) problems.push(`uncommitted entry ${entry.index} carries id ${id}, expected ${expected} (the log's ids are not one sequence)`);
      if (id > state.maxProposed) problems.push(`uncommitted entry ${entry.index} carries id ${id}, never proposed`);
      expected = id + 1;
    }
    state.maxAcked = acked;
    state.recovered = k;
    recordStorage(state, storage);
  } catch (error) {
    problems.push(`checking failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    await storage.close();
  }
  return { problems, install: installResult };
}

/** Proposes `count` more ids in-process (the parent as the member), so that an install replaces a log with a tail. */
export async function grow(state: DirState, count: number, limits: Partial<StorageLimits>, rng: Rng): Promise<string[]> {
  const storage = await NodeStorage.open({ dataDir: state.dir, limits });
  const problems: string[] = [];
  try {
    const upTo = highestStoredId(storage) + count;
    state.maxProposed = Math.max(state.maxProposed, upTo);
    let fatal: Error | null = null;
    const writer = new Writer({
      storage,
      random: rng.fork().asFunction(),
      window: rng.int(1, 32),
      snapshotCatchUpEntries: limits.snapshotCatchUpEntries ?? 20,
      upTo,
      onFatal: (error) => (fatal = error),
    });
    writer.start();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, REPLAY_TIMEOUT_MS).unref());
    await Promise.race([writer.whenDone(), timeout]);
    await writer.loop.stop();
    const k = lastId(storage.backend);
    if (fatal !== null) problems.push(`growing in-process failed: ${(fatal as Error).message}`);
    else if (k !== upTo) problems.push(`growing in-process stopped at id ${k}, short of ${upTo}`);
    state.recovered = k;
    state.maxAcked = Math.max(state.maxAcked, k);
    recordStorage(state, storage);
  } finally {
    await storage.close();
  }
  return problems;
}

/**
 * Writes the snapshot an install child receives (the state after ids 1..K_B for a K_B beyond every id proposed
 * so far, at an index past the log, in a later term) and the spec that tells the child about it.
 */
export async function prepareInstall(state: DirState, rng: Rng, count: number): Promise<InstallExpectation> {
  const kB = Math.max(state.maxProposed, state.recovered) + count;
  const at = { index: Math.max(state.lastIndex, state.snapshotIndex, state.applied) + rng.int(1, 50), term: state.term + 1 };
  const dir = join(state.dir, 'install');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${at.term}-${at.index}.snap`);
  const written = await writeSnapshotFile(file, { ...at, config: { voters: [NODE], learners: [] } }, modelBatches(kB), { snapshotBlockBytes: rng.int(128, 512) });
  const spec: InstallSpec = { file, index: at.index, term: at.term, sizeBytes: written.sizeBytes };
  await writeFile(join(state.dir, INSTALL_SPEC_FILE), JSON.stringify(spec));
  state.maxProposed = Math.max(state.maxProposed, kB);
  return { a: { applied: state.applied, k: state.recovered }, b: { applied: at.index, k: kB } };
}
