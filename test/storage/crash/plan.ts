// What one child process does, as a function of its seed: the storage limits it runs with (small, so that
// snapshots, compactions and install batches happen constantly), its proposal window, and where it dies: at a
// crash point (the n-th time it is reached) or, without one, when the parent kills it after a random delay.
// The parent and the child compute the same plan from the same seed.

import type { StorageLimits } from '../../../src/limits.js';
import type { CrashPoint } from '../../../src/storage/index.js';
import { Rng } from '../../sim/prng.js';

export type ChildMode = 'write' | 'install';

/** Every crash point; the Record makes a new CrashPoint a compile error until it is listed (and covered). */
const ALL: Record<CrashPoint, true> = {
  'persist:before-batch': true,
  'persist:after-batch': true,
  'snapshot:file-written': true,
  'snapshot:published': true,
  'snapshot:recorded': true,
  'compact:marker-written': true,
  'compact:deleting': true,
  'install:published': true,
  'install:loading': true,
  'install:switched': true,
};
export const CRASH_POINTS = Object.keys(ALL) as CrashPoint[];

/** The crash points each mode reaches, with the range of the hit at which the child dies. */
const REACHABLE: Record<ChildMode, readonly (readonly [CrashPoint, number, number])[]> = {
  write: [
    ['persist:before-batch', 1, 120],
    ['persist:after-batch', 1, 120],
    ['snapshot:file-written', 1, 2],
    ['snapshot:published', 1, 2],
    ['snapshot:recorded', 1, 2],
    ['compact:marker-written', 1, 2],
    ['compact:deleting', 1, 6],
  ],
  // Chunk-only Readies write no batch: the persist points are those of the install's own batch.
  install: [
    ['persist:before-batch', 1, 1],
    ['persist:after-batch', 1, 1],
    ['install:published', 1, 1],
    ['install:loading', 1, 3],
    ['install:switched', 1, 1],
  ],
};

/** Crash points after which an install is durable; before the others it must not be. */
export const INSTALL_DURABLE_AFTER: ReadonlySet<CrashPoint> = new Set<CrashPoint>(['persist:after-batch', 'install:switched']);

export interface ChildPlan {
  readonly seed: number;
  readonly mode: ChildMode;
  readonly limits: Partial<StorageLimits>;
  /** Proposals in flight at most (write mode). */
  readonly window: number;
  /** Where the child kills itself, or null: the parent kills it. */
  readonly crash: { readonly point: CrashPoint; readonly hit: number } | null;
  /** Without a crash point: how long after the child reports (see killFrom) the parent kills it. */
  readonly killAfterMs: number;
  /** 'open': timed from the line printed before NodeStorage.open (interrupts recovery); 'ready': after it. */
  readonly killFrom: 'open' | 'ready';
  /** Install mode: chunks the snapshot is sent in, and Readies those chunks are spread over. */
  readonly chunks: number;
  readonly chunkReadies: number;
}

export function childPlan(seed: number, mode: ChildMode): ChildPlan {
  const rng = new Rng(seed);
  const limits: Partial<StorageLimits> = {
    snapshotEntries: rng.int(100, 300),
    snapshotCatchUpEntries: rng.int(20, 50),
    snapshotBlockBytes: rng.int(128, 1024),
    installBatchBytes: rng.int(128, 512),
    snapshotsRetained: rng.int(1, 3),
  };
  const window = rng.int(1, 64);
  let crash: ChildPlan['crash'] = null;
  if (rng.chance(mode === 'write' ? 0.6 : 0.75)) {
    const [point, low, high] = rng.pick(REACHABLE[mode]);
    crash = { point, hit: rng.int(low, high) };
  }
  const killFrom = mode === 'write' && rng.chance(0.1) ? 'open' : 'ready';
  const killAfterMs = killFrom === 'open' ? rng.int(0, 20) : mode === 'write' ? rng.int(5, 150) : rng.int(0, 30);
  const chunks = rng.int(2, 6);
  const chunkReadies = rng.int(1, chunks);
  return { seed, mode, limits, window, crash, killAfterMs, killFrom, chunks, chunkReadies };
}

/** The snapshot a child in install mode receives: written by the parent beside the member directory. */
export interface InstallSpec {
  /** Path of the snapshot file to send in chunks. */
  readonly file: string;
  readonly index: number;
  readonly term: number;
  readonly sizeBytes: number;
}

export const INSTALL_SPEC_FILE = 'install.json';
