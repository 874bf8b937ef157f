// Every bound of the system lives here, with its default. A limit that is hit produces an error naming it.

/** Bounds of the Raft core (src/raft). Times are in ticks of the embedder's clock. */
export const raftLimits = {
  /** A follower that hears nothing from a leader for [electionTimeoutTicks, 2*electionTimeoutTicks) campaigns. */
  electionTimeoutTicks: 10,
  /** The leader sends heartbeats every heartbeatIntervalTicks. */
  heartbeatIntervalTicks: 1,
  /** Append messages in flight to one follower in the replicate state (the pipelining window). */
  maxInflightAppends: 64,
  /** Entries carried by one append message. */
  maxEntriesPerAppend: 512,
  /** Payload bytes carried by one append message (at least one entry is always sent). */
  maxAppendBytes: 1024 * 1024,
  /** Proposals accepted by a leader but not yet committed; beyond this propose() fails with ErrTooManyPendingProposals. */
  maxUncommittedEntries: 10_000,
  /** Bytes of one snapshot chunk. */
  snapshotChunkBytes: 1024 * 1024,
  /** Snapshot chunks in flight to one follower. */
  maxInflightSnapshotChunks: 4,
  /** ReadIndex requests waiting for a leadership confirmation; beyond this readIndex() fails with ErrTooManyPendingReads. */
  maxPendingReadIndex: 10_000,
  /** Bytes of one proposal's data. */
  maxProposalBytes: 1536 * 1024,
} as const;

export type RaftLimits = { readonly [Name in keyof typeof raftLimits]: number };

/** Bounds of durable storage (src/storage): the write-ahead log, the backend and snapshot files. */
export const storageLimits = {
  /** Entries applied since the latest snapshot that trigger a new one (etcd's --snapshot-count). */
  snapshotEntries: 100_000,
  /** Bytes of log entries written since the latest snapshot that trigger a new one, whatever their count. */
  snapshotLogBytes: 256 * 1024 * 1024,
  /** Entries kept before the snapshot index when the log is compacted, so that a briefly slow follower catches up from the log. */
  snapshotCatchUpEntries: 5_000,
  /** Snapshot files kept on disk (the newest ones); older ones are deleted once a newer one is recorded. */
  snapshotsRetained: 2,
  /** Bytes of key-value pairs gathered into one checksummed block of a snapshot file. */
  snapshotBlockBytes: 256 * 1024,
  /** Largest block a snapshot file may contain; a larger one is refused as corrupt. */
  maxSnapshotBlockBytes: 64 * 1024 * 1024,
  /** Largest snapshot a follower accepts from a leader. */
  maxSnapshotBytes: 64 * 1024 * 1024 * 1024,
  /** Bytes LevelDB reads ahead per round trip while a snapshot is written (its default of 16 KiB is a few dozen keys). */
  snapshotReadAheadBytes: 1024 * 1024,
  /** Bytes of key-value pairs per write batch while a received snapshot is loaded into the backend. */
  installBatchBytes: 4 * 1024 * 1024,
  /** Applied changes staged in memory (bytes of keys and values) before they are written without waiting for the next Ready. */
  maxStagedApplyBytes: 16 * 1024 * 1024,
  /** Longest time applied changes stay staged in memory before they are written on their own. */
  stagedApplyFlushMs: 20,
  /** Snapshot files held open for sending chunks at once (a leader sends one, or two while a newer one replaces it). */
  maxOpenSnapshotFiles: 4,
  /**
   * LevelDB tables held open, each mapped into memory (LevelDB reads tables through mmap), so this bounds the
   * file pages a member's RSS can show; LevelDB's own default. Measured with 1,000,000 keys (249 tables): 64
   * keeps 66 MiB mapped after 10,000 random reads but makes a read 4x slower (52 µs, against 13 µs at 1000).
   */
  maxOpenTableFiles: 1000,
  /** Largest key of the backend. */
  maxBackendKeyBytes: 64 * 1024,
} as const;

export type StorageLimits = { readonly [Name in keyof typeof storageLimits]: number };

