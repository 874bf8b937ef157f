// The bounds of the jepsen-like checkers, with their defaults. A check that reaches one says which, by name.

/**
 * Search steps the linearizability checker may take on one key before it answers "unknown". A step tries one
 * operation at one configuration; a million take about a second.
 */
export const DEFAULT_MAX_SEARCH_STEPS_PER_KEY = 20_000_000;

/**
 * Configurations in each of the two generations of the linearizability checker's memo, about 150 bytes each:
 * when the newer fills, the older is forgotten. Forgetting costs only time (a branch explored again), never a
 * wrong answer.
 */
export const DEFAULT_MEMO_ENTRIES = 1_000_000;

/** Wall time the linearizability checker may spend on one key before it answers "unknown". */
export const DEFAULT_SEARCH_TIMEOUT_MS_PER_KEY = 60_000;

// The bounds of `conclave-jepsen run`.

/** Deadline of one client operation (retries and failover included) before it ends fail (a read) or info. */
export const DEFAULT_OP_TIMEOUT_MS = 2000;

/** Time the cluster has to elect its first leader and have every member answer, before the run gives up. */
export const CLUSTER_READY_TIMEOUT_MS = 30_000;

/** Time the cluster has, once healed, for every member to serve a linearizable read again. */
export const RECOVERY_TIMEOUT_MS = 30_000;

/** Time the final reads (one of every key, each retried) may take after recovery. */
export const FINAL_READS_TIMEOUT_MS = 15_000;

/** Interval of the progress line. */
export const PROGRESS_INTERVAL_MS = 2000;

// The bounds of the process faults (faults/): clock, membership, fsync-stall.

/** How far a `clock` jump moves a member's clocks forward (or, for wall-back, its wall clock back), in ms. */
export const CLOCK_JUMP_MS: readonly [number, number] = [2_000, 8_000];

/** The rates a `clock` skew may run a member's clocks at (real seconds to the member's): slow or fast. */
export const CLOCK_SKEW_RATES: readonly number[] = [0.25, 4];

/** How often a member's clock preload looks at its control file for a new setting. */
export const CLOCK_CONTROL_POLL_MS = 50;

/** How long the nemesis waits to see, through the member's /debug/vars, that a clock setting took effect. */
export const CLOCK_OBSERVE_TIMEOUT_MS = 3_000;

/** How often the fsync shim, holding a call, looks whether its control file is gone. */
export const FSYNC_STALL_POLL_MS = 10;

/** A `membership` fault needs this many members, so that the cluster keeps a majority of voters while one is out. */
export const MEMBERSHIP_MIN_NODES = 3;

/** Time a member removal or addition (retried across leader changes) may take before the fault gives up. */
export const MEMBER_CHANGE_TIMEOUT_MS = 20_000;

/** Time a member added back has to serve a linearizable read before its fault ends anyway (and says so). */
export const MEMBER_REJOIN_TIMEOUT_MS = 20_000;
