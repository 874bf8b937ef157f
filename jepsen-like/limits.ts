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

// The bounds of the network nemeses (nemesis.ts, link-shaper.ts).

/** Latency a delayed link adds, drawn per fault between these bounds, in milliseconds. */
export const DEFAULT_LINK_DELAY_MS: readonly [number, number] = [20, 300];

/** Jitter on top of a delayed link's latency, drawn per piece of the stream in [0, this], in milliseconds. */
export const DEFAULT_LINK_JITTER_MS = 50;

/** Chance that a lossy link drops a WebSocket data message, drawn per fault between these bounds. */
export const DEFAULT_LINK_LOSS_PROBABILITY: readonly [number, number] = [0.1, 0.5];

/** Chance that each ordered link is in a fault whose shape picks links at random (delay-random, loss-random). */
export const DEFAULT_RANDOM_LINK_PROBABILITY = 0.5;

/**
 * Bytes a delayed direction of one connection may hold back; above it the door stops reading the sender until it
 * has released some, so that a delay slows a fast sender (as a slow link would) instead of growing without bound.
 */
export const DEFAULT_MAX_DELAYED_BYTES_PER_DIRECTION = 8 * 1024 * 1024;
