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

// The watch and registry workloads' bounds.

/** How long one watch of the watch workload stays open, shortest and longest, in ms (drawn per watch). */
export const WATCH_DURATION_MS: readonly [number, number] = [1000, 6000];

/** Events one watch records before it stops on its own (a watch from revision 1 late in a run replays many). */
export const MAX_WATCH_EVENTS_PER_OP = 5000;

/** TTL the registry workload's instances ask for, in s (raised to the cluster's minimum, 1.5 election timeouts). */
export const REGISTRY_TTL_SECONDS = 2;

/** Chance, at each renewal, that a registry instance crashes (stops renewing) or deregisters instead. */
export const REGISTRY_CRASH_CHANCE = 0.05;
export const REGISTRY_DEREGISTER_CHANCE = 0.03;
