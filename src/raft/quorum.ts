// Majority arithmetic over a set of voters.

import type { Index, NodeId } from './types.js';

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The largest index stored by a majority of voters, given each voter's match index (missing voters count as 0). */
export function committedIndex(voters: readonly NodeId[], matchOf: (voter: NodeId) => Index): Index {
  if (voters.length === 0) return 0 as Index;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1] as Index;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** The outcome of an election given the votes received so far (absent voters have not answered). */
export function voteOutcome(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  const needed = quorumSize(voters.length);
  let granted = 0;
  let rejected = 0;
  for (const voter of voters) {
    const vote = votes.get(voter);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  if (granted >= needed) return 'won';
  if (voters.length - rejected < needed) return 'lost';
  return 'pending';
}

/** True when the voters in `acknowledged` form a majority. */
export function hasQuorum(voters: readonly NodeId[], acknowledged: (voter: NodeId) => boolean): boolean {
  let count = 0;
  for (const voter of voters) if (acknowledged(voter)) count++;
  return count >= quorumSize(voters.length);
}
