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