/** Bounds of the replicated key-value store (src/state) and the requests it accepts. */
export const kvLimits = {
  /** Largest key (etcd has no separate key limit; ours keeps every backend key of the MVCC layout under storageLimits.maxBackendKeyBytes). */
  maxKeyBytes: 16 * 1024,
  /** Largest value (a put must also fit in serverLimits.maxRequestBytes). */
  maxValueBytes: 1536 * 1024,
  /** Operations in the success or in the failure branch of one txn, and compares in it (etcd's --max-txn-ops). */
  maxTxnOps: 128,
  /** Levels of txns nested in txns. */
  maxTxnDepth: 8,
  /** Backend rows fetched per call when the store walks history (reads at past revisions, compaction, hash). */
  scanPageRows: 1024,
  /** Leases live at once; beyond it a grant fails ErrTooManyLeases (etcd has no such bound). */
  maxLeases: 1_000_000,
  /** Longest TTL a lease may be granted, in seconds (etcd's MaxLeaseTTL); beyond it ErrLeaseTTLTooLarge. */
  maxLeaseTtlSeconds: 9_000_000_000,
  /** Leases one checkpoint command carries (the leader splits larger batches): with one in flight, renewals/s are bounded by this over the commit latency. */
  maxCheckpointsPerCommand: 10_000,
} as const;

export type KvLimits = { readonly [Name in keyof typeof kvLimits]: number };

/**
 * Bounds of the deduplication of client request IDs (src/state/dedup.ts): a write that carries a client's request
 * ID is applied once; a second entry with the same ID, while the first one's record is kept, answers the first
 * one's result. Records are kept for the most recent IDs, by log order, within both bounds below (see
 * docs/architecture.md for the window and what a retry older than it gets).
 */
export const dedupLimits = {
  /** Longest client request ID, in characters (of A-Z a-z 0-9 . _ : -). */
  maxRequestIdBytes: 64,
  /** Client request IDs remembered at once; the oldest is forgotten when a new one would exceed it. */
  maxKeptRequests: 100_000,
  /** Bytes of the kept records (IDs and results) at once; the oldest are forgotten beyond it. */
  maxKeptBytes: 32 * 1024 * 1024,
  /** Largest result kept whole; a larger one keeps only its revision, and a duplicate gets ErrResultNotKept. */
  maxKeptResultBytes: 16 * 1024,
} as const;

export type DedupLimits = { readonly [Name in keyof typeof dedupLimits]: number };

/** Bounds of the peer transport (src/transport). */
export const transportLimits = {
  /** Messages queued for one peer before new ones are dropped (Raft resends what matters). */
  maxPeerQueueMessages: 4096,
  /** Bytes queued for one peer before new messages are dropped. */
  maxPeerQueueBytes: 64 * 1024 * 1024,
  /** Largest frame a peer may send (an append carries up to raftLimits.maxAppendBytes of entries, a snapshot chunk raftLimits.snapshotChunkBytes). */
  maxPeerFrameBytes: 8 * 1024 * 1024,
  /** First delay before redialling a peer; doubles up to reconnectMaxMs, with jitter. */
  reconnectMinMs: 50,
  reconnectMaxMs: 2000,
  /** Time a new peer connection has to complete its handshake. */
  handshakeTimeoutMs: 2000,
  /** Bytes written to a peer's socket but not yet taken by the kernel beyond which writing pauses and the peer's queue absorbs new messages. */
  maxPeerSocketBufferedBytes: 4 * 1024 * 1024,
  /**
   * An open peer connection is pinged this often, so that a peer that vanished without closing (a partition, a
   * dead host) is noticed; each ping carries a sample of the sender's clocks (src/server/lease-clock.ts), and the
   * listener answers one with its own, so this is also how finely members see each other's clocks.
   */
  peerPingIntervalMs: 25,
  /** A peer connection with no pong for this long is closed and redialled. */
  peerPongTimeoutMs: 5000,
  /** TCP connections the peer listener holds at once (one per peer once established, plus handshakes in progress); beyond it new ones are closed at once. */
  maxInboundPeerSockets: 128,
} as const;

