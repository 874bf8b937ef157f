// RaftNode's API: errors with codes, the ready()/advance() protocol, and what a Ready may and may not contain.

import { describe, expect, it } from 'vitest';
import { InvariantViolation, RaftError, type RaftErrorCode } from '../../src/raft/errors.js';
import { RaftNode, type RaftOptions } from '../../src/raft/node.js';
import { index, nodeId, term, type AppendRequest, type Message, type NodeId, type Ready } from '../../src/raft/types.js';
import { InteractionEnv } from './interaction/env.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const ids = (...names: string[]): NodeId[] => names.map(nodeId);

function newNode(id: string, voters: string[], options: Partial<RaftOptions> = {}): RaftNode {
  return new RaftNode({ id: nodeId(id), initialConfig: { voters: ids(...voters), learners: [] }, random: () => 0, ...options });
}

/** A minimal embedder without storage: hand out every Ready, advance, and route all messages until quiet. */
function settle(nodes: Map<string, RaftNode>, drop: (message: Message) => boolean = () => false): void {
  for (let round = 0; round < 100; round++) {
    const inFlight: Message[] = [];
    for (const node of nodes.values()) {
      while (node.hasReady()) {
        const ready = node.ready();
        inFlight.push(...ready.messages, ...ready.persistedMessages);
        node.advance();
      }
    }
    if (inFlight.length === 0) return;
    for (const message of inFlight) if (!drop(message)) nodes.get(message.to)?.step(message);
  }
  throw new Error('did not settle');
}

function cluster(names: string[], options: Partial<RaftOptions> = {}): Map<string, RaftNode> {
  const nodes = new Map(names.map((name) => [name, newNode(name, names, options)]));
  (nodes.get(names[0] as string) as RaftNode).campaign();
  settle(nodes);
  return nodes;
}

const get = (nodes: Map<string, RaftNode>, name: string) => nodes.get(name) as RaftNode;

function expectCode(result: RaftError | null, code: RaftErrorCode): void {
  expect(result).toBeInstanceOf(RaftError);
  expect((result as RaftError).code).toBe(code);
  expect((result as RaftError).message.startsWith(`${code}: `)).toBe(true);
}

function soleLeader(options: Partial<RaftOptions> = {}): RaftNode {
  const node = newNode('n1', ['n1'], options);
  node.campaign();
  settle(new Map([['n1', node]]));
  expect(node.status().role).toBe('leader');
  return node;
}

