// Membership at run time, as etcd's Cluster API: list, add (as a learner or a voter), remove, promote. Changes are
// made by the leader, one at a time, and refused when they would leave the cluster without a quorum of started
// members (etcd's strict reconfiguration check).

import type { Member as MemberInfo, MemberAddRequest, MemberAddResponse, MemberListResponse, MemberPromoteResponse, MemberRemoveResponse } from '../protocol/cluster.js';
import { ConclaveError } from '../protocol/errors.js';
import { nodeId, type ClusterConfig, type ConfChange, type NodeId } from '../raft/index.js';
import { parseUrl } from '../util/urls.js';
import { memberIdOf } from './ids.js';
import { clientErrorOf, type Member } from './member.js';

/** A learner may be promoted once its log is within this fraction of the leader's (etcd: 90%). */
const LEARNER_READY_FRACTION = 0.9;

export function listMembers(member: Member): MemberListResponse {
  const config = member.appliedConfig;
  const describe = (id: NodeId, isLearner: boolean): MemberInfo => ({ id, ...member.attributesOf(id), isLearner });
  return { members: [...config.voters.map((id) => describe(id, false)), ...config.learners.map((id) => describe(id, true))] };
}

export async function addMember(member: Member, request: MemberAddRequest): Promise<MemberAddResponse> {
  const peerUrls: string[] = [];
  for (const url of request.peerUrls) {
    const parsed = parseUrl(url, { schemes: ['http', 'https'], bareOnly: true });
    if (!parsed.ok) throw new ConclaveError('ErrMemberBadURLs', `${url}: ${parsed.error}`);
    peerUrls.push(parsed.url);
  }
  if (peerUrls.length === 0) throw new ConclaveError('ErrMemberBadURLs', 'no peer URL given');
  requireLeader(member);
  const existing = listMembers(member).members;
  for (const m of existing) {
    if (m.peerUrls.some((u) => peerUrls.includes(u))) throw new ConclaveError('ErrPeerURLExist');
  }
  const isLearner = request.isLearner === true;
  if (!isLearner) requireQuorumAfter(member, { ...member.appliedConfig, voters: [...member.appliedConfig.voters, nodeId('new')] }, 'adding a voter');
  // The time salts the ID so that a member re-added with the URLs of a removed one is a new member (as etcd does).
  const id = nodeId(memberIdOf(peerUrls, member.config.initialClusterToken, String(Date.now())));
  await member.propose({ kind: 'member', command: { type: 'memberUpsert', id, peerUrls } });
  await changeConfig(member, isLearner ? { type: 'addLearner', node: id } : { type: 'addVoter', node: id }, (c) =>
    isLearner ? c.learners.includes(id) : c.voters.includes(id),
  );
  const members = listMembers(member).members;
  return { member: members.find((m) => m.id === id) ?? { id, name: '', peerUrls, clientUrls: [], isLearner }, members };
}

export async function removeMember(member: Member, id: string): Promise<MemberRemoveResponse> {
  const config = member.appliedConfig;
  const target = nodeId(id);
  if (!config.voters.includes(target) && !config.learners.includes(target)) throw new ConclaveError('ErrMemberNotFound', id);
  requireLeader(member);
  if (config.voters.includes(target)) {
    requireQuorumAfter(member, { ...config, voters: config.voters.filter((v) => v !== target) }, 'removing this voter');
  }
  await changeConfig(member, { type: 'removeNode', node: target }, (c) => !c.voters.includes(target) && !c.learners.includes(target));
  await member.propose({ kind: 'member', command: { type: 'memberForget', id } }).catch(() => {
    // The removal is applied; the forgotten attributes only tidy the list, and a later leader keeps them harmlessly.
  });
  return listMembers(member);
}

export async function promoteMember(member: Member, id: string): Promise<MemberPromoteResponse> {
  const config = member.appliedConfig;
  const target = nodeId(id);
  if (config.voters.includes(target)) throw new ConclaveError('ErrMemberNotLearner');
  if (!config.learners.includes(target)) throw new ConclaveError('ErrMemberNotFound', id);
  requireLeader(member);
  const status = member.raftNode.status();
  const match = status.progress.get(target)?.match ?? 0;
  if (match < status.lastIndex * LEARNER_READY_FRACTION) {
    throw new ConclaveError('ErrLearnerNotReady', `the learner holds ${match} of ${status.lastIndex} entries`);
  }
  await changeConfig(member, { type: 'addVoter', node: target }, (c) => c.voters.includes(target));
  return listMembers(member);
}

function requireLeader(member: Member): void {
  if (!member.raftNode.isLeader) {
    throw new ConclaveError(member.raftNode.leaderId === '' ? 'ErrNoLeader' : 'ErrNotLeader');
  }
}

/** The voters of `next` that this leader sees connected (and itself) must form a quorum of `next`. */
function requireQuorumAfter(member: Member, next: ClusterConfig, what: string): void {
  const started = next.voters.filter((v) => v === member.id || member.peerConnected(v)).length;
  if (started < Math.floor(next.voters.length / 2) + 1) {
    throw new ConclaveError('ErrMemberNotEnoughStarted', `${what} would leave ${started} started voters of ${next.voters.length}`);
  }
}

/** Proposes a configuration change and waits until it is applied; retries while the leader cannot take one yet. */
async function changeConfig(member: Member, change: ConfChange, applied: (config: ClusterConfig) => boolean): Promise<void> {
  const node = member.raftNode;
  for (let attempt = 0; ; attempt++) {
    const error = node.proposeConfChange(change);
    if (error === null) break;
    // A new leader must commit an entry of its term first; that takes a round trip.
    if (error.code === 'ErrConfChangeBeforeCommitInTerm' && attempt < 50) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    throw clientErrorOf(error);
  }
  member.kick();
  await member.waitForConfig(applied);
}