export type TransportLimits = { readonly [Name in keyof typeof transportLimits]: number };

/** Bounds of the member's client-facing server (src/server). */
export const serverLimits = {
  /** Largest request body (etcd's --max-request-bytes). */
  maxRequestBytes: 1536 * 1024,
  /** Proposals this member waits on at once; beyond it a request gets ErrTooManyRequests. */
  maxPendingProposals: 16_384,
  /** Linearizable reads waiting at once; beyond it a read gets ErrTooManyRequests. */
  maxPendingReads: 16_384,
  /** Time a request waits for its proposal to apply or its read to be confirmed before ErrTimeout. */
  requestTimeoutMs: 7000,
  /** Client connections held open at once. */
  maxClientConnections: 10_000,
  /**
   * Longest time the leader holds news of a new commit index for a follower, waiting for an append to carry it (0
   * sends it at once). Followers apply, and answer serializable reads, up to this much later; an entry another member
   * proposed (a write forwarded by a follower, which answers when it applies it) sends the news at once.
   */
  commitNewsHoldMs: 2,
} as const;

/** Bounds of the leader's lease keeping (src/server/lessor.ts). */
export const leaseLimits = {
  /** How often the leader looks for expired leases (etcd: 500 ms). A lease is revoked at most this late. */
  expiryCheckIntervalMs: 100,
  /** Revokes of expired leases in flight at once (etcd rate-limits its own at 1000/s). */
  maxRevokesInFlight: 1000,
  /** Renewals waiting for the checkpoint that records them; beyond it a keepalive gets ErrTooManyRequests. */
  maxPendingRenewals: 200_000,
  /**
   * Checkpoint commands in flight at once: renewals that arrive meanwhile wait for the next one (and share it).
   * Measured at 2,000 renewals/s (bench:leases, 20,000 leases, on the leader): 1 gives 15.6 renewals per entry and
   * the members 30/18/17 % of a core; 2 gave 7.3 per entry and 40/24/24 % for a few ms less latency at the median.
   */
  maxCheckpointsInFlight: 1,
  /** Keepalive requests one stream (HTTP or WebSocket) has waiting for an answer; beyond it the stream ends. */
  maxPendingKeepAlivesPerStream: 100_000,
} as const;

/** Bounds of the lease clock (src/server/lease-clock.ts): how far one member's clock is trusted. */
export const leaseClockLimits = {
  /** How far the lease clock may run ahead of what a quorum of voters measured (a fast or jumping clock's most). */
  aheadMs: 100,
  /** How far it may fall behind (a stopped or slow clock's most; the quorum clock already lags real time). */
  behindMs: 0,
  /**
   * Added by the leader to every expiry it sets: at least aheadMs, and how late samples may arrive. The quorum clock
   * advances as samples arrive, in bursts after an event loop was held up (up to ~110 ms seen in a loaded
   * jepsen-like soak on 2 cores), and a lease clock at the edge of its band (its own clock faulty, or the quorum
   * clock lagging) moves with it; without the allowance such a burst after a renewal would expire the lease that
   * much before its TTL. It costs as much of a dead client's time in discovery, out of the election timeout's
   * allowance: with 250 ms (and a band of 100 ms either way) registry soaks listed dead instances up to 190 ms
   * past it, with 150 ms (band 50 either way) up to 60 ms past it (docs/jepsen-like.md, s8 to s10).
   */
  expiryMarginMs: 100,
  /** A peer not heard from for this long (forty pings) does not count towards the quorum until it is heard again. */
  staleAfterMs: 1000,
  /** A peer silent longer than this is counted afresh once heard again; also the most one own reading adds. */
  maxSampleGapMs: 15_000,
  /**
   * Recent samples per peer incarnation whose offsets are kept (a second's worth); the largest is the offset. A
   * sample read late (its receiver's event loop busy) gives a low offset, which maps stamps late: the more
   * samples, the likelier one of them was read at once: with eight (200 ms), one busy spell of 300 ms left every
   * kept sample late (test/server/lease-clock.test.ts).
   */
  offsetSamples: 40,
  /** Peer incarnations whose offsets are kept (a dead leader's stamps are mapped through its last samples). */
  maxIncarnations: 64,
} as const;

