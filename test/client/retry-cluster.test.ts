// Writes that must apply once, on a real 3-member cluster: the same request ID sent to two members applies once; a
// client whose put was applied but whose answer never came back (its member killed with -9 as it answered) sends the
// put again to another member and it still applies once; connect() learns every member and the leader from one URL.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, connect } from '../../src/client/index.js';
import { b64, eventually, get, statusOf, waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster, type ProcessMember } from '../support/process-cluster.js';

const ELECTION_MS = 500;
let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ heartbeatIntervalMs: 50, electionTimeoutMs: ELECTION_MS, logLevel: 'warn' });
  const leader = await waitForLeader(cluster.endpoints, 15_000);
  await waitForMembersPublished(leader, 3, 15_000);
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

async function putWithId(endpoint: string, key: string, value: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL('/v3/kv/put', endpoint), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ key: b64(key), value: b64(value) }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function versionOf(endpoint: string, key: string): Promise<number> {
  const { reply } = await get(endpoint, key);
  const kvs = reply.body['kvs'] as { version?: string }[] | undefined;
  return Number(kvs?.[0]?.version ?? 0);
}

/**
 * A proxy in front of `target` that forwards every request and passes the answer back, except the first put: its
 * answer arrives (so the put was applied), then `beforeDrop` runs (killing the member, say) and the client's
 * connection is cut without an answer.
 */
async function losingProxy(target: string, beforeDrop: () => Promise<void>): Promise<{ url: string; puts: number; close: () => Promise<void> }> {
  const state = { url: '', puts: 0, close: async () => {} };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const isPut = request.url === '/v3/kv/put';
      if (isPut) state.puts++;
      const upstream = http.request(new URL(request.url ?? '/', target), { method: request.method, headers: request.headers }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => body.push(chunk));
        answer.on('end', () => {
          if (isPut && state.puts === 1) {
            void beforeDrop().then(() => request.socket.destroy());
            return;
          }
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          response.end(Buffer.concat(body));
        });
      });
      upstream.on('error', () => request.socket.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

const memberAt = (url: string): ProcessMember => cluster.members.find((m) => m.clientUrl === url) as ProcessMember;

describe('request IDs on a real cluster', () => {
  it('applies a put sent with the same ID to two members once, and answers the repeat with the first revision', async () => {
    const [a, b] = cluster.endpoints;
    const first = await putWithId(a!, 'dup/k', 'v', { 'x-conclave-request-id': 'test.dup.1' });
    expect(first.status).toBe(200);
    const repeat = await putWithId(b!, 'dup/k', 'v', { 'x-conclave-request-id': 'test.dup.1', 'x-conclave-retry-since-revision': '1' });
    expect(repeat.status).toBe(200);
    expect((repeat.body['header'] as { revision: string }).revision).toBe((first.body['header'] as { revision: string }).revision);
    expect(await versionOf(a!, 'dup/k')).toBe(1);
    const bad = await putWithId(a!, 'dup/k', 'v', { 'x-conclave-request-id': 'not valid!' });
    expect(bad.status).toBe(400);
    expect(bad.body['error']).toBe('invalid request ID');
    expect(await versionOf(a!, 'dup/k')).toBe(1);
  });

  it('a put whose member is killed with -9 as it answers is retried on another member and applies once', async () => {
    const leaderUrl = await waitForLeader(cluster.endpoints, 10_000);
    const leader = memberAt(leaderUrl);
    const proxy = await losingProxy(leaderUrl, async () => {
      await cluster.kill(leader);
    });
    const others = cluster.endpoints.filter((e) => e !== leaderUrl);
    const client = new Client({ endpoints: [proxy.url, ...others], requestTimeoutMs: 4 * ELECTION_MS * 4 });
    try {
      const before = await versionOf(others[0]!, 'retry/k');
      const { header } = await client.put('retry/k', 'once');
      expect(proxy.puts).toBe(1);
      // The answer of the retry is the first application's: one version more, at the revision it was applied.
      const version = await eventually('the key read back', async () => versionOf(others[0]!, 'retry/k').catch(() => null), 10_000);
      expect(version).toBe(before + 1);
      const { reply } = await get(others[0]!, 'retry/k');
      expect(Number((reply.body['kvs'] as { mod_revision: string }[])[0]?.mod_revision)).toBe(header.revision);
    } finally {
      client.close();
      await proxy.close();
      cluster.spawn(leader, 'existing');
      await waitForLeader(cluster.endpoints, 15_000);
    }
  }, 60_000);

  it('connect() learns every member and the leader from one endpoint', async () => {
    // The member the test before restarted may still be starting.
    await eventually('all three members know the leader', async () => ((await Promise.all(cluster.endpoints.map(statusOf))).every((s) => s !== null && s.leader !== '0') ? true : null), 15_000);
    const leaderUrl = await waitForLeader(cluster.endpoints, 10_000);
    const client = await connect({ endpoints: [cluster.endpoints[2]!] });
    try {
      expect([...client.endpoints].sort()).toEqual([...cluster.endpoints].sort());
      expect(client.leaderEndpoint).toBe(leaderUrl);
      const { header } = await client.put('connect/k', 'v');
      expect(header.memberId).toBe((await client.status(leaderUrl)).header.memberId);
      const outcome = await client.txn().then().else().commit();
      expect(outcome.succeeded).toBe(true);
    } finally {
      client.close();
    }
  }, 30_000);
});
