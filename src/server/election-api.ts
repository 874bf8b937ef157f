// Leader election (etcd's v3election paths). A candidate's key is a sequential key under `name/` bound to its
// lease (one per lease and name); campaign() answers once it is the first by create revision (recipe-wait.ts). The
// leader is that first key, its value what it proclaimed; its create revision (LeaderKey.rev) names its term of
// office, and proclaim and resign act only while that key lives with that revision (a txn compares it). observe()
// is the stream of leaders: the first after each change under the name, once per new key or new value.

import { ConclaveError } from '../protocol/errors.js';
import { sameLeader, type CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest, ProclaimResponse, ResignRequest, ResignResponse } from '../protocol/election.js';
import type { ResponseHeader, TxnResponse } from '../protocol/kv.js';
import { prefixEnd } from '../protocol/kv.js';
import type { PutSequentialResponse } from '../protocol/lock.js';
import type { RequestOp } from '../protocol/kv.js';
import type { RequestContext } from './api.js';
import { localWatch } from './local-watch.js';
import { checkRecipeRequest, proposeRecipe, recipePrefix } from './lock-api.js';
import type { Member } from './member.js';
import { firstUnder, waitOrWithdraw } from './recipe-wait.js';

type Answer<R> = Promise<{ header: ResponseHeader; response: R }>;

/** A txn that runs `op` only while the leader's key lives with its term's create revision. */
async function whileLeading(member: Member, leader: LeaderKey, op: RequestOp): Promise<number> {
  if (leader.key.length === 0) throw new ConclaveError('ErrEmptyKey', 'the leader key is missing');
  const { revision, response } = await proposeRecipe<TxnResponse>(member, {
    type: 'txn',
    request: { compare: [{ key: leader.key, target: 'create', result: 'equal', createRevision: leader.rev }], success: [op], failure: [] },
  });
  if (!response.succeeded) throw new ConclaveError('ErrElectionNotLeader', `key ${new TextDecoder().decode(leader.key)} at revision ${leader.rev} no longer leads`);
  return revision;
}

export async function campaign(member: Member, request: CampaignRequest, context: RequestContext = {}): Answer<CampaignResponse> {
  checkRecipeRequest(request.name, request.lease, request.timeoutMs);
  const prefix = recipePrefix(request.name);
  const { response: candidate } = await proposeRecipe<PutSequentialResponse>(member, {
    type: 'putSequential',
    request: { prefix, value: request.value, lease: request.lease, onePerLease: true },
  });
  const leader: LeaderKey = { name: request.name, key: candidate.key, rev: candidate.createRevision, lease: request.lease };
  // A campaign again with the same lease: the candidacy stands, with the new value (as etcd's does).
  if (!candidate.created) await whileLeading(member, leader, { requestPut: { key: candidate.key, value: request.value, ignoreLease: true } });
  const header = await waitOrWithdraw(member, { prefix, key: candidate.key, createRevision: candidate.createRevision }, request.timeoutMs ?? 0, context.signal, 'campaign');
  return { header, response: { leader } };
}

export async function proclaim(member: Member, request: ProclaimRequest): Answer<ProclaimResponse> {
  const revision = await whileLeading(member, request.leader, { requestPut: { key: request.leader.key, value: request.value, ignoreLease: true } });
  return { header: member.header(revision), response: {} };
}

export async function resign(member: Member, request: ResignRequest): Answer<ResignResponse> {
  const revision = await whileLeading(member, request.leader, { requestDeleteRange: { key: request.leader.key } });
  return { header: member.header(revision), response: {} };
}

export async function leader(member: Member, request: LeaderRequest): Answer<LeaderResponse> {
  if (request.name.length === 0) throw new ConclaveError('ErrEmptyKey', 'an election needs a name');
  const { header, kv } = await firstUnder(member, recipePrefix(request.name), false);
  if (kv === undefined) throw new ConclaveError('ErrElectionNoLeader');
  return { header, response: { kv } };
}


/**
 * The leaders of an election, as they change: the current one first (once there is one), then one answer per new
 * leader or new value. Ends when `signal` is aborted; the watch under the name is bounded as any local watch is.
 */
export async function* observeLeaders(member: Member, request: LeaderRequest, signal: AbortSignal): AsyncGenerator<{ header: ResponseHeader; response: LeaderResponse }> {
  if (request.name.length === 0) throw new ConclaveError('ErrEmptyKey', 'an election needs a name');
  const prefix = recipePrefix(request.name);
  const first = await firstUnder(member, prefix, false);
  let last = first.kv;
  if (last !== undefined) yield { header: first.header, response: { kv: last } };
  for await (const batch of localWatch(member, { key: prefix, rangeEnd: prefixEnd(prefix), startRevision: first.header.revision + 1 }, signal)) {
    void batch;
    const now = await firstUnder(member, prefix, true);
    if (now.kv === undefined || sameLeader(now.kv, last)) {
      last = now.kv;
      continue;
    }
    last = now.kv;
    yield { header: now.header, response: { kv: now.kv } };
  }
}

/** observe as a unary call: the current leader (what the stream answers first). */
export const observe = leader;
