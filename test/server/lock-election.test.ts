// Locks and elections on one in-process member, over etcd's v3lock / v3election gateway paths (JSON by hand), the
// WebSocket API and the typed client: FIFO hand-over on unlock and on a holder's lease ending, try-lock timeouts
// and a caller going away withdraw the waiter's key, the fencing token refuses a stale holder's guarded write,
// and an election's campaign, proclaim, leader, observe and resign.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { WsConnection } from '../../src/client/ws-connection.js';
import { decodeResponse } from '../../src/protocol/json.js';
import type { ConclaveNode } from '../../src/index.js';
import { b64, postJson, unb64 } from '../support/http-json.js';
import { startLocalNode, type Cleanups } from '../support/local-node.js';

const cleanups: Cleanups = [];
let url: string;
let node: ConclaveNode;
let client: Client;

beforeAll(async () => {
  ({ node, url } = await startLocalNode(cleanups, 'conclave-lock-'));
  client = new Client({ endpoints: [url] });
  cleanups.push(() => client.close());
}, 20_000);
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const grant = async (): Promise<string> => (await postJson(url, '/v3/lease/grant', { TTL: 60 })).body['ID'] as string;
const keysUnder = async (prefix: string): Promise<string[]> => {
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const { body } = await postJson(url, '/v3/kv/range', { key: b64(prefix), range_end: b64(end) });
  return ((body['kvs'] as { key: string }[] | undefined) ?? []).map((kv) => unb64(kv.key));
};
const settled = <T>(promise: Promise<T>) => {
  const state = { done: false };
  void promise.then(() => (state.done = true), () => (state.done = true));
  return state;
};

