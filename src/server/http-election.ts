// `POST /v3/election/observe` as etcd 3.4's gateway serves it: a LeaderRequest in, a line per leader out,
// `{"result":{LeaderResponse}}` each, for as long as the client keeps the call open; an error ends the call with
// an `{"error":...}` line. A body that cannot be read gets the ordinary error answer.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConclaveError } from '../protocol/errors.js';
import { decodeRequest, encodeError, encodeResponse } from '../protocol/json.js';
import { observeLeaders } from './election-api.js';
import type { Member } from './member.js';

export async function serveObserve(member: Member, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const request = decodeRequest('observe', body);
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  const leaders = observeLeaders(member, request, controller.signal);
  res.writeHead(200, ['content-type', 'application/json']);
  res.socket?.setNoDelay(true);
  try {
    for await (const { header, response } of leaders) {
      if (res.writableEnded || res.destroyed) break;
      res.write(`${JSON.stringify({ result: encodeResponse('observe', header, response) })}\n`);
    }
    if (!res.writableEnded) res.end();
  } catch (error) {
    const failure = error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error));
    if (!res.writableEnded && !res.destroyed) res.end(`${JSON.stringify({ error: encodeError(failure) })}\n`);
    req.destroy();
  }
}
