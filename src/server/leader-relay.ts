// Membership changes are made by the leader: a member that is not the leader sends them to the leader's HTTP
// gateway and hands back its answer (or its error, as the same ConclaveError), whichever API the call came in on.
// A lease's time-to-live is the leader's too (lease-api.ts sends it here; renewals go by keepalive-relay.ts).

import { request as httpRequest } from 'node:http';
import { serverLimits } from '../limits.js';
import { METHOD_PATHS, type Method, type Requests, type Responses } from '../protocol/api.js';
import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import { decodeError, decodeResponse, encodeRequest } from '../protocol/json.js';
import { HEADERS } from '../transport/handshake.js';
import type { Member } from './member.js';

const LEADER_ONLY: ReadonlySet<Method> = new Set<Method>(['memberAdd', 'memberRemove', 'memberPromote']);

/** Whether this member must send `method` to the leader (it is a membership change and another member leads). */
export function mustRelay(member: Member, method: Method): boolean {
  return LEADER_ONLY.has(method) && !member.raftNode.isLeader && member.raftNode.leaderId !== '';
}

/** Calls `method` on the leader's first client URL. */
export async function callLeader<M extends Method>(member: Member, method: M, request: Requests[M]): Promise<{ header: ResponseHeader; response: Responses[M] }> {
  const leaderUrl = member.attributesOf(member.raftNode.leaderId).clientUrls[0];
  if (leaderUrl === undefined) throw new ConclaveError('ErrNotLeader', 'the leader has not published its client URLs yet');
  const body = Buffer.from(JSON.stringify(encodeRequest(method, request)));
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    // Named like a peer connection's dialer, so that whoever sits between members (a proxy, a log) knows whose call it is.
    const headers = { 'content-type': 'application/json', 'content-length': body.length, [HEADERS.from]: member.id };
    const relay = httpRequest(new URL(METHOD_PATHS[method], leaderUrl), { method: 'POST', headers, timeout: serverLimits.requestTimeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > serverLimits.maxRequestBytes) response.destroy(new ConclaveError('ErrResponseTooLarge', 'the leader answered more than serverLimits.maxRequestBytes'));
        else chunks.push(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 502, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    relay.on('timeout', () => relay.destroy(new ConclaveError('ErrTimeout', 'the leader did not answer')));
    relay.on('error', (error) => reject(error instanceof ConclaveError ? error : new ConclaveError('ErrNotLeader', `the leader at ${leaderUrl} cannot be reached: ${error.message}`)));
    relay.end(body);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    throw new ConclaveError('ErrInternal', `the leader answered ${answer.status} with a body that is not JSON`);
  }
  if (answer.status !== 200) throw decodeError(answer.status, parsed);
  return decodeResponse(method, parsed);
}
