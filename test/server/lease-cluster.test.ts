// Leases on a real 3-member cluster, over the etcd JSON gateway: grant, keepalive, time-to-live, list and revoke
// from any member; expiry and revoke delete the attached keys in one revision; a leader killed in the middle of a
// lease's life neither expires it early nor lets it outlive TTL + one election timeout; keepalives that move to
// the new leader keep a lease alive; and wall-clock jumps on the leader (an injected offset) expire nothing.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, eventually, postJson, put, statusOf, unb64, waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster, type ProcessMember } from '../support/process-cluster.js';

const ELECTION_MS = 500;
const CLOCK_SKEW = fileURLToPath(new URL('../support/clock-skew.mjs', import.meta.url));
const CLOCK_DIR = mkdtempSync(join(tmpdir(), 'conclave-clock-'));
let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.start({
    heartbeatIntervalMs: 50,
    electionTimeoutMs: ELECTION_MS,
    logLevel: 'warn',
    nodeFlags: ['--import', CLOCK_SKEW],
    env: { CONCLAVE_TEST_CLOCK_DIR: CLOCK_DIR },
  });
  const leader = await waitForLeader(cluster.endpoints, 15_000);
  await waitForMembersPublished(leader, 3, 15_000);
}, 40_000);
afterAll(async () => {
  await cluster?.stop();
  rmSync(CLOCK_DIR, { recursive: true, force: true });
});

/** Each member's wall-clock offset (see clock-skew.mjs): no file, no offset. */
const clockFile = (member: ProcessMember): string => join(CLOCK_DIR, `${member.name}.clock`);

const memberOf = (endpoint: string): ProcessMember => cluster.members.find((m) => m.clientUrl === endpoint)!;

async function leaderAndFollower(): Promise<{ leader: string; follower: string }> {
  const leader = await waitForLeader(cluster.endpoints, 15_000);
  const follower = cluster.endpoints.find((e) => e !== leader && memberOf(e).process !== null)!;
  return { leader, follower };
}

async function grant(endpoint: string, ttl: number, id?: number): Promise<number> {
  const { status, body } = await postJson(endpoint, '/v3/lease/grant', id === undefined ? { TTL: String(ttl) } : { TTL: String(ttl), ID: String(id) });
  expect(status, JSON.stringify(body)).toBe(200);
  return Number(body['ID']);
}

async function keepAlive(endpoint: string, id: number): Promise<number> {
  const { status, body } = await postJson(endpoint, '/v3/lease/keepalive', { ID: String(id) });
  expect(status, JSON.stringify(body)).toBe(200);
  const result = body['result'] as Record<string, string> | undefined;
  if (result === undefined) throw new Error(`keepalive answered ${JSON.stringify(body)}`);
  return Number(result['TTL'] ?? 0);
}

async function timeToLive(endpoint: string, id: number, keys = false): Promise<{ ttl: number; grantedTtl: number; keys: string[] }> {
  const { status, body } = await postJson(endpoint, '/v3/lease/timetolive', { ID: String(id), keys });
  expect(status, JSON.stringify(body)).toBe(200);
  return { ttl: Number(body['TTL'] ?? 0), grantedTtl: Number(body['grantedTTL'] ?? 0), keys: ((body['keys'] as string[] | undefined) ?? []).map(unb64) };
}

/** Whether the lease still exists, asked of whichever live member answers. */
async function alive(id: number): Promise<boolean> {
  for (const endpoint of cluster.endpoints) {
    if (memberOf(endpoint).process === null) continue;
    try {
      return (await timeToLive(endpoint, id)).ttl >= 0;
    } catch {
      // That member cannot answer now (an election): the next one.
    }
  }
  throw new Error('no member answered a time-to-live');
}

