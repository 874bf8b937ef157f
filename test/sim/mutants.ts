// Deliberately broken Raft cores. Each is a subclass of RaftNode that overrides a protected method
// (or wraps the public API), so the real core stays untouched. The mutation tests check that the
// simulator catches every one of them.

import { RaftNode, type RaftOptions } from '../../src/raft/index.js';
import { committedIndex } from '../../src/raft/quorum.js';
import { index, type Message, NO_NODE, type ReadState, type Ready, type VoteRequest } from '../../src/raft/types.js';
import type { NodeFactory } from './host.js';

/** (a) Figure 8: commits by counting replicas, also for entries of earlier terms. */
export class CommitOldTermsNode extends RaftNode {
  protected override maybeCommit(): boolean {
    const voters = this.log.config().voters;
    const candidate = committedIndex(voters, (voter) => (voter === this.id ? this.log.stable : (this.progress.get(voter)?.match ?? index(0))));
    if (candidate <= this.log.committed) return false; // the mutation: no "entry of the current term" check
    this.log.commitTo(candidate);
    (this as unknown as { onCommitAdvanced(): void }).onCommitAdvanced();
    return true;
  }
}

/** (b) Sends vote grants at once, before the vote is persisted. */
export class EarlyVoteNode extends RaftNode {
  protected override needsPersistence(message: Message): boolean {
    if (message.type === 'voteResponse') return false;
    return super.needsPersistence(message);
  }
}

/** (b') The same contract breach done from the outside: move vote responses from persistedMessages to messages. */
export class EarlyVoteReadyNode extends RaftNode {
  override ready(): Ready {
    const rd = super.ready();
    const votes = rd.persistedMessages.filter((m) => m.type === 'voteResponse');
    if (votes.length === 0) return rd;
    return {
      ...rd,
      messages: [...rd.messages, ...votes],
      persistedMessages: rd.persistedMessages.filter((m) => m.type !== 'voteResponse'),
    };
  }
}

/** (c) A leader that never steps down (CheckQuorum disabled) and serves ReadIndex from its commit index without a heartbeat round. */
export class StaleReadNode extends RaftNode {
  private localReads: ReadState[] = [];

  protected override quorumActive(): boolean {
    for (const progress of this.progress.values()) progress.recentActive = false;
    return true;
  }

  override readIndex(context: string): ReturnType<RaftNode['readIndex']> {
    if (this.role !== 'leader') return super.readIndex(context);
    this.localReads.push({ context, index: this.log.committed });
    return null;
  }

  override step(message: Message): void {
    if (message.type === 'readIndex' && message.to === this.id && this.role === 'leader' && message.term === this.currentTerm) {
      this.send({ type: 'readIndexResponse', from: this.id, to: message.from, term: this.currentTerm, context: message.context, index: this.log.committed });
      return;
    }
    super.step(message);
  }

  override hasReady(): boolean {
    return super.hasReady() || this.localReads.length > 0;
  }

  override ready(): Ready {
    const rd = super.ready();
    if (this.localReads.length === 0) return rd;
    const extra = this.localReads;
    this.localReads = [];
    return { ...rd, readStates: [...rd.readStates, ...extra] };
  }
}

/** (d) Grants (pre-)votes without checking that the candidate's log is at least as up to date. */
export class BlindVoteNode extends RaftNode {
  protected override handleVoteRequest(message: VoteRequest): void {
    const isPreVote = message.type === 'preVote';
    const canVote =
      this.vote === message.from || (this.vote === NO_NODE && this.leader === NO_NODE) || (isPreVote && message.term > this.currentTerm);
    const granted = canVote; // the mutation: no log.isUpToDate(lastLogIndex, lastLogTerm)
    this.send({ type: isPreVote ? 'preVoteResponse' : 'voteResponse', from: this.id, to: message.from, term: granted ? message.term : this.currentTerm, granted });
    if (granted && !isPreVote) {
      this.electionElapsed = 0;
      this.vote = message.from;
    }
  }
}

const factory =
  (Ctor: new (options: RaftOptions) => RaftNode): NodeFactory =>
  (options) =>
    new Ctor(options);

export const mutants = {
  commitOldTerms: factory(CommitOldTermsNode),
  earlyVote: factory(EarlyVoteNode),
  earlyVoteReady: factory(EarlyVoteReadyNode),
  staleRead: factory(StaleReadNode),
  blindVote: factory(BlindVoteNode),
} as const;
