// The simulator must catch deliberately broken cores (subclasses of RaftNode; see mutants.ts). Each test
// searches seeds until a violation of the expected kind appears, and fails if none does within the budget.

import { describe, expect, it } from 'vitest';
import { hunt } from './hunt.js';
import { mutants } from './mutants.js';

const T = 120_000;
const SAFETY = ['election-safety', 'log-matching', 'leader-completeness', 'state-machine-safety', 'committed-entry-lost', 'commit-safety', 'exactly-once'];

function report(name: string, r: ReturnType<typeof hunt>): void {
  if (r !== null) console.log(`mutant ${name}: caught on seed ${r.seed} (after ${r.tried} schedules): ${r.violation.message.split('\n')[0]}`);
}

describe('mutation tests: the simulator catches broken cores', () => {
  it('(a) Figure 8: committing entries of earlier terms by counting replicas', { timeout: T }, () => {
    const r = hunt(mutants.commitOldTerms, { kinds: SAFETY }, { start: 1, count: 1500 }, { weights: { isolateNextLeader: 4, isolateLeaderOnFirstCommit: 4, heal: 5 } });
    report('commitOldTerms', r);
    expect(r).not.toBeNull();
  });

  it('(a) Figure 8, caught end to end (a committed entry is actually lost)', { timeout: T }, () => {
    const r = hunt(
      mutants.commitOldTerms,
      { kinds: ['committed-entry-lost', 'state-machine-safety', 'leader-completeness', 'log-matching'] },
      { start: 1, count: 1500 },
      { nodes: 3, weights: { isolateNextLeader: 6, isolateLeaderOnFirstCommit: 6, heal: 8, crashLeader: 2, slowDisk: 3, confChange: 0, transfer: 0 }, overrides: { maxEntriesPerAppend: 1 } },
      // let the unsafe commit happen (commit-safety would stop the run right there) and watch it get lost
      { ignore: ['commit-safety'] },
    );
    report('commitOldTerms/end-to-end', r);
    expect(r).not.toBeNull();
  });

  it('(b) vote grants sent before the vote is persisted (caught by the durability contract check)', { timeout: T }, () => {
    for (const factory of [mutants.earlyVote, mutants.earlyVoteReady]) {
      const r = hunt(factory, { kinds: ['durability'], message: /grants its vote/ }, { start: 1, count: 600 });
      report('earlyVote', r);
      expect(r).not.toBeNull();
    }
  });

  it('(b) vote grants sent before the vote is persisted (caught end to end: a double vote or two leaders in a term)', { timeout: T }, () => {
    const r = hunt(mutants.earlyVoteReady, { kinds: ['election-safety'] }, { start: 1, count: 1500 }, {}, { strict: false });
    report('earlyVote/end-to-end', r);
    expect(r).not.toBeNull();
  });

  it('(c) a leader that never steps down and serves ReadIndex without confirming leadership', { timeout: T }, () => {
    const r = hunt(mutants.staleRead, { kinds: ['linearizability'] }, { start: 1, count: 1500 });
    report('staleRead', r);
    expect(r).not.toBeNull();
  });

  it('(d) votes granted without the log up-to-date check', { timeout: T }, () => {
    const r = hunt(mutants.blindVote, { kinds: SAFETY }, { start: 1, count: 1500 });
    report('blindVote', r);
    expect(r).not.toBeNull();
  });
});
