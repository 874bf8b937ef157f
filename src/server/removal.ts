// What a peer's answer to "does the cluster still count me in?" tells a member that hears from no leader
// (member.ts checkRemoved). A peer answers from its applied membership, which may be behind: one that has applied
// nothing yet (it started a moment ago) knows no members at all, and one that lags has not applied the entry that
// added the asker. Neither may tell a member it was removed. The removal of a member commits at an index after
// everything that member applied (had it applied its removal it would know), so only a peer that has applied past
// the asker's applied index can say the asker is not in the cluster.

import type { DiscoveryAnswer } from './identity.js';

export type RemovalVerdict = 'member' | 'removed' | 'unknown';

export interface Asker {
  readonly clusterId: string;
  readonly id: string;
  readonly appliedIndex: number;
}

export function removalVerdict(answer: DiscoveryAnswer | null, asker: Asker): RemovalVerdict {
  if (answer === null || answer.clusterId !== asker.clusterId) return 'unknown';
  if (answer.members.some((m) => m.id === asker.id)) return 'member';
  // An answer without an applied index (a member of an older version) cannot show it is ahead.
  const answeredAt = typeof answer.appliedIndex === 'number' ? answer.appliedIndex : 0;
  return answeredAt > asker.appliedIndex ? 'removed' : 'unknown';
}
