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

// The bounds of report.html, so that a long run's report stays a few MB and opens quickly.

/**
 * Operations drawn in the timeline and the latency plot. A longer history is sampled evenly (fail and info
 * operations first, up to half of it), and the page says how many of how many are drawn; throughput counts all.
 */
export const REPORT_MAX_DRAWN_OPS = 20_000;

/** Process lanes in the timeline; more processes than this share lanes (lane = process's rank mod this). */
export const REPORT_MAX_LANES = 400;

/** Buckets of the throughput plot: one a second, or wider when the run is longer than this many seconds. */
export const REPORT_MAX_THROUGHPUT_BUCKETS = 1000;

/** Operations drawn for one invalid key or anomaly; the rest are counted. */
export const REPORT_MAX_ANOMALY_OPS = 200;

/** Characters of an operation's value or output shown; longer ones are cut with an ellipsis. */
export const REPORT_MAX_VALUE_CHARS = 80;