describe('errors with codes', () => {
  it('ErrNoLeader: a follower or candidate that knows no leader cannot take proposals or reads', () => {
    const nodes = new Map(['n1', 'n2', 'n3'].map((name) => [name, newNode(name, ['n1', 'n2', 'n3'])]));
    expectCode(get(nodes, 'n2').propose(bytes('x')), 'ErrNoLeader');
    expectCode(get(nodes, 'n2').readIndex('r'), 'ErrNoLeader');
    get(nodes, 'n2').campaign();
    expect(get(nodes, 'n2').status().role).toBe('preCandidate');
    expectCode(get(nodes, 'n2').propose(bytes('x')), 'ErrNoLeader');
  });

  it('a follower that knows the leader forwards proposals instead', () => {
    const nodes = cluster(['n1', 'n2', 'n3']);
    expect(get(nodes, 'n2').propose(bytes('x'))).toBeNull();
    const forwarded = get(nodes, 'n2').ready().messages;
    expect(forwarded.map((message) => `${message.type}->${message.to}`)).toEqual(['forwardProposal->n1']);
  });

  it('ErrProposalTooLarge, on any member, naming the limit', () => {
    const nodes = cluster(['n1', 'n2', 'n3'], { limits: { maxProposalBytes: 4 } });
    expect(get(nodes, 'n1').propose(bytes('1234'))).toBeNull();
    for (const name of ['n1', 'n2']) {
      const error = get(nodes, name).propose(bytes('12345'));
      expectCode(error, 'ErrProposalTooLarge');
      expect(error?.message).toMatch(/maxProposalBytes/);
    }
  });

  it('ErrTooManyPendingProposals once maxUncommittedEntries wait, and accepted again after they commit', () => {
    const node = soleLeader({ limits: { maxUncommittedEntries: 2 } });
    expect(node.propose(bytes('a'))).toBeNull();
    expect(node.propose(bytes('b'))).toBeNull();
    expectCode(node.propose(bytes('c')), 'ErrTooManyPendingProposals');
    settle(new Map([['n1', node]]));
    expect(node.propose(bytes('c'))).toBeNull();
  });

  it('ErrConfChangeBeforeCommitInTerm until the new leader commits its no-op, then ErrConfChangePending for a second change', () => {
    const node = newNode('n1', ['n1']);
    node.campaign();
    expect(node.status().role).toBe('leader');
    expectCode(node.proposeConfChange({ type: 'addLearner', node: nodeId('n2') }), 'ErrConfChangeBeforeCommitInTerm');
    settle(new Map([['n1', node]]));
    expect(node.proposeConfChange({ type: 'addLearner', node: nodeId('n2') })).toBeNull();
    expectCode(node.proposeConfChange({ type: 'addLearner', node: nodeId('n3') }), 'ErrConfChangePending');
  });

  it('ErrInvalidConfChange for a change that does not apply', () => {
    const node = soleLeader();
    expectCode(node.proposeConfChange({ type: 'addVoter', node: nodeId('n1') }), 'ErrInvalidConfChange');
    expectCode(node.proposeConfChange({ type: 'removeNode', node: nodeId('n1') }), 'ErrInvalidConfChange');
    expectCode(node.proposeConfChange({ type: 'removeNode', node: nodeId('n7') }), 'ErrInvalidConfChange');
  });

  it('ErrNotLeader for membership changes and transfers asked of a follower', () => {
    const nodes = cluster(['n1', 'n2', 'n3']);
    expectCode(get(nodes, 'n2').proposeConfChange({ type: 'addLearner', node: nodeId('n4') }), 'ErrNotLeader');
    expectCode(get(nodes, 'n2').transferLeadership(nodeId('n3')), 'ErrNotLeader');
  });

  it('ErrUnknownMember for a transfer to a non-voter', () => {
    const nodes = cluster(['n1', 'n2', 'n3']);
    expectCode(get(nodes, 'n1').transferLeadership(nodeId('n9')), 'ErrUnknownMember');
    expect(get(nodes, 'n1').transferLeadership(nodeId('n1'))).toBeNull(); // to itself: nothing to do
    expect(get(nodes, 'n1').status().leadTransferee).toBe('');
  });

  it('ErrLeaderTransferInProgress for proposals and changes while a transfer is under way', () => {
    const nodes = cluster(['n1', 'n2', 'n3']);
    expect(get(nodes, 'n1').transferLeadership(nodeId('n3'))).toBeNull();
    expectCode(get(nodes, 'n1').propose(bytes('x')), 'ErrLeaderTransferInProgress');
    expectCode(get(nodes, 'n1').proposeConfChange({ type: 'addLearner', node: nodeId('n4') }), 'ErrLeaderTransferInProgress');
    settle(nodes);
    expect(get(nodes, 'n3').status().role).toBe('leader');
  });

  it('ErrTooManyPendingReads beyond maxPendingReadIndex', () => {
    const nodes = cluster(['n1', 'n2', 'n3'], { limits: { maxPendingReadIndex: 1 } });
    expect(get(nodes, 'n1').readIndex('a')).toBeNull();
    expectCode(get(nodes, 'n1').readIndex('b'), 'ErrTooManyPendingReads');
  });
});

