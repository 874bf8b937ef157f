// A member's calls to the leader's client URL name the member in conclave-from, as its peer connections do, so that
// whatever stands between members (the jepsen-like harness's front doors, a proxy, a log) can tell whose call it is.

import { createServer, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { KeepAliveRelay } from '../../src/server/keepalive-relay.js';

describe('the keepalive relay', () => {
  it("names this member on its stream to the leader's client URL", async () => {
    let seen: IncomingHttpHeaders | null = null;
    const server = createServer((request, response) => {
      seen = request.headers;
      response.writeHead(503);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as { port: number };
    const relay = new KeepAliveRelay('00000000000000ab');
    try {
      await expect(relay.renew(`http://127.0.0.1:${port}`, 7)).rejects.toMatchObject({ code: 'ErrLeaderChanged' });
      expect(seen).not.toBeNull();
      expect(seen!['conclave-from']).toBe('00000000000000ab');
    } finally {
      relay.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