describe('locks over /v3/lock', () => {
  it('hands the lock over in FIFO order on unlock, with fencing tokens that grow, and refuses the old holder a guarded write', async () => {
    const leases = await Promise.all([grant(), grant(), grant()]);
    const first = await postJson(url, '/v3/lock/lock', { name: b64('fifo'), lease: leases[0] });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['fence', 'header', 'key']);
    const firstKey = unb64(first.body['key'] as string);
    expect(firstKey).toMatch(/^fifo\/\d{20}$/);
    expect(Number(first.body['fence'])).toBe(Number(firstKey.slice(5)));
    const second = postJson(url, '/v3/lock/lock', { name: b64('fifo'), lease: leases[1] }, 20_000);
    await expect.poll(() => keysUnder('fifo/')).toHaveLength(2);
    const third = postJson(url, '/v3/lock/lock', { name: b64('fifo'), lease: leases[2] }, 20_000);
    await expect.poll(() => keysUnder('fifo/')).toHaveLength(3);
    const secondState = settled(second);
    const thirdState = settled(third);
    // A write guarded by the holder's token goes through while it holds.
    const guarded = (fence: unknown, key: unknown, value: string) =>
      postJson(url, '/v3/kv/txn', { compare: [{ target: 'CREATE', key, create_revision: fence }], success: [{ request_put: { key: b64('fifo-storage'), value: b64(value) } }] });
    expect((await guarded(first.body['fence'], first.body['key'], 'one')).body['succeeded']).toBe(true);
    expect(secondState.done || thirdState.done).toBe(false);
    expect((await postJson(url, '/v3/lock/unlock', { key: first.body['key'] })).status).toBe(200);
    const secondReply = await second;
    expect(Number(secondReply.body['fence'])).toBeGreaterThan(Number(first.body['fence']));
    expect(thirdState.done).toBe(false);
    // Once the lock moved on, the first holder's guarded write is refused; the new holder's goes through.
    expect((await guarded(first.body['fence'], first.body['key'], 'stale')).body['succeeded']).toBeUndefined();
    expect((await guarded(secondReply.body['fence'], secondReply.body['key'], 'two')).body['succeeded']).toBe(true);
    // The second holder's lease ends: its key goes with it, and the third waiter holds.
    await postJson(url, '/v3/lease/revoke', { ID: leases[1] });
    const thirdReply = await third;
    expect(Number(thirdReply.body['fence'])).toBeGreaterThan(Number(secondReply.body['fence']));
    expect(await keysUnder('fifo/')).toEqual([unb64(thirdReply.body['key'] as string)]);
  });

  it('a waiter behind a waiter that gives up keeps waiting for the holder (it watched only its predecessor)', async () => {
    const leases = await Promise.all([grant(), grant(), grant()]);
    const holder = await postJson(url, '/v3/lock/lock', { name: b64('chain'), lease: leases[0] });
    const middle = postJson(url, '/v3/lock/lock', { name: b64('chain'), lease: leases[1] }, 20_000);
    await expect.poll(() => keysUnder('chain/')).toHaveLength(2);
    const last = postJson(url, '/v3/lock/lock', { name: b64('chain'), lease: leases[2] }, 20_000);
    await expect.poll(() => keysUnder('chain/')).toHaveLength(3);
    const lastState = settled(last);
    // The middle waiter's lease ends: its call fails, and the last one now watches the holder.
    await postJson(url, '/v3/lease/revoke', { ID: leases[1] });
    expect((await middle).body).toMatchObject({ code: 9, message: expect.stringContaining('waiter key was deleted') });
    await expect.poll(() => keysUnder('chain/')).toHaveLength(2);
    expect(lastState.done).toBe(false);
    await postJson(url, '/v3/lock/unlock', { key: holder.body['key'] });
    expect((await last).status).toBe(200);
  });

  it('try-lock: a timeout fails with ErrLockTimeout and deletes the waiter key; a caller that goes away withdraws too', async () => {
    const leases = await Promise.all([grant(), grant(), grant()]);
    const holder = await postJson(url, '/v3/lock/lock', { name: b64('try'), lease: leases[0] });
    const timedOut = await postJson(url, '/v3/lock/lock', { name: b64('try'), lease: leases[1], timeout_ms: '300' });
    expect(timedOut.status).toBe(504);
    expect(timedOut.body['message']).toContain('not acquired within the timeout');
    expect(await keysUnder('try/')).toEqual([unb64(holder.body['key'] as string)]);
    await expect(postJson(url, '/v3/lock/lock', { name: b64('try'), lease: leases[2] }, 500)).rejects.toThrow();
    await expect.poll(() => keysUnder('try/')).toEqual([unb64(holder.body['key'] as string)]);
  });

  it('refuses a lock without a name or a lease, changing nothing', async () => {
    expect((await postJson(url, '/v3/lock/lock', { name: b64('x') })).body).toMatchObject({ code: 3, message: expect.stringContaining('needs a lease') });
    expect((await postJson(url, '/v3/lock/lock', { lease: '5' })).body).toMatchObject({ code: 3 });
    expect((await postJson(url, '/v3/lock/lock', { name: b64('x'), lease: '5' })).body).toMatchObject({ message: expect.stringContaining('lease not found') });
    expect(await keysUnder('x/')).toEqual([]);
  });

  it('the typed client locks with a lease of its own and revokes it on unlock; a second locker waits', async () => {
    const held = await client.lock('typed');
    expect(held.keptLease).toBeDefined();
    const next = client.lock('typed', { timeoutMs: 200 });
    await expect(next).rejects.toMatchObject({ code: 'ErrLockTimeout' });
    await held.unlock();
    expect((await client.leaseTimeToLive(held.lease)).response.ttl).toBe(-1);
    const again = await client.lock('typed');
    expect(again.fence).toBeGreaterThan(held.fence);
    await again.unlock();
  });

  it('putSequential names keys by the cluster with sequence numbers that grow under a prefix', async () => {
    const a = await client.putSequential('queue/', 'a');
    const b = await client.putSequential('queue/', 'b');
    expect(b.response.createRevision).toBeGreaterThan(a.response.createRevision);
    expect(Buffer.from(b.response.key).toString()).toBe(`queue/${String(b.response.createRevision).padStart(20, '0')}`);
  });
});

