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

// The lock, election and snowflake workloads' bounds.

/**
 * TTL of the lease a lock holder, a candidate or a snowflake generator takes (kept alive while it holds): short, so
 * that a holder cut off or stalled loses it within a fault's span and another takes over.
 */
export const RECIPE_LEASE_TTL_S = 2;

/** Longest wait of one lock or campaign for its turn (the member withdraws the waiter's key after it). */
export const RECIPE_WAIT_MS = 3000;

/** Most fenced writes a holder makes per acquisition (at least one). */
export const MAX_FENCED_WRITES_PER_HOLD = 3;

/**
 * Share of acquisitions whose holder stalls as a paused process would: it stops renewing its lease, waits until
 * the lease must have expired (its TTL and STALL_MARGIN_MS), then carries on writing as if it still held. Its
 * writes must be refused: the fence at work. Few, since the lock stays taken until the lease expires.
 */
export const STALL_SHARE = 0.08;
export const STALL_MARGIN_MS = 1000;

/**
 * Share of worker IDs whose snowflake generator stalls: its lease is renewed no more, and it asks for IDs until the
 * generator refuses (a stalled generator blocks no one, so more of them than of stalled lock holders).
 */
export const SNOWFLAKE_STALL_SHARE = 0.15;

/** IDs a snowflake generator issues per generate at most (at least one). */
export const MAX_IDS_PER_GENERATE = 3;

/** Pause between one generator's generates, so that a local call does not flood the history. */
export const GENERATE_INTERVAL_MS = 20;

/** Generates a snowflake generator makes under one worker ID before it releases it and allocates again (at most). */
export const MAX_GENERATES_PER_WORKER = 100;

/** Worker IDs of the workload's pool (Twitter's 10 bits). */
export const SNOWFLAKE_WORKER_COUNT = 1024;

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
