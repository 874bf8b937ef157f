// The data describing one simulation: a fault schedule. Plain JSON, so that a failing schedule can be
// saved and replayed. Node references are small integers taken modulo the number of nodes.

export type ConfOp = 'addLearner' | 'addVoter' | 'remove';

export type SimEvent =
  /** Symmetric partition: nodes whose groups[i] differ cannot talk. */
  | { readonly at: number; readonly kind: 'partition'; readonly groups: readonly number[] }
  /** `in`: the node can send but not receive; `out`: it can receive but not send; `both`: isolated. */
  | { readonly at: number; readonly kind: 'isolate'; readonly node: number; readonly dir: 'in' | 'out' | 'both' }
  /** The current leader (plus `peers` followers) on one side, everyone else on the other. */
  | { readonly at: number; readonly kind: 'isolateLeader'; readonly peers: number }
  /** One-way link failure. */
  | { readonly at: number; readonly kind: 'cutLink'; readonly from: number; readonly to: number }
  | { readonly at: number; readonly kind: 'heal' }
  | { readonly at: number; readonly kind: 'crash'; readonly node: number }
  | { readonly at: number; readonly kind: 'crashLeader' }
  /** Starts a crashed node; reboots (crash + start) a running one. */
  | { readonly at: number; readonly kind: 'restart'; readonly node: number }
  | { readonly at: number; readonly kind: 'net'; readonly loss: number; readonly dup: number; readonly reorder: number }
  | { readonly at: number; readonly kind: 'slowDisk'; readonly node: number; readonly slow: boolean }
  | { readonly at: number; readonly kind: 'transfer'; readonly target: number }
  | { readonly at: number; readonly kind: 'confChange'; readonly op: ConfOp; readonly pick: number }
  | { readonly at: number; readonly kind: 'proposals'; readonly node: number; readonly count: number }
  | { readonly at: number; readonly kind: 'reads'; readonly node: number; readonly count: number }
  /** Client proposals sent straight to the current leader (even a partitioned one). */
  | { readonly at: number; readonly kind: 'leaderProposals'; readonly count: number }
  /** Nemesis: the next node to become leader is isolated at once, before its first message leaves. */
  | { readonly at: number; readonly kind: 'isolateNextLeader' }
  /** Nemesis: the next leader to advance its commit index for the first time in its term is isolated before telling anyone. */
  | { readonly at: number; readonly kind: 'isolateLeaderOnFirstCommit' }
  /** Nemesis: the next node to grant a vote is rebooted right after sending the grant. */
  | { readonly at: number; readonly kind: 'rebootNextVoter' };

export interface Schedule {
  /** Drives every random choice of the run (delays, losses, election timeouts). */
  readonly seed: number;
  /** Initial voters (3 or 5); one more node starts outside the cluster and may be added. */
  readonly nodes: number;
  /** Ticks of the faulty phase; then everything heals and liveness is checked. */
  readonly duration: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly snapshotChunkBytes: number;
  readonly maxInflightAppends: number;
  readonly maxEntriesPerAppend: number;
  /** Take a snapshot every this many applied entries... */
  readonly snapshotEvery: number;
  /** ...and compact the log up to this many entries before it. */
  readonly keepEntries: number;
  /** Per-tick probability of a client proposal (at a random node) and of a read. */
  readonly proposalRate: number;
  readonly readRate: number;
  /** Smallest voter count removals may leave (1 exercises single-voter clusters). */
  readonly minVoters: number;
  readonly events: readonly SimEvent[];
}

export interface RunStats {
  events: number;
  delivered: number;
  ticks: number;
  faults: number;
  readies: number;
  proposals: number;
  applied: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  reads: number;
  leaders: number;
  maxTerm: number;
  maxCommit: number;
  livenessTicks: number;
}

export function emptyStats(): RunStats {
  return {
    events: 0,
    delivered: 0,
    ticks: 0,
    faults: 0,
    readies: 0,
    proposals: 0,
    applied: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    reads: 0,
    leaders: 0,
    maxTerm: 0,
    maxCommit: 0,
    livenessTicks: 0,
  };
}
