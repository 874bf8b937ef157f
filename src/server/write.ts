// One write of the client API: validated, proposed under the client's request ID (for deduplication), answered
// with the header at the revision it applied in, or thrown as the error it applied with.

import type { ResponseHeader } from '../protocol/kv.js';
import { validateClientRequest, type ClientRequest } from '../protocol/request-id.js';
import { validateKvCommand, type KvCommand } from '../state/index.js';
import type { Member } from './member.js';

/** What a request carries besides its body: the client's request ID of a write, for deduplication. */
export interface RequestContext {
  readonly client?: ClientRequest;
  /** Aborted when the caller went away (its HTTP connection closed): a waiting lock or campaign withdraws. */
  readonly signal?: AbortSignal;
}

export async function proposeWrite<R>(member: Member, command: KvCommand, context: RequestContext = {}): Promise<{ header: ResponseHeader; response: R }> {
  const invalid = validateKvCommand(command) ?? (context.client === undefined ? null : validateClientRequest(context.client));
  if (invalid !== null) throw invalid;
  const result = await member.proposeKv(command, context.client);
  if (!result.ok) throw result.error;
  return { header: member.header(result.revision), response: result.response as R };
}
