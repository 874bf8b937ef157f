// Sequential puts and locks (etcd's v3lock paths, ZooKeeper's sequential-node recipe). lock() creates the
// caller's waiter key, `name/<sequence>` bound to its lease (one per lease and name: a retried lock finds the same
// key), and answers once it is the first under the name (recipe-wait.ts), with the key and the fencing token, its
// create revision. unlock() deletes the key. A holder whose lease ends loses the lock with its key; the next
// waiter is woken by that deletion.

import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import type { LockRequest, LockResponse, PutSequentialRequest, PutSequentialResponse, UnlockRequest, UnlockResponse } from '../protocol/lock.js';
import { validateKvCommand, type KvCommand } from '../state/index.js';
import { checkLeaseId } from '../state/kv-validate.js';
import type { RequestContext } from './api.js';
import type { Member } from './member.js';
import { waitOrWithdraw } from './recipe-wait.js';

type Answer<R> = Promise<{ header: ResponseHeader; response: R }>;

const SEPARATOR = 0x2f; // '/'

/** The prefix of the keys of a lock or an election: its name and '/'. */
export function recipePrefix(name: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(name.length + 1);
  prefix.set(name, 0);
  prefix[name.length] = SEPARATOR;
  return prefix;
}

/** Proposes a KV command (validated first) and answers its response, or throws its error. */
export async function proposeRecipe<R>(member: Member, command: KvCommand, context: RequestContext = {}): Promise<{ revision: number; response: R }> {
  const invalid = validateKvCommand(command);
  if (invalid !== null) throw invalid;
  const result = await member.proposeKv(command, context.client);
  if (!result.ok) throw result.error;
  return { revision: result.revision, response: result.response as R };
}

export async function putSequential(member: Member, request: PutSequentialRequest, context?: RequestContext): Answer<PutSequentialResponse> {
  const { revision, response } = await proposeRecipe<PutSequentialResponse>(member, { type: 'putSequential', request }, context);
  return { header: member.header(revision), response };
}

/** Checks the name and lease of a lock or a campaign before anything is proposed. */
export function checkRecipeRequest(name: Uint8Array, lease: number, timeoutMs: number | undefined): void {
  if (name.length === 0) throw new ConclaveError('ErrEmptyKey', 'a lock or election needs a name');
  const badLease = checkLeaseId(lease);
  if (badLease !== null) throw new ConclaveError('ErrInvalidField', `a lock or campaign needs a lease (${badLease.detail ?? ''})`);
  if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs >= 0)) throw new ConclaveError('ErrInvalidField', 'timeoutMs must be a non-negative integer');
}

export async function lock(member: Member, request: LockRequest, context: RequestContext = {}): Answer<LockResponse> {
  checkRecipeRequest(request.name, request.lease, request.timeoutMs);
  const prefix = recipePrefix(request.name);
  const { response: waiter } = await proposeRecipe<PutSequentialResponse>(member, {
    type: 'putSequential',
    request: { prefix, value: new Uint8Array(0), lease: request.lease, onePerLease: true },
  });
  const header = await waitOrWithdraw(member, { prefix, key: waiter.key, createRevision: waiter.createRevision }, request.timeoutMs ?? 0, context.signal, 'lock');
  return { header, response: { key: waiter.key, fence: waiter.createRevision } };
}

export async function unlock(member: Member, request: UnlockRequest, context: RequestContext = {}): Answer<UnlockResponse> {
  if (request.key.length === 0) throw new ConclaveError('ErrEmptyKey', 'unlock needs the lock key');
  const { revision } = await proposeRecipe(member, { type: 'deleteRange', request: { key: request.key } }, context);
  return { header: member.header(revision), response: {} };
}
