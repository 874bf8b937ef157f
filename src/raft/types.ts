// Value types of the Raft core. Everything here is plain data: safe to encode, copy and compare.

/** A Raft term. Branded so that a term can never be passed where a log index is expected. */
export type Term = number & { readonly __brand: 'Term' };
/** A position in the Raft log (1-based; 0 means "before the first entry"). */
export type Index = number & { readonly __brand: 'Index' };
/** A member's identity, stable for the life of the cluster. */
export type NodeId = string & { readonly __brand: 'NodeId' };

export const term = (value: number): Term => value as Term;
export const index = (value: number): Index => value as Index;
export const nodeId = (value: string): NodeId => value as NodeId;
export const NO_NODE = '' as NodeId;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  readonly term: Term;
  readonly index: Index;
  readonly type: EntryType;
  /** Opaque to the core. For `confChange` entries it is `encodeConfChange(change)`. Empty for the leader's no-op. */
  readonly data: Uint8Array;
}

/** What must survive a crash besides the log: the current term, who we voted for in it, and the commit index. */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: Index;
}

/** Cluster membership. Voters decide elections and commitment; learners only receive the log. */
export interface ClusterConfig {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * One membership change per entry (single-server changes, with the fix from Ongaro's 2015 note:
 * a leader proposes a change only once it has committed an entry of its own term, and only one change
 * may be uncommitted at a time). A configuration takes effect as soon as its entry is in a node's log.
 */
export type ConfChange =
  | { readonly type: 'addLearner'; readonly node: NodeId }
  | { readonly type: 'addVoter'; readonly node: NodeId } // also promotes a learner
  | { readonly type: 'removeNode'; readonly node: NodeId };

/** Describes a snapshot the embedder holds. The bytes never pass through the core. */
export interface SnapshotMeta {
  readonly index: Index;
  readonly term: Term;
  readonly config: ClusterConfig;
  /** Total size of the snapshot's bytes, so that it can be sent in chunks. */
  readonly sizeBytes: number;
}

export type MessageType =
  | 'preVote'
  | 'preVoteResponse'
  | 'vote'
  | 'voteResponse'
  | 'append'
  | 'appendResponse'
  | 'heartbeat'
  | 'heartbeatResponse'
  | 'snapshot'
  | 'snapshotResponse'
  | 'timeoutNow'
  | 'forwardProposal'
  | 'readIndex'
  | 'readIndexResponse';

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** Candidate asks for a (pre-)vote. `term` is the term it would campaign in. */
export interface VoteRequest extends MessageBase {
  readonly type: 'preVote' | 'vote';
  readonly lastLogIndex: Index;
  readonly lastLogTerm: Term;
  /** Set when the campaign follows a leader transfer: it may override the leader lease (CheckQuorum). */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: 'preVoteResponse' | 'voteResponse';
  readonly granted: boolean;
}

export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevLogIndex: Index;
  readonly prevLogTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: Index;
}

export interface AppendResponse extends MessageBase {
  readonly type: 'appendResponse';
  readonly success: boolean;
  /** On success: the last index known to match the leader (durably stored). On rejection: the rejected prevLogIndex. */
  readonly index: Index;
  /** On rejection, a hint for fast backtracking: the follower's last index at or before the conflict whose term is <= hintTerm. */
  readonly rejectHintIndex: Index;
  readonly rejectHintTerm: Term;
}

export interface HeartbeatRequest extends MessageBase {
  readonly type: 'heartbeat';
  /** min(leader commit, follower match): a follower never commits beyond what it is known to hold. */
  readonly commit: Index;
  /** Non-empty when the heartbeat confirms leadership for pending ReadIndex requests. */
  readonly context: string;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeatResponse';
  readonly context: string;
}

/** One chunk of a snapshot. `data` is attached by the sender's embedder (the core only tracks offsets). */
export interface SnapshotChunk extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: SnapshotMeta;
  readonly offset: number;
  readonly length: number;
  /** True when offset + length === snapshot.sizeBytes. */
  readonly last: boolean;
  readonly data: Uint8Array;
}

export interface SnapshotResponse extends MessageBase {
  readonly type: 'snapshotResponse';
  readonly snapshotIndex: Index;
  /** Bytes of that snapshot the follower holds durably; the leader resumes from here. */
  readonly receivedBytes: number;
  /** True once the follower has installed the snapshot. */
  readonly installed: boolean;
}

export interface TimeoutNow extends MessageBase {
  readonly type: 'timeoutNow';
}

/** A follower hands client proposals to the leader it knows. */
export interface ForwardProposal extends MessageBase {
  readonly type: 'forwardProposal';
  readonly entries: readonly { readonly type: EntryType; readonly data: Uint8Array }[];
}

export interface ReadIndexRequest extends MessageBase {
  readonly type: 'readIndex';
  readonly context: string;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: 'readIndexResponse';
  readonly context: string;
  readonly index: Index;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotResponse
  | TimeoutNow
  | ForwardProposal
  | ReadIndexRequest
  | ReadIndexResponse;

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state, reported in a Ready only when it changed. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/** A linearizable read may be served once the applied index reaches `index`. */
export interface ReadState {
  readonly context: string;
  readonly index: Index;
}

/** A chunk of an incoming snapshot that must be written durably (append to the partial snapshot at `offset`). */
export interface IncomingSnapshotChunk {
  readonly snapshot: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
}

/**
 * What the embedder must do next. The contract, in order:
 *
 * 1. `messages` may be sent at once, before anything is persisted (the leader's appends and heartbeats:
 *    they do not depend on this Ready's unpersisted state; the leader counts its own entries only once
 *    `advance()` reports them durable).
 * 2. Durably write, in one atomic batch: `snapshotChunks` (in order), then `snapshot` (install: replace the
 *    state machine with the completed incoming snapshot and discard the whole stored log), then
 *    `entries` (which replace any stored entries at the same or higher indexes), then `hardState`.
 * 3. Only then send `persistedMessages` (votes, append and snapshot acknowledgements: they promise what
 *    was just written).
 * 4. Apply `committedEntries` in order (they are always already durable locally), and serve `readStates`
 *    once applied >= their index.
 * 5. Call `advance()`.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshotChunks: readonly IncomingSnapshotChunk[];
  readonly snapshot: SnapshotMeta | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly persistedMessages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** True when hardState, entries, snapshot or snapshotChunks must reach disk before persistedMessages go out. */
  readonly mustSync: boolean;
}

/** What a restarting node recovers from its storage. */
export interface RestoredState {
  readonly hardState: HardState;
  /** The latest snapshot the node holds, or null. */
  readonly snapshot: SnapshotMeta | null;
  /** Durable log entries after the snapshot (contiguous). */
  readonly entries: readonly Entry[];
  /** The index the state machine has applied up to (>= snapshot index). */
  readonly applied: Index;
}
