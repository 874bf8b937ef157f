// The client's lock and campaign calls against scripted members: sent again when an attempt is lost (the member
// finds the same waiter key, one per lease and name), not cut off by the client's per-request timeout while the
// member waits, and bounded by their own timeout.

import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { encodeResponse } from '../../src/protocol/json.js';
import { failure, fixtures, type FakeServer } from './fake-server.js';

const { server, track, cleanup } = fixtures<Client>();
afterEach(cleanup);

const lockAnswer = (member: FakeServer) => (response: import('node:http').ServerResponse) => {
  const body = JSON.stringify(encodeResponse('lock', member.header, { key: Buffer.from('n/00000000000000000007'), fence: 7 }));
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
};

describe('the client lock', () => {
  it('sends a lock whose answer was lost again, as it is, and takes the answer', async () => {
    const member = await server();
    let locks = 0;
    member.override = (method) => (method === 'lock' ? (++locks === 1 ? (response) => response.socket?.destroy() : lockAnswer(member)) : undefined);
    const c = track(new Client({ endpoints: [member.url] }));
    const held = await c.lock('n', { lease: 5 });
    expect(held).toMatchObject({ fence: 7, lease: 5, keptLease: undefined });
    const sent = member.received.filter((r) => r.method === 'lock');
    expect(sent).toHaveLength(2);
    expect(sent[1]?.request).toEqual(sent[0]?.request);
  });

  it('waits past the client request timeout while the member holds the call, but not past its own timeout', async () => {
    const member = await server();
    member.override = (method) => (method === 'lock' ? (response) => setTimeout(() => lockAnswer(member)(response), 600) : undefined);
    const c = track(new Client({ endpoints: [member.url], requestTimeoutMs: 200 }));
    expect((await c.lock('n', { lease: 5 })).fence).toBe(7);
    member.override = (method) => (method === 'lock' ? 'stall' : undefined);
    const error = await failure(c.lock('n', { lease: 5, timeoutMs: 100 }));
    // The member's own timeout plus the client's request time, then the attempt is lost and sent again, up to the retry bound.
    expect(error.code).toBe('ErrTimeout');
    expect(member.received.filter((r) => r.method === 'lock').length).toBeGreaterThan(2);
  });
});