describe('elections over /v3/election', () => {
  it('campaign, leader, proclaim, observe (streaming) and resign, as etcd gateway answers them', async () => {
    const [leaseA, leaseB] = await Promise.all([grant(), grant()]);
    const controller = new AbortController();
    const observed: { key: string; value: string }[] = [];
    const observing = (async () => {
      const response = await fetch(new URL('/v3/election/observe', url), { method: 'POST', body: JSON.stringify({ name: b64('office') }), signal: controller.signal });
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
          const line = JSON.parse(buffered.slice(0, at)) as { result: unknown };
          buffered = buffered.slice(at + 1);
          const { kv } = decodeResponse('observe', line).response;
          observed.push({ key: Buffer.from(kv?.key ?? []).toString(), value: Buffer.from(kv?.value ?? []).toString() });
        }
      }
    })().catch(() => undefined);
    const a = await postJson(url, '/v3/election/campaign', { name: b64('office'), lease: leaseA, value: b64('alice') });
    const leaderA = a.body['leader'] as Record<string, string>;
    expect(Object.keys(leaderA).sort()).toEqual(['key', 'lease', 'name', 'rev']);
    expect(leaderA['lease']).toBe(leaseA);
    const b = postJson(url, '/v3/election/campaign', { name: b64('office'), lease: leaseB, value: b64('bob') }, 20_000);
    const bState = settled(b);
    const leader = await postJson(url, '/v3/election/leader', { name: b64('office') });
    expect(unb64((leader.body['kv'] as Record<string, string>)['value'])).toBe('alice');
    expect((await postJson(url, '/v3/election/proclaim', { leader: leaderA, value: b64('alice2') })).status).toBe(200);
    await expect.poll(() => observed.map((o) => o.value)).toEqual(['alice', 'alice2']);
    expect(bState.done).toBe(false);
    expect((await postJson(url, '/v3/election/resign', { leader: leaderA })).status).toBe(200);
    const leaderB = (await b).body['leader'] as Record<string, string>;
    expect(Number(leaderB['rev'])).toBeGreaterThan(Number(leaderA['rev']));
    await expect.poll(() => observed.map((o) => o.value)).toEqual(['alice', 'alice2', 'bob']);
    // The old term's proclaim and resign are refused.
    expect((await postJson(url, '/v3/election/proclaim', { leader: leaderA, value: b64('again') })).body['message']).toContain('election: not leader');
    expect((await postJson(url, '/v3/election/resign', { leader: leaderA })).body['message']).toContain('election: not leader');
    await postJson(url, '/v3/election/resign', { leader: leaderB });
    expect((await postJson(url, '/v3/election/leader', { name: b64('office') })).body['message']).toBe('election: no leader');
    controller.abort();
    await observing;
  });

  it('over the WebSocket API: lock as a call, observe as a stream', async () => {
    const connection = await WsConnection.connect(url, { wire: 'msgpack' });
    cleanups.push(() => connection.close());
    const lease = (await client.leaseGrant(60)).response.id;
    const locked = await connection.call('lock', { name: Buffer.from('ws-lock'), lease });
    expect(Buffer.from(locked.response.key).toString()).toMatch(/^ws-lock\//);
    const stream = connection.openStream('observe', (message) => decodeResponse('observe', { header: {}, ...(message as object) }), { name: Buffer.from('ws-office') } as never);
    const iterator = stream[Symbol.asyncIterator]();
    await connection.call('campaign', { name: Buffer.from('ws-office'), lease, value: Buffer.from('carol') });
    const first = await iterator.next();
    expect(Buffer.from(first.value?.response.kv?.value ?? []).toString()).toBe('carol');
    stream.close();
    // A lock waiting on a connection that closes withdraws its waiter key.
    const other = await WsConnection.connect(url, { wire: 'json' });
    const otherLease = (await client.leaseGrant(60)).response.id;
    const waiting = other.call('lock', { name: Buffer.from('ws-lock'), lease: otherLease });
    await expect.poll(() => keysUnder('ws-lock/')).toHaveLength(2);
    other.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ErrConnectionClosed' });
    await expect.poll(() => keysUnder('ws-lock/')).toEqual([Buffer.from(locked.response.key).toString()]);
  });

  it('the typed client: campaign with its own lease, observe, proclaim and resign', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const { kv } of client.observe('typed-office', { signal: controller.signal })) seen.push(Buffer.from(kv.value).toString());
    })().catch(() => undefined);
    const term = await client.campaign('typed-office', 'dora');
    await term.proclaim('dora2');
    await expect.poll(() => seen).toEqual(['dora', 'dora2']);
    await term.resign();
    await expect(client.leader('typed-office')).rejects.toMatchObject({ code: 'ErrElectionNoLeader' });
    controller.abort();
    await watching;
    void node;
  });
});