describe('the ready()/advance() protocol', () => {
  it('ready() twice without advance() throws, and hasReady() is false while a Ready is in flight', () => {
    const node = soleLeader();
    node.propose(bytes('x'));
    expect(node.hasReady()).toBe(true);
    node.ready();
    expect(node.hasReady()).toBe(false);
    expect(() => node.ready()).toThrow(InvariantViolation);
    node.advance();
    expect(node.hasReady()).toBe(true); // the commit that advance() allowed
  });

  it('advance() without a Ready in flight throws', () => {
    const node = newNode('n1', ['n1']);
    expect(() => node.advance()).toThrow(InvariantViolation);
    node.ready();
    node.advance();
    expect(() => node.advance()).toThrow(InvariantViolation);
  });

  it("the leader counts its own entries only after advance(): a sole voter commits nothing before", () => {
    const node = soleLeader();
    const before = node.status().commit;
    node.propose(bytes('x'));
    const ready = node.ready();
    const proposed = ready.entries.map((entry) => entry.index);
    expect(proposed).toEqual([before + 1]);
    expect(node.status().commit).toBe(before);
    expect(ready.committedEntries).toEqual([]);
    node.advance();
    expect(node.status().commit).toBe(before + 1);
    const next = node.ready();
    expect(next.committedEntries.map((entry) => entry.index)).toEqual([before + 1]);
    expect(next.hardState?.commit).toBe(before + 1);
  });

  it("with three voters, one follower acknowledgement commits only together with the leader's durable copy", () => {
    const nodes = cluster(['n1', 'n2', 'n3']);
    const leader = get(nodes, 'n1');
    const before = leader.status().commit;
    leader.propose(bytes('x'));
    const ready = leader.ready();
    const toN2 = ready.messages.find((message) => message.to === 'n2' && message.type === 'append');
    expect(toN2).toBeDefined();
    get(nodes, 'n2').step(toN2 as Message);
    const ack = get(nodes, 'n2').ready().persistedMessages;
    get(nodes, 'n2').advance();
    expect(ack.map((message) => message.type)).toEqual(['appendResponse']);
    leader.step(ack[0] as Message);
    expect(leader.status().commit).toBe(before); // n2 alone is not a majority; n1's copy is not durable yet
    leader.advance();
    expect(leader.status().commit).toBe(before + 1);
  });

  it('committed entries are handed out only once durable, even when the commit index arrives with them', () => {
    const nodes = cluster(['n1', 'n2', 'n3']);
    const follower = get(nodes, 'n2');
    const { term: leaderTerm, lastIndex, commit } = follower.status();
    expect(commit).toBe(lastIndex);
    const append: AppendRequest = {
      type: 'append', from: nodeId('n1'), to: nodeId('n2'), term: leaderTerm,
      prevLogIndex: lastIndex, prevLogTerm: leaderTerm,
      entries: [{ term: leaderTerm, index: index(lastIndex + 1), type: 'normal', data: bytes('x') }],
      commit: index(lastIndex + 1),
    };
    follower.step(append);
    const first = follower.ready();
    expect(first.entries.map((entry) => entry.index)).toEqual([lastIndex + 1]);
    expect(first.hardState?.commit).toBe(lastIndex + 1);
    expect(first.committedEntries).toEqual([]);
    expect(first.mustSync).toBe(true);
    follower.advance();
    expect(follower.ready().committedEntries.map((entry) => entry.index)).toEqual([lastIndex + 1]);
  });

  it('proposals between two Readys reach each follower as one append', () => {
    const nodes = cluster(['n1', 'n2', 'n3']);
    const leader = get(nodes, 'n1');
    for (const value of ['a', 'b', 'c']) leader.propose(bytes(value));
    const appends = leader.ready().messages.filter((message): message is AppendRequest => message.type === 'append');
    expect(appends.map((message) => message.to).sort()).toEqual(['n2', 'n3']);
    for (const append of appends) expect(append.entries.map((entry) => new TextDecoder().decode(entry.data))).toEqual(['a', 'b', 'c']);
  });

  it('several append acknowledgements to one leader in one Ready collapse into the highest', () => {
    const nodes = cluster(['n1', 'n2', 'n3']);
    const leader = get(nodes, 'n1');
    const appends: Message[] = [];
    for (const value of ['a', 'b', 'c']) {
      leader.propose(bytes(value));
      appends.push(...leader.ready().messages.filter((message) => message.to === 'n2'));
      leader.advance();
    }
    expect(appends).toHaveLength(3);
    for (const append of appends) get(nodes, 'n2').step(append);
    const acks = get(nodes, 'n2').ready().persistedMessages.filter((message) => message.type === 'appendResponse');
    expect(acks).toHaveLength(1);
    expect(acks[0]).toMatchObject({ to: 'n1', success: true, index: leader.status().lastIndex });
  });

  it('a vote is sent only after it is persisted; a pre-vote answer promises nothing and goes at once', () => {
    const nodes = new Map(['n1', 'n2', 'n3'].map((name) => [name, newNode(name, ['n1', 'n2', 'n3'])]));
    settle(nodes); // the bootstrap entry
    const candidate = get(nodes, 'n1');
    candidate.campaign();
    const preVotes = candidate.ready().messages;
    candidate.advance();
    get(nodes, 'n2').step(preVotes.find((message) => message.to === 'n2') as Message);
    const preVoteAnswer = get(nodes, 'n2').ready();
    get(nodes, 'n2').advance();
    expect(preVoteAnswer.messages.map((message) => message.type)).toEqual(['preVoteResponse']);
    expect(preVoteAnswer.hardState).toBeNull();
    candidate.step(preVoteAnswer.messages[0] as Message);
    const campaign = candidate.ready();
    candidate.advance();
    expect(campaign.messages).toEqual([]);
    expect(campaign.persistedMessages.map((message) => message.type)).toEqual(['vote', 'vote']);
    get(nodes, 'n2').step(campaign.persistedMessages.find((message) => message.to === 'n2') as Message);
    const grant: Ready = get(nodes, 'n2').ready();
    expect(grant.messages).toEqual([]);
    expect(grant.persistedMessages).toMatchObject([{ type: 'voteResponse', granted: true, to: 'n1' }]);
    expect(grant.hardState).toMatchObject({ vote: 'n1', term: campaign.hardState?.term });
    expect(grant.mustSync).toBe(true);
  });
});

