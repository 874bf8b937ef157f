// Calls that only the leader can answer (lease renewals and time-to-live: it alone measures lease time), sent on
// by a follower to the leader's client URL, as etcd's followers send them over their peer URLs. JSON over
// keep-alive HTTP, the same codec as the gateway's; the leader's answer or error comes back as it was.

import { Agent, request as httpRequest } from 'node:http';
import { serverLimits } from '../limits.js';
import { METHOD_PATHS, type Method, type Requests, type Responses } from '../protocol/api.js';
import { ConclaveError } from '../protocol/errors.js';
import type { ResponseHeader } from '../protocol/kv.js';
import { decodeError, decodeResponse, encodeRequest, parseJsonBody } from '../protocol/json.js';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export async function forwardToLeader<M extends Method>(leaderUrl: string, method: M, request: Requests[M]): Promise<{ header: ResponseHeader; response: Responses[M] }> {
  const path = METHOD_PATHS[method];
  const body = JSON.stringify(encodeRequest(method, request));
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const call = httpRequest(
      new URL(path, leaderUrl),
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: serverLimits.requestTimeoutMs },
      (answer) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        answer.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > serverLimits.maxRequestBytes) answer.destroy(new ConclaveError('ErrResponseTooLarge', 'the leader answered more than serverLimits.maxRequestBytes'));
          else chunks.push(chunk);
        });
        answer.on('end', () => resolve({ status: answer.statusCode ?? 502, text: Buffer.concat(chunks).toString('utf8') }));
        answer.on('error', reject);
      },
    );
    call.on('timeout', () => call.destroy(new ConclaveError('ErrTimeout', 'the leader did not answer in time')));
    call.on('error', (error) => reject(error instanceof ConclaveError ? error : new ConclaveError('ErrLeaderChanged', `the leader at ${leaderUrl} cannot be reached: ${error.message}`)));
    call.end(body);
  });
  const parsed = parseJsonBody(text);
  if (status !== 200) throw decodeError(status, parsed);
  return decodeResponse(method, parsed);
}
