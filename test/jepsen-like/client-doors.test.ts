// The doors on members' advertised client URLs, and dialers named the way etcd names them. A Conclave member relays
// lease renewals and membership changes to the leader's client URL, naming itself with conclave-from: a cut link
// must stop those calls as it stops peer messages. etcd names the sender of its peer requests in X-Server-From, in
// hex without leading zeros: the door must read that as the same member ID.

import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrontDoor, normalizeMemberId, PeerNetwork } from '../../jepsen-like/proxy.js';

let echo: Server;
let echoPort = 0;

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  echoPort = (echo.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

/** Sends one request with `header` through `url`; true when it comes back echoed, false when the door closes it. */
function passes(url: string, header: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.on('error', () => {});
  const request = `POST /v3/lease/keepalive HTTP/1.1\r\nHost: x\r\n${header}\r\n\r\n`;
  socket.write(request);
  let received = '';
  return new Promise<boolean>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received === request) {
        socket.destroy();
        resolve(true);
      }
    });
    socket.once('close', () => resolve(false));
  });
}

describe('client front doors', () => {
  it("cut a member's calls to another's client URL along with its peer link, and heal with it", async () => {
    const network = new PeerNetwork();
    try {
      const clientUrls = new Map<string, string>();
      for (const [name, id] of [['n1', '1111111111111111'], ['n2', '2222222222222222'], ['n3', '3333333333333333']] as const) {
        await network.add(name, echoPort);
        clientUrls.set(name, await network.addClientDoor(name, echoPort));
        network.setMemberId(name, id);
      }
      expect(await passes(clientUrls.get('n1')!, 'conclave-from: 2222222222222222')).toBe(true);
      network.partition([['n2'], ['n1', 'n3']]);
      expect(await passes(clientUrls.get('n1')!, 'conclave-from: 2222222222222222')).toBe(false);
      expect(await passes(clientUrls.get('n1')!, 'conclave-from: 3333333333333333')).toBe(true);
      // A one-way cut stops calls in its direction only.
      network.healAll();
      network.cut('n3', 'n1');
      expect(await passes(clientUrls.get('n1')!, 'conclave-from: 3333333333333333')).toBe(false);
      expect(await passes(clientUrls.get('n3')!, 'conclave-from: 1111111111111111')).toBe(true);
      network.healAll();
      expect(await passes(clientUrls.get('n1')!, 'conclave-from: 3333333333333333')).toBe(true);
      const stats = network.stats();
      expect(Object.keys(stats).sort()).toEqual(['n1', 'n1/client', 'n2', 'n2/client', 'n3', 'n3/client']);
      expect(stats['n1/client']!.refused).toBe(2);
    } finally {
      await network.close();
    }
  });

  it('relay a plain HTTP call untouched through a lossy, delayed link: only WebSocket peer links are read as frames', async () => {
    const door = await FrontDoor.start({ host: '127.0.0.1', port: echoPort });
    try {
      door.setFault('2222222222222222', { delayMs: 50, jitterMs: 0, lossProbability: 1 });
      // An HTTP body that would read as a WebSocket frame header declaring a huge length, were it parsed as one.
      expect(await passes(door.url, 'conclave-from: 2222222222222222\r\ncontent-length: 4\r\n\r\n\x82\x7f\xff\xff')).toBe(true);
      expect(await passes(door.url, 'x-server-from: 2222222222222222')).toBe(true);
      expect(door.stats.framesDropped).toBe(0);
    } finally {
      await door.close();
    }
  });

  it("read etcd's X-Server-From, hex without leading zeros, as the member's ID", async () => {
    expect(normalizeMemberId('d193a0ff4f3a85da')).toBe('d193a0ff4f3a85da');
    expect(normalizeMemberId('A85DA')).toBe('00000000000a85da');
    const network = new PeerNetwork();
    try {
      const url = await network.add('n1', echoPort);
      await network.add('n2', echoPort);
      network.setMemberId('n1', normalizeMemberId('1'));
      network.setMemberId('n2', normalizeMemberId('a85da'));
      network.cut('n2', 'n1');
      expect(await passes(url, 'X-Server-From: a85da')).toBe(false);
      expect(await passes(url, 'X-Server-From: 00000000000a85da')).toBe(false);
      expect(await passes(url, 'X-Server-From: 1')).toBe(true);
    } finally {
      await network.close();
    }
  });
});