describe('liveness after a snapshot', () => {
  // The leader probes a follower right after it installed a snapshot. When the leader has no entries after the
  // snapshot's index, the probe is empty and its acknowledgement is at the match index: Progress.maybeUpdate()
  // reports no progress, so probeSent stays set and the follower stays paused in probe. New entries are then not
  // sent to it until a heartbeat answer unpauses it (handleAppendResponse in node.ts). etcd treats an
  // acknowledgement at the match index in probe state as the probe's success (becomeReplicate).
  function followerJustRestoredBySnapshot(): InteractionEnv {
    const env = new InteractionEnv();
    for (const command of [
      'add-nodes n1 n2 n3',
      'campaign n1',
      'stabilize',
      'partition n1 n2 | n3',
      'propose n1 a',
      'propose n1 b',
      'stabilize',
      'snapshot n1',
    ]) env.run(command);
    env.run(`compact n1 ${env.raft('n1').status().lastIndex}`);
    for (const command of ['heal', 'tick n1', 'stabilize']) env.run(command);
    expect(env.raft('n3').status().snapshot?.index).toBe(env.raft('n1').status().lastIndex);
    return env;
  }

  it('a probe that is answered at the match index unpauses the follower: new entries reach it without a heartbeat', () => {
    const env = followerJustRestoredBySnapshot();
    env.run('propose n1 c');
    env.run('stabilize');
    const leader = env.raft('n1').status();
    expect(env.raft('n3').status().lastIndex).toBe(leader.lastIndex);
    expect(leader.progress.get(nodeId('n3'))).toMatchObject({ state: 'replicate', match: leader.lastIndex });
  });

  it('a heartbeat answer unpauses it (the workaround the transcripts use)', () => {
    const env = followerJustRestoredBySnapshot();
    env.run('tick n1');
    env.run('propose n1 c');
    env.run('stabilize');
    expect(env.raft('n3').status().lastIndex).toBe(env.raft('n1').status().lastIndex);
  });
});

describe('other behaviour', () => {
  it('ignores messages addressed to another node', () => {
    const nodes = cluster(['n1', 'n2', 'n3']);
    const before = get(nodes, 'n2').status();
    get(nodes, 'n2').step({ type: 'heartbeat', from: nodeId('n3'), to: nodeId('n3'), term: term(before.term + 5), commit: index(0), context: '' });
    expect(get(nodes, 'n2').status().term).toBe(before.term);
    expect(get(nodes, 'n2').hasReady()).toBe(false);
  });

  it('a restarted node recovers term, vote and commit, and re-applies committed entries from its applied index', () => {
    const node = soleLeader();
    node.propose(bytes('x'));
    const readies: Ready[] = [];
    while (node.hasReady()) {
      readies.push(node.ready());
      node.advance();
    }
    const status = node.status();
    const log = Array.from({ length: status.lastIndex }, (_, i) => node.entryAt(index(i + 1)));
    const restarted = new RaftNode({
      id: nodeId('n1'), initialConfig: { voters: ids('n1'), learners: [] }, random: () => 0,
      restored: { hardState: { term: status.term, vote: status.vote, commit: status.commit }, snapshot: null, entries: log.filter((entry) => entry !== undefined), applied: index(1) },
    });
    expect(restarted.status()).toMatchObject({ role: 'follower', term: status.term, vote: status.vote, commit: status.commit, lastIndex: status.lastIndex });
    expect(restarted.ready().committedEntries.map((entry) => entry.index)).toEqual(Array.from({ length: status.commit - 1 }, (_, i) => i + 2));
  });

  it('createSnapshot keeps the newer snapshot; compactLog beyond the snapshot throws', () => {
    const node = soleLeader();
    node.propose(bytes('x'));
    settle(new Map([['n1', node]]));
    const applied = node.status().applied;
    const meta = node.createSnapshot(applied, 7);
    expect(meta).toMatchObject({ index: applied, sizeBytes: 7, config: { voters: ['n1'] } });
    expect(node.createSnapshot(index(applied - 1), 3)).toBe(meta);
    expect(() => node.compactLog(index(applied + 1))).toThrow(InvariantViolation);
    node.compactLog(applied);
    expect(node.status().firstIndex).toBe(applied + 1);
  });
});
