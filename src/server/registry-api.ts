// The service registry's calls. An instance is a key-value pair attached to its lease (src/protocol/registry-
// record.ts): registering is a put (re-registering the same instance updates it), deregistering a delete, and
// the lease's revoke deletes it in the revoke's revision. The put and the delete travel as registry writes: the
// prefix is reserved, and plain key-value writes there are refused (src/protocol/reserved-keys.ts). Discovery is a
// linearizable range of the service's prefix at one revision (the header's), decoded and filtered here; of the
// current state it leaves out instances whose lease is past its deadline and not yet revoked, as the leader
// reckons it: a follower sends the call to the leader. A member's deadline estimate is its own time of applying the
// lease's last renewal plus the time left; one that applied it late (it was cut off, paused or restarted and caught
// up since) holds a deadline late by its lag, and listed an instance long after its lease expired, while a new
// leader's grace held the revoke back (found by the jepsen-like registry workload). The leader applies renewals as
// they commit.

import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import { checkServiceName, deregistrationDelete, listedInstances, registrationPut, registryEventOf, serviceRange } from '../protocol/registry-record.js';
import type {
  RegistryDeregisterRequest,
  RegistryDeregisterResponse,
  RegistryEvent,
  RegistryListRequest,
  RegistryListResponse,
  RegistryRegisterRequest,
  RegistryRegisterResponse,
  RegistryWatchRequest,
} from '../protocol/registry.js';
import type { DeleteRangeResponse } from '../protocol/kv.js';
import { callLeader } from './leader-relay.js';
import { localWatch } from './local-watch.js';
import type { Member } from './member.js';
import { proposeWrite, type RequestContext } from './write.js';

type Answer<R> = Promise<{ header: ResponseHeader; response: R }>;

export async function registerInstance(member: Member, request: RegistryRegisterRequest, context?: RequestContext): Answer<RegistryRegisterResponse> {
  const { header } = await proposeWrite(member, { type: 'registryWrite', request: { type: 'put', request: registrationPut(request) } }, context);
  return { header, response: {} };
}

export async function deregisterInstance(member: Member, request: RegistryDeregisterRequest, context?: RequestContext): Answer<RegistryDeregisterResponse> {
  const remove = deregistrationDelete(request.service, request.instance);
  const { header, response } = await proposeWrite<DeleteRangeResponse>(member, { type: 'registryWrite', request: { type: 'deleteRange', request: remove } }, context);
  return { header, response: { deleted: response.deleted } };
}

export async function listInstances(member: Member, request: RegistryListRequest): Answer<RegistryListResponse> {
  const invalid = checkServiceName(request.service);
  if (invalid !== null) throw invalid;
  const tags = request.tags ?? [];
  if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string')) throw new ConclaveError('ErrInvalidField', 'tags must be strings');
  const range = serviceRange(request.service);
  const current = request.revision === undefined || request.revision === 0;
  if (current && !member.raftNode.isLeader) return listAtLeader(member, request);
  const { header, response } = await member.range({ ...range, ...(current ? {} : { revision: request.revision }) });
  // The current state leaves out instances whose lease is past its deadline but not yet revoked: without a leader
  // (an election, a partition) nothing revokes it, and a new leader gives leases an election timeout's grace.
  const kvs = current ? response.kvs.filter((kv) => !member.lessor.pastDeadline(kv.lease)) : response.kvs;
  return { header, response: { instances: listedInstances(kvs, tags, request.includeUnhealthy === true) } };
}

/** The current state's discovery, answered by the leader; without one, ErrNoLeader (the client tries another member). */
async function listAtLeader(member: Member, request: RegistryListRequest): Answer<RegistryListResponse> {
  if (member.raftNode.leaderId === '') throw new ConclaveError('ErrNoLeader', 'discovery of the current state is answered by the leader, and there is none');
  try {
    return await callLeader(member, 'registryList', request);
  } catch (error) {
    if (error instanceof ConclaveError && error.code === 'ErrNotLeader') throw new ConclaveError('ErrNoLeader', `discovery of the current state is answered by the leader: ${error.message}`);
    throw error;
  }
}

export interface RegistryBatch {
  readonly header: ResponseHeader;
  readonly events: readonly RegistryEvent[];
}

/**
 * A service's registry events, one batch per revision that has any, read from a watch of its prefix with previous
 * values (the WebSocket API's registryWatch stream and the embedded handle's watch). Throws at once for a bad
 * service name; ends when `signal` is aborted, or with ErrCompacted for a compacted start revision.
 */
export function watchRegistry(member: Member, request: RegistryWatchRequest, signal?: AbortSignal): AsyncGenerator<RegistryBatch> {
  const invalid = checkServiceName(request.service);
  if (invalid !== null) throw invalid;
  const create = { ...serviceRange(request.service), prevKv: true, ...(request.startRevision === undefined ? {} : { startRevision: request.startRevision }) };
  return (async function* () {
    for await (const batch of localWatch(member, create, signal)) {
      const events = batch.events.map(registryEventOf).filter((event): event is RegistryEvent => event !== null);
      if (events.length > 0) yield { header: batch.header, events };
    }
  })();
}