export type LeaseLimits = { readonly [Name in keyof typeof leaseLimits]: number };

/** Bounds of watches (src/server/watch-hub.ts and the streams that carry them). */
export const watchLimits = {
  /** Watchers one member serves at once, over all streams; beyond it a create gets ErrTooManyWatchers. */
  maxWatchers: 200_000,
  /** Watchers on one stream (one HTTP watch or one WebSocket connection). */
  maxWatchersPerStream: 10_000,
  /** Bytes of responses queued for one stream's consumer; a stream beyond it is too slow and its watches are cancelled. */
  maxStreamPendingBytes: 16 * 1024 * 1024,
  /** Events one replayed response carries at most (a watcher catching up from history gets them in such pieces). */
  maxReplayEventsPerResponse: 1000,
  /** Largest response a fragmenting watcher gets; a revision with more events is split into fragments. */
  maxWatchResponseBytes: 1536 * 1024,
  /** Bytes of written-out line buffers a member keeps to reuse (src/server/line-buffers.ts); the rest are freed. */
  maxPooledLineBufferBytes: 8 * 1024 * 1024,
  /** Default interval of progress notifications to watchers that asked for them (etcd's: 10 minutes; --experimental-watch-progress-notify-interval). */
  progressNotifyIntervalMs: 10 * 60 * 1000,
} as const;

export type WatchLimits = { readonly [Name in keyof typeof watchLimits]: number };

/** Bounds of one connection of the WebSocket API (src/server/ws-api.ts). */
export const wsApiLimits = {
  /** Largest frame a client may send (a request of serverLimits.maxRequestBytes and its envelope); a larger one, up to maxOversizedFrameBytes, is answered with ErrRequestTooLarge and skipped. */
  maxFrameBytes: 1536 * 1024 + 4096,
  /** Largest frame read at all: beyond it the connection closes with 1009 (the frame could only be buffered, not skipped). */
  maxOversizedFrameBytes: 16 * 1024 * 1024,
  /** Calls in progress on one connection; at it the member stops reading the connection until one finishes, and a call read beyond it gets ErrTooManyRequests. */
  maxConcurrentRequests: 1024,
  /** Streams open on one connection (watch streams, later lease keep-alives); an open beyond it gets ErrTooManyRequests. */
  maxStreams: 256,
  /** Bytes queued toward the client beyond which the member stops reading its frames, until the queue drains below. */
  pauseReadingBytes: 4 * 1024 * 1024,
  /** Bytes queued toward the client beyond which it is too slow and the connection closes with 4001 (its watch streams are cancelled before, at watchLimits.maxStreamPendingBytes). */
  maxBufferedBytes: 64 * 1024 * 1024,
  /** Time a closing connection has to take its close frame before it is cut. */
  closeTimeoutMs: 1000,
} as const;

export type WsApiLimits = { readonly [Name in keyof typeof wsApiLimits]: number };

/** Bounds of the service registry (src/protocol/registry-record.ts, src/server/registry-health.ts). */
export const registryLimits = {
  /** Longest service name (letters, digits, '.', '_', '-'). */
  maxServiceNameBytes: 253,
  /** Longest instance ID (letters, digits, '.', '_', '-', ':', '@'). */
  maxInstanceIdBytes: 253,
  /** Longest address (a host name or an IP address). */
  maxAddressBytes: 253,
  /** Tags of one instance. */
  maxTags: 64,
  /** Longest tag. */
  maxTagBytes: 128,
  /** Metadata entries of one instance. */
  maxMetadataEntries: 64,
  /** Bytes of one instance's record (its address, tags, metadata and check, as stored). */
  maxRecordBytes: 16 * 1024,
  /** Largest weight of an instance (weighted selection); 0 takes it out of weighted selection. */
  maxWeight: 1_000_000,
  /** Active health checks the leader runs at once (instances beyond it are healthy by their lease alone). */
  maxActiveChecks: 10_000,
  /** Probes in flight at once. */
  maxConcurrentProbes: 64,
  /** Shortest interval between two probes of one instance. */
  minCheckIntervalMs: 1000,
  /** Longest time a probe may take. */
  maxCheckTimeoutMs: 60_000,
  /** Largest healthy or unhealthy threshold. */
  maxCheckThreshold: 100,
} as const;