/** The delete events of keys under `prefix` from `fromRevision` on, as [key, revision], read from a watch's replay. */
async function deletions(endpoint: string, prefix: string, fromRevision: number, expected: number): Promise<[string, number][]> {
  const controller = new AbortController();
  const response = await fetch(new URL('/v3/watch', endpoint), {
    method: 'POST',
    body: JSON.stringify({ create_request: { key: b64(prefix), range_end: b64(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)), start_revision: String(fromRevision) } }),
    signal: controller.signal,
  });
  const found: [string, number][] = [];
  let text = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = text.indexOf('\n')) >= 0) {
        const line = JSON.parse(text.slice(0, newline)) as { result?: { events?: { type?: string; kv: { key: string; mod_revision?: string } }[] } };
        text = text.slice(newline + 1);
        for (const event of line.result?.events ?? []) if (event.type === 'DELETE') found.push([unb64(event.kv.key), Number(event.kv.mod_revision)]);
      }
      if (found.length >= expected) break;
    }
  } finally {
    controller.abort();
  }
  return found;
}

const revisionOf = (body: Record<string, unknown>): number => Number((body['header'] as { revision: string }).revision);

describe('leases on a real cluster', () => {
  it('grant, keepalive, time-to-live (with keys), list and revoke answer from every member; a revoke deletes the keys in one revision', async () => {
    const { leader, follower } = await leaderAndFollower();
    const id = await grant(follower, 30);
    expect(id).toBeGreaterThan(0);
    const chosen = await grant(leader, 1, 4242);
    expect(chosen).toBe(4242);
    // A TTL below the minimum (1.5 election timeouts, in whole seconds) is raised to it, as etcd does.
    expect((await timeToLive(follower, 4242)).grantedTtl).toBe(Math.ceil((1.5 * ELECTION_MS) / 1000));
    const taken = await postJson(follower, '/v3/lease/grant', { TTL: '10', ID: '4242' });
    expect(taken.body['message']).toBe('etcdserver: lease already exists');

    for (const key of ['a', 'b', 'c']) expect((await postJson(follower, '/v3/kv/put', { key: b64(`r/${key}`), value: b64('v'), lease: String(id) })).status).toBe(200);
    const unknown = await postJson(follower, '/v3/kv/put', { key: b64('r/x'), value: b64('v'), lease: '99' });
    expect(unknown.body['message']).toBe('etcdserver: requested lease not found');

    for (const endpoint of [leader, follower]) {
      expect(await keepAlive(endpoint, id)).toBe(30);
      const ttl = await timeToLive(endpoint, id, true);
      expect(ttl.grantedTtl).toBe(30);
      expect(ttl.ttl).toBeGreaterThan(25);
      expect(ttl.keys).toEqual(['r/a', 'r/b', 'r/c']);
      const { body } = await postJson(endpoint, '/v3/lease/leases', {});
      expect((body['leases'] as { ID: string }[]).map((l) => Number(l.ID))).toEqual(expect.arrayContaining([id, 4242]));
    }
    // A keepalive of a lease that does not exist answers TTL 0; its time-to-live is -1.
    expect(await keepAlive(follower, 77)).toBe(0);
    expect((await timeToLive(follower, 77)).ttl).toBe(-1);

    const before = await postJson(follower, '/v3/kv/range', { key: b64('r/'), range_end: b64('r0') });
    const revoked = await postJson(follower, '/v3/kv/lease/revoke', { ID: String(id) });
    expect(revoked.status).toBe(200);
    const revokedAt = revisionOf(revoked.body);
    expect(revokedAt).toBe(revisionOf(before.body) + 1);
    expect(await deletions(leader, 'r/', revokedAt, 3)).toEqual([
      ['r/a', revokedAt],
      ['r/b', revokedAt],
      ['r/c', revokedAt],
    ]);
    expect((await postJson(leader, '/v3/lease/revoke', { ID: String(id) })).body['message']).toBe('etcdserver: requested lease not found');
    expect((await timeToLive(leader, id)).ttl).toBe(-1);
  }, 30_000);

  it('an expired lease takes its keys with it, in one revision', async () => {
    const { leader } = await leaderAndFollower();
    const id = await grant(leader, 2);
    const granted = Date.now();
    for (const key of ['a', 'b']) await postJson(leader, '/v3/kv/put', { key: b64(`e/${key}`), value: b64('v'), lease: String(id) });
    const from = revisionOf((await postJson(leader, '/v3/kv/range', { key: b64('e/a') })).body);
    await eventually('the lease expires', async () => ((await alive(id)) ? null : true), 10_000, () => cluster.logs());
    const expiredAfterMs = Date.now() - granted;
    expect(expiredAfterMs).toBeGreaterThanOrEqual(2000);
    expect(expiredAfterMs).toBeLessThan(2000 + 1500);
    const deleted = await deletions(leader, 'e/', from, 2);
    expect(deleted.map(([key]) => key)).toEqual(['e/a', 'e/b']);
    expect(new Set(deleted.map(([, revision]) => revision)).size).toBe(1);
  }, 30_000);

  it('a leader killed in the middle of a lease neither expires it early nor lets it live past TTL + an election timeout', async () => {
    const TTL_S = 4;
    const { leader } = await leaderAndFollower();
    const id = await grant(leader, TTL_S);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const renewedFrom = Date.now();
    expect(await keepAlive(leader, id)).toBe(TTL_S);
    const renewedBy = Date.now();
    const killed = memberOf(leader);
    await cluster.kill(killed);
    try {
      let lastAlive = renewedBy;
      let firstGone = 0;
      while (Date.now() < renewedBy + TTL_S * 1000 + ELECTION_MS + 3000) {
        const probeAt = Date.now();
        const isAlive = await alive(id).catch(() => null);
        if (isAlive === true) lastAlive = probeAt;
        if (isAlive === false) {
          firstGone = Date.now();
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(firstGone, 'the lease never expired').toBeGreaterThan(0);
      // Not early: alive until at least TTL after the renewal was sent (a probe that saw it gone started after that).
      expect(firstGone).toBeGreaterThanOrEqual(renewedFrom + TTL_S * 1000);
      expect(lastAlive).toBeGreaterThanOrEqual(renewedFrom + TTL_S * 1000 - 300);
      // Not late: gone within TTL + one election timeout of the renewal's answer, give or take the probe and revoke.
      expect(firstGone).toBeLessThanOrEqual(renewedBy + TTL_S * 1000 + ELECTION_MS + 600);
    } finally {
      cluster.spawn(killed, 'existing');
    }
  }, 40_000);

  it('keepalives that follow the leader across its kill keep a lease alive', async () => {
    const { leader } = await leaderAndFollower();
    const id = await grant(leader, 3);
    const stop = Date.now() + 7000;
    let renewals = 0;
    const keeper = (async () => {
      while (Date.now() < stop) {
        for (const endpoint of cluster.endpoints) {
          if (memberOf(endpoint).process === null) continue;
          try {
            if ((await keepAlive(endpoint, id)) > 0) {
              renewals++;
              break;
            }
          } catch {
            // An election: the next member.
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const killed = memberOf(leader);
    await cluster.kill(killed);
    await keeper;
    expect(renewals).toBeGreaterThanOrEqual(5);
    expect(await alive(id)).toBe(true);
    cluster.spawn(killed, 'existing');
    await waitForLeader(cluster.endpoints, 15_000);
  }, 40_000);

  it("jumps of the leader's wall clock (an hour forward, then back) expire no healthy lease", async () => {
    const { leader } = await leaderAndFollower();
    const id = await grant(leader, 3);
    await put(leader, 'clock/k', 'v');
    await postJson(leader, '/v3/kv/put', { key: b64('clock/k'), value: b64('v'), lease: String(id) });
    const wallBefore = await wallClockOf(leader);
    const file = clockFile(memberOf(leader));
    const stop = Date.now() + 6000;
    let jumped = 0;
    while (Date.now() < stop) {
      writeFileSync(file, String(jumped % 2 === 0 ? 3_600_000 : -3_600_000));
      jumped++;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await keepAlive(leader, id)).toBe(3);
    }
    // The leader's wall clock did move (so the test tested something), and is back now.
    const wallSkewed = await wallClockOf(leader);
    expect(Math.abs(wallSkewed - wallBefore)).toBeGreaterThan(3_000_000);
    writeFileSync(file, '0');
    expect(await alive(id)).toBe(true);
    const { body } = await postJson(leader, '/v3/kv/range', { key: b64('clock/k') });
    expect(body['count']).toBe('1');
    expect((await statusOf(leader))?.leader).toBe((await statusOf(leader))?.memberId);
  }, 30_000);
});

async function wallClockOf(endpoint: string): Promise<number> {
  const response = await fetch(new URL('/debug/vars', endpoint));
  const vars = (await response.json()) as { clock: { wallMs: number } };
  return vars.clock.wallMs;
}
