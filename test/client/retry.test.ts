// The client's writes that must not apply twice, its cancellation and deadlines, its member discovery and routing
// to the leader, and the typed txn builder, against scripted members (fake-server.ts).

import { afterEach, describe, expect, it } from 'vitest';
import { Client, compare, connect, op } from '../../src/client/index.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import type { Member } from '../../src/protocol/cluster.js';
import { failure, fixtures, type FakeServer } from './fake-server.js';

const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

const { server, track, cleanup } = fixtures<Client>();

/** Resolves once `server` has received `count` requests. */
async function received(server: FakeServer, count: number): Promise<void> {
  while (server.received.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
}

afterEach(cleanup);

describe('writes retried without applying twice', () => {
  it('sends a put whose answer was lost again with the same ID, and the member answers it without applying it again', async () => {
    const member = await server();
    let puts = 0;
    member.override = (method) => (method === 'put' && ++puts === 1 ? 'applyThenDrop' : undefined);
    const c = track(new Client({ endpoints: [member.url] }));
    const { header } = await c.put('k', 'v');
    expect(member.version('k')).toBe(1);
    expect(header.revision).toBe(2);
    const sent = member.received.filter((r) => r.method === 'put');
    expect(sent).toHaveLength(2);
    expect(sent[1]?.requestId).toBe(sent[0]?.requestId);
    expect(sent[1]?.retrySince).toBe('0');
  });

  it('gives each write its own ID', async () => {
    const member = await server();
    const c = track(new Client({ endpoints: [member.url] }));
    await c.put('a', '1');
    await c.put('a', '2');
    await c.delete('a');
    await c.get('a');
    const ids = member.received.map((r) => r.requestId);
    expect(ids.slice(0, 3).every((id) => id !== undefined)).toBe(true);
    expect(new Set(ids.slice(0, 3)).size).toBe(3);
    // Reads carry none.
    expect(ids[3]).toBeUndefined();
  });

  it('passes on ErrRequestIdExpired (outcome unknown) rather than sending the write yet again', async () => {
    const member = await server();
    let puts = 0;
    member.override = (method) => {
      if (method !== 'put') return undefined;
      puts++;
      return puts === 1 ? (response) => response.socket?.destroy() : new ConclaveError('ErrRequestIdExpired', 'forgotten');
    };
    const c = track(new Client({ endpoints: [member.url] }));
    const error = await failure(c.put('k', 'v'));
    expect(error.code).toBe('ErrRequestIdExpired');
    expect(puts).toBe(2);
  });
});

describe('cancellation and deadlines', () => {
  it('rejects a call aborted before it starts with ErrCanceled, sending nothing', async () => {
    const member = await server();
    const c = track(new Client({ endpoints: [member.url] }));
    const error = await failure(c.put('k', 'v', { signal: AbortSignal.abort() }));
    expect(error.code).toBe('ErrCanceled');
    expect(error.message).toContain('it was not sent, so it was not applied');
    expect(member.received).toHaveLength(0);
  });

  it('rejects a write aborted in flight with ErrCanceled saying it may have been applied, and frees its connection', async () => {
    const member = await server();
    member.override = () => 'stall';
    const c = track(new Client({ endpoints: [member.url] }));
    const controller = new AbortController();
    const pending = failure(c.put('k', 'v', { signal: controller.signal }));
    await received(member, 1);
    expect(member.openConnections).toBe(1);
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('ErrCanceled');
    expect(error.message).toContain('may or may not have been applied');
    while (member.openConnections > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Not sent again.
    expect(member.received).toHaveLength(1);
  });

  it('rejects an aborted read with ErrCanceled, and an aborted watch ends', async () => {
    const member = await server();
    member.override = () => 'stall';
    const c = track(new Client({ endpoints: [member.url] }));
    const controller = new AbortController();
    const pending = failure(c.get('k', { prefix: true, signal: controller.signal }));
    await received(member, 1);
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('ErrCanceled');
    expect(error.message).toContain('a read');
  });

  it('fails a call that outlives its timeoutMs with ErrTimeout, over all its attempts', async () => {
    const stalled = await server();
    const other = await server();
    stalled.override = () => 'stall';
    other.override = () => 'stall';
    const c = track(new Client({ endpoints: [stalled.url, other.url], requestTimeoutMs: 60_000 }));
    const error = await failure(c.get('k', { timeoutMs: 100 }));
    expect(error.code).toBe('ErrTimeout');
    expect(error.message).toContain('100 ms');
    const write = await failure(c.put('k', 'v', { timeoutMs: 100 }));
    expect(write.code).toBe('ErrTimeout');
    expect(write.message).toContain('may or may not have been applied');
  });
});

function memberOf(id: string, server: FakeServer): Member {
  return { id, name: id, peerUrls: [], clientUrls: [server.url], isLearner: false };
}

describe('member discovery and leader-aware routing', () => {
  it('learns the other members from the one endpoint it was given, and sends writes and linearizable reads to the leader', async () => {
    const [seed, follower, leader] = [await server(), await server(), await server()];
    const members = [memberOf('000000000000000a', seed), memberOf('000000000000000b', follower), memberOf('000000000000000c', leader)];
    for (const [i, s] of [seed, follower, leader].entries()) {
      s.members = members;
      s.memberId = members[i]?.id ?? '';
      s.status = { ...s.status, leader: '000000000000000c' };
    }
    const c = track(await connect({ endpoints: [seed.url] }));
    expect(c.endpoints).toEqual([seed.url, follower.url, leader.url]);
    expect(c.leaderEndpoint).toBe(leader.url);
    await c.put('k', 'v');
    await c.get('k');
    await c.txn().then(op.put('t', '1')).commit();
    expect(leader.received.map((r) => r.method)).toEqual(['put', 'range', 'txn']);
    // A serializable read goes to the one that last answered (the leader here) without asking it to be the leader.
    await c.get('k', { serializable: true });
    // When the leader stops answering, writes move on, and the next refresh names the new leader.
    await leader.close();
    for (const s of [seed, follower]) s.status = { ...s.status, leader: '000000000000000b' };
    await c.put('k', 'v2');
    await c.sync();
    expect(c.leaderEndpoint).toBe(follower.url);
    await c.put('k', 'v3');
    expect(follower.received.filter((r) => r.method === 'put').length + seed.received.filter((r) => r.method === 'put').length).toBe(2);
    expect(follower.received.at(-1)?.method).toBe('put');
  });

  it('forgets the leader when an answer comes from a newer term', async () => {
    const [a, b] = [await server(), await server()];
    const members = [memberOf('000000000000000a', a), memberOf('000000000000000b', b)];
    for (const s of [a, b]) {
      s.members = members;
      s.status = { ...s.status, leader: '000000000000000b', raftTerm: 2 };
    }
    const c = track(await connect({ endpoints: [a.url] }));
    expect(c.leaderEndpoint).toBe(b.url);
    b.raftTerm = 3;
    await c.put('k', 'v');
    expect(c.leaderEndpoint).toBeNull();
  });

  it('starts the next request at another endpoint after one timed out, even when the failed call was not sent again', async () => {
    const [cutOff, healthy] = [await server(), await server()];
    cutOff.override = () => 'stall';
    const c = track(new Client({ endpoints: [cutOff.url, healthy.url], requestTimeoutMs: 300 }));
    // A member removal is neither deduplicated nor harmless to repeat, so its loss ends the call at the first
    // endpoint (as a lease renewal's does).
    expect((await failure(c.memberRemove('8e9e05c52164694d'))).code).toBe('ErrTimeout');
    expect(c.currentEndpoint).toBe(healthy.url);
    await c.get('k');
    expect(cutOff.received).toHaveLength(1);
    expect(healthy.received.map((r) => r.method)).toEqual(['range']);
  });

  it('keeps the given endpoints, in order, without discovery (as etcdctl)', async () => {
    const [a, b] = [await server(), await server()];
    a.members = [memberOf('000000000000000b', b)];
    const c = track(new Client({ endpoints: [a.url] }));
    await c.put('k', 'v');
    expect(c.endpoints).toEqual([a.url]);
    expect(a.received.map((r) => r.method)).toEqual(['put']);
  });

  it('works with the given endpoints when discovery finds nothing', async () => {
    const a = await server();
    const c = track(await connect({ endpoints: [a.url] }));
    await c.put('k', 'v');
    expect(c.endpoints).toEqual([a.url]);
    expect(c.leaderEndpoint).toBeNull();
  });
});

describe('the txn builder', () => {
  it('takes the then branch when every compare holds, with each response typed by its op', async () => {
    const member = await server();
    member.seed('k', 'v');
    member.seed('k', 'v');
    member.seed('k', 'v');
    const c = track(new Client({ endpoints: [member.url] }));
    const outcome = await c
      .txn()
      .if(compare.value('k', '=', 'v'), compare.version('k', '>', 2))
      .then(op.put('k', 'v2', { prevKv: true }), op.get('k'))
      .else(op.get('k'))
      .commit();
    expect(outcome.succeeded).toBe(true);
    if (!outcome.succeeded) return;
    const [put, get] = outcome.responses;
    expect(text(put.prevKv?.value)).toBe('v');
    expect(text(get.kvs[0]?.value)).toBe('v2');
    expect(member.value('k')).toBe('v2');
  });

  it('takes the else branch when a compare fails', async () => {
    const member = await server();
    member.seed('k', 'v');
    const c = track(new Client({ endpoints: [member.url] }));
    const outcome = await c.txn().if(compare.version('k', '>', 5)).then(op.delete('k')).else(op.get('k'), op.delete('other', { prevKv: true })).commit();
    expect(outcome.succeeded).toBe(false);
    if (outcome.succeeded) return;
    expect(text(outcome.responses[0].kvs[0]?.value)).toBe('v');
    expect(outcome.responses[1].deleted).toBe(0);
    expect(member.value('k')).toBe('v');
  });

  it('builds the request etcd expects, and refuses a builder used out of order', async () => {
    const member = await server();
    const c = track(new Client({ endpoints: [member.url] }));
    const builder = c.txn().if(compare.modRevision('p/', '<', 9, { prefix: true }), compare.lease('k', '!=', 0), compare.createRevision('k', '=', 0));
    const request = builder.then(op.get('p/', { prefix: true, limit: 2 })).request();
    expect(request.compare.map((x) => [x.target, x.result])).toEqual([
      ['mod', 'less'],
      ['lease', 'not_equal'],
      ['create', 'equal'],
    ]);
    expect([...(request.compare[0]?.rangeEnd ?? [])]).toEqual([...Buffer.from('p0')]);
    const range = (request.success[0] as { requestRange: { key: Uint8Array; rangeEnd: Uint8Array; limit: number } }).requestRange;
    expect([text(range.key), text(range.rangeEnd), range.limit]).toEqual(['p/', 'p0', 2]);
    expect(() => c.txn().then().if()).toThrow(/if\(\) after then\(\)/);
    expect(() => c.txn().else().then()).toThrow(ConclaveError);
    expect(() => compare.value('k', '>=' as '>', 'v')).toThrow(/use =, !=, > or </);
  });

  it('takes a signal like every call', async () => {
    const member = await server();
    const c = track(new Client({ endpoints: [member.url] }));
    const error = await failure(c.txn().then(op.put('k', 'v')).commit({ signal: AbortSignal.abort() }));
    expect(error.code).toBe('ErrCanceled');
  });
});
