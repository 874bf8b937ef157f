// The service registry's calls. An instance is a key-value pair attached to its lease (src/protocol/registry-
// record.ts): registering is a put (re-registering the same instance updates it), deregistering a delete, and
// the lease's revoke deletes it in the revoke's revision. Discovery is a linearizable range of the service's prefix
// at one revision (the header's), decoded and filtered here.

import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import { checkInstanceId, checkServiceName, decodeInstance, encodeInstanceValue, instanceKey, instanceMatches, serviceRange, validateRegistration } from '../protocol/registry-record.js';
import type { RegistryDeregisterRequest, RegistryDeregisterResponse, RegistryListRequest, RegistryListResponse, RegistryRegisterRequest, RegistryRegisterResponse, ServiceInstance } from '../protocol/registry.js';
import type { DeleteRangeResponse } from '../protocol/kv.js';
import type { Member } from './member.js';
import { proposeWrite, type RequestContext } from './write.js';

type Answer<R> = Promise<{ header: ResponseHeader; response: R }>;

export async function registerInstance(member: Member, request: RegistryRegisterRequest, context?: RequestContext): Answer<RegistryRegisterResponse> {
  const invalid = validateRegistration(request);
  if (invalid !== null) throw invalid;
  const put = { key: instanceKey(request.service, request.instance), value: encodeInstanceValue(request), lease: request.lease };
  const { header } = await proposeWrite(member, { type: 'put', request: put }, context);
  return { header, response: {} };
}

export async function deregisterInstance(member: Member, request: RegistryDeregisterRequest, context?: RequestContext): Answer<RegistryDeregisterResponse> {
  const invalid = checkServiceName(request.service) ?? checkInstanceId(request.instance);
  if (invalid !== null) throw invalid;
  const { header, response } = await proposeWrite<DeleteRangeResponse>(member, { type: 'deleteRange', request: { key: instanceKey(request.service, request.instance) } }, context);
  return { header, response: { deleted: response.deleted } };
}

export async function listInstances(member: Member, request: RegistryListRequest): Answer<RegistryListResponse> {
  const invalid = checkServiceName(request.service);
  if (invalid !== null) throw invalid;
  const tags = request.tags ?? [];
  if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string')) throw new ConclaveError('ErrInvalidField', 'tags must be strings');
  const range = serviceRange(request.service);
  const { header, response } = await member.range({ ...range, ...(request.revision === undefined ? {} : { revision: request.revision }) });
  const instances: ServiceInstance[] = [];
  for (const kv of response.kvs) {
    const instance = decodeInstance(kv);
    if (instance !== null && instanceMatches(instance, tags, request.includeUnhealthy === true)) instances.push(instance);
  }
  return { header, response: { instances } };
}
