// The front doors of the jepsen-like network: a connection naming its dialer is relayed until that dialer's link is
// cut, which ends it and refuses new ones until healed; others pass; a connection naming no dialer passes only while
// nothing into the member is cut. A delayed link hands the dialer's frames on later and in order; a lossy one drops
// its data frames and keeps its control frames, so that the connection stays open.

import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrontDoor, PeerNetwork } from '../../jepsen-like/proxy.js';
import { binary, frame, OPCODE } from './ws-frame-builder.js';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

/** Echoes what it gets, as a member's peer port would answer what it is sent. */
let echo: Server;
let echoPort = 0;

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  echoPort = (echo.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

interface Dialled {
  readonly socket: Socket;
  /** Everything received so far. */
  received: () => string;
  /** Resolves when the connection closes. */
  readonly closed: Promise<void>;
}

/** Dials `url` and sends an upgrade request naming `from` (none when null). */
function dial(url: string, from: string | null): Dialled {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`GET /raft HTTP/1.1\r\nHost: x\r\n${from === null ? '' : `Conclave-From: ${from}\r\n`}\r\n`);
  return { socket, received: () => text, closed };
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether a message sent on a new connection from `from` comes back (true) or the connection is closed (false). */
async function passes(url: string, from: string | null): Promise<boolean> {
  const dialled = dial(url, from);
  dialled.socket.write('ping');
  const outcome = await new Promise<boolean>((resolve) => {
    dialled.socket.on('data', () => {
      if (dialled.received().endsWith('ping')) resolve(true);
    });
    void dialled.closed.then(() => resolve(false));
  });
  dialled.socket.destroy();
  return outcome;
}

describe('FrontDoor', () => {
  it('relays until the dialer is cut, ends its open connection, refuses it until healed, and lets others through', async () => {
    const door = await FrontDoor.start({ host: '127.0.0.1', port: echoPort });
    try {
      const open = dial(door.url, A);
      open.socket.write('one');
      await until('the first echo', () => open.received().endsWith('one'));
      expect(open.received()).toContain(`Conclave-From: ${A}`);

      door.block(A);
      await open.closed;
      expect(await passes(door.url, A)).toBe(false);
      expect(await passes(door.url, B)).toBe(true);
      expect(door.blockedIds).toEqual([A]);

      door.unblock(A);
      expect(await passes(door.url, A)).toBe(true);
      expect(door.stats).toEqual({ relayed: 3, refused: 1, severed: 1, framesDropped: 0, framesDelayed: 0 });
    } finally {
      await door.close();
    }
  });

  it('lets a connection that names no dialer through only while nothing into the member is cut', async () => {
    const door = await FrontDoor.start({ host: '127.0.0.1', port: echoPort });
    try {
      const open = dial(door.url, null);
      open.socket.write('one');
      await until('the first echo', () => open.received().endsWith('one'));
      door.block(B);
      await open.closed;
      expect(await passes(door.url, null)).toBe(false);
      door.unblockAll();
      expect(await passes(door.url, null)).toBe(true);
    } finally {
      await door.close();
    }
  });
});

/** Dials `url` naming `from`, keeping what comes back as bytes; `echoed` strips the echo of the request head. */
async function dialBytes(url: string, from: string) {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  let open = true;
  socket.once('close', () => (open = false));
  const head = `GET /raft HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nConclave-From: ${from}\r\n\r\n`;
  socket.write(head);
  await until('the head echoed', () => Buffer.concat(chunks).length >= head.length);
  return { socket, echoed: () => Buffer.concat(chunks).subarray(head.length), isOpen: () => open };
}

describe('FrontDoor link faults', () => {
  it('hands a delayed link\'s frames on after the delay, in order, and counts them', async () => {
    const door = await FrontDoor.start({ host: '127.0.0.1', port: echoPort });
    try {
      const dialled = await dialBytes(door.url, A);
      door.setFault(A, { delayMs: 300, jitterMs: 100, lossProbability: 0 });
      const frames = Array.from({ length: 20 }, (_, i) => binary(`message ${i}`, { masked: true }));
      const sentAt = Date.now();
      for (const f of frames) dialled.socket.write(f);
      const all = Buffer.concat(frames);
      await until('the delayed frames', () => dialled.echoed().length >= all.length);
      // The echo crosses the door twice, both directions shaped: at least twice the delay.
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(600);
      expect(dialled.echoed().equals(all)).toBe(true);
      // Frames counted on the way in; the echo's way back is no upgrade, so it is delayed as raw bytes.
      expect(door.stats.framesDelayed).toBe(20);
      expect(door.faultedIds).toEqual([[A, { delayMs: 300, jitterMs: 100, lossProbability: 0 }]]);
      dialled.socket.destroy();
    } finally {
      await door.close();
    }
  });

  it('at loss 1 drops every data frame and passes control frames on an open connection; at loss 0 and healed it passes all', async () => {
    const door = await FrontDoor.start({ host: '127.0.0.1', port: echoPort });
    try {
      const dialled = await dialBytes(door.url, A);
      door.setFault(A, { delayMs: 0, jitterMs: 0, lossProbability: 1 });
      const ping = frame(OPCODE.ping, Buffer.from('alive?'), { masked: true });
      dialled.socket.write(Buffer.concat([binary('lost', { masked: true }), binary('y'.repeat(70_000), { masked: true }), ping]));
      await until('the ping', () => dialled.echoed().length >= ping.length);
      expect(dialled.echoed().equals(ping)).toBe(true);
      expect(door.stats.framesDropped).toBe(2);

      door.setFault(A, { delayMs: 0, jitterMs: 0, lossProbability: 0 });
      const kept = Buffer.concat([binary('kept', { masked: true }), binary('z'.repeat(300), { masked: true })]);
      dialled.socket.write(kept);
      await until('the kept frames', () => dialled.echoed().length >= ping.length + kept.length);
      door.unblockAll();
      const healed = binary('healed', { masked: true });
      dialled.socket.write(healed);
      await until('the frame after healing', () => dialled.echoed().length >= ping.length + kept.length + healed.length);
      expect(dialled.echoed().equals(Buffer.concat([ping, kept, healed]))).toBe(true);
      expect(dialled.isOpen()).toBe(true);
      expect(door.stats.framesDropped).toBe(2);
      expect(door.faultedIds).toEqual([]);
      dialled.socket.destroy();
    } finally {
      await door.close();
    }
  });
});

describe('PeerNetwork', () => {
  it('cuts partitions both ways and one-way links one way, by member name, and heals them all', async () => {
    const network = new PeerNetwork();
    const urls = new Map<string, string>();
    for (const [name, id] of [['n1', A], ['n2', B], ['n3', 'cccccccccccccccc']] as const) {
      urls.set(name, await network.add(name, echoPort));
      network.setMemberId(name, id);
    }
    try {
      network.partition([['n1'], ['n2', 'n3']]);
      expect(network.cutLinks()).toEqual([['n1', 'n2'], ['n1', 'n3'], ['n2', 'n1'], ['n3', 'n1']]);
      expect(await passes(urls.get('n2')!, A)).toBe(false);
      expect(await passes(urls.get('n1')!, B)).toBe(false);
      expect(await passes(urls.get('n3')!, B)).toBe(true);

      network.healAll();
      expect(network.cutLinks()).toEqual([]);
      expect(await passes(urls.get('n2')!, A)).toBe(true);

      network.cut('n1', 'n2');
      expect(network.cutLinks()).toEqual([['n1', 'n2']]);
      expect(await passes(urls.get('n2')!, A)).toBe(false);
      expect(await passes(urls.get('n1')!, B)).toBe(true);
      network.heal('n1', 'n2');
      expect(await passes(urls.get('n2')!, A)).toBe(true);

      const slow = { delayMs: 10, jitterMs: 0, lossProbability: 0 };
      network.setFault('n2', 'n3', slow);
      expect(network.faultedLinks()).toEqual([['n2', 'n3', slow]]);
      expect(await passes(urls.get('n3')!, B)).toBe(true);
      network.healAll();
      expect(network.faultedLinks()).toEqual([]);
      expect(() => network.cut('n1', 'n9')).toThrow('no member named n9');
    } finally {
      await network.close();
    }
  });
});