export type RegistryLimits = { readonly [Name in keyof typeof registryLimits]: number };

/** Bounds of the Snowflake recipe (src/state/workers.ts, src/state/segments.ts, src/client/snowflake.ts). */
export const snowflakeLimits = {
  /** Longest pool or counter name. */
  maxNameBytes: 256,
  /** Most worker IDs a pool may have (2^16: a layout of at most 16 worker bits). */
  maxWorkerCount: 65_536,
  /** Worker records (held, and freed but not yet reusable) over every pool; beyond it an allocation fails ErrTooManyWorkers. */
  maxWorkerRecords: 1_000_000,
  /**
   * Largest difference of wall clocks between any member and any generator: a freed worker ID waits this long
   * beyond its holder's lease TTL before it is reused. The safety of worker IDs assumes it (docs/architecture.md).
   */
  maxClockSkewMs: 1000,
  /** Named counters of segment allocation; beyond it a reserve on a new name fails ErrTooManyCounters. */
  maxCounters: 100_000,
  /** Largest block of one reserve. */
  maxSegmentCount: 1_000_000,
  /** Default longest wait of a generator whose clock moved backwards before it refuses with ErrClockMovedBackwards. */
  maxBackwardsWaitMs: 1000,
} as const;

export type SnowflakeLimits = { readonly [Name in keyof typeof snowflakeLimits]: number };

/** Bounds of the client library (src/client). */
export const clientLimits = {
  /** Time one request may take on one endpoint before the client tries the next. */
  requestTimeoutMs: 10_000,
  /** Time to connect to one endpoint before trying the next. */
  dialTimeoutMs: 2000,
  /** Largest response body the client reads. */
  maxResponseBytes: 64 * 1024 * 1024,
  /** Connections one client holds open to one endpoint at once (requests beyond it queue in the client until one is free). */
  maxSocketsPerEndpoint: 64,
  /** Times in a row a watch may fail to reopen its stream (backing off up to 2 s between tries) before it ends with ErrUnreachable. */
  maxWatchReconnects: 60,
  /** Shortest time between two renewals of a kept lease (renewals go every TTL/3, as etcd's client sends them). */
  minKeepAliveIntervalMs: 500,
  /** Time between tries of a renewal that failed (until one goes through, or the lease's TTL has passed). */
  keepAliveRetryMs: 500,
  /**
   * Times a write whose outcome is unknown (sent, then no answer) is sent again, with the same request ID, before
   * the client gives up with ErrTimeout; the member deduplicates the ID, so it applies at most once.
   */
  maxWriteRetries: 3,
  /** Time between refreshes of the member list and the leader (also refreshed at once when a request fails). */
  memberRefreshMs: 30_000,
  /** Shortest time between two refreshes of the member list, so that failing requests do not flood the cluster with them. */
  minMemberRefreshMs: 500,
  /** Client URLs learned from the member list that the client keeps (beyond it, the rest are ignored). */
  maxDiscoveredEndpoints: 32,
  /** Calls waiting for their answer on one WebSocket connection (wsApiLimits.maxConcurrentRequests is the member's side); beyond it a call fails with ErrTooManyRequests. */
  maxPendingWsCalls: 1024,
  /** Time a lock or campaign without a timeout of its own may wait on one endpoint (the largest Node timer, about 24.8 days: in effect none). */
  waitingCallTimeoutMs: 2_147_483_647,
  /** TTL of the lease the client grants (and keeps alive) for a lock or campaign given none, as etcd's session default. */
  recipeLeaseTtlSeconds: 60,
  /** Messages of one WebSocket stream received but not yet taken by its consumer; beyond it the stream ends with ErrWatchCanceled (the connection is shared, so it cannot be paused for one slow stream). */
  maxQueuedStreamMessages: 10_000,
} as const;
