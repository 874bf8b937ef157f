import { afterEach, describe, expect, it } from 'vitest';
import { Client, isReadOnly, keyRange, prefixEnd } from '../../src/client/index.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import { closedEndpoint, failure, fixtures } from './fake-server.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

const { server, track, cleanup } = fixtures<Client>();

function client(endpoints: readonly string[], options: { requestTimeoutMs?: number; maxResponseBytes?: number } = {}): Client {
  return track(new Client({ endpoints, ...options }));
}

afterEach(cleanup);

describe('Client against one endpoint', () => {
  it('puts, gets, ranges by prefix and deletes, with the header of the answer', async () => {
    const member = await server();
    const c = client([member.url]);
    const put = await c.put('a/1', 'one');
    expect(put.header).toEqual({ clusterId: '00000000000000c1', memberId: '000000000000000a', revision: 2, raftTerm: 2 });
    await c.put('a/2', new Uint8Array([0xff, 0x00]));
    await c.put('b', 'other');
    const one = await c.get('a/1');
    expect(one.response.kvs.map((kv) => [text(kv.key), text(kv.value), kv.version, kv.modRevision])).toEqual([['a/1', 'one', 1, 2]]);
    const prefixed = await c.get('a/', { prefix: true });
    expect(prefixed.response.kvs.map((kv) => text(kv.key))).toEqual(['a/1', 'a/2']);
    expect([...(prefixed.response.kvs[1]?.value ?? [])]).toEqual([0xff, 0x00]);
    const deleted = await c.delete('a/', { prefix: true, prevKv: true });
    expect(deleted.response.deleted).toBe(2);
    expect(deleted.response.prevKvs.map((kv) => text(kv.key))).toEqual(['a/1', 'a/2']);
    expect(member.value('b')).toBe('other');
  });

  it('reuses one keep-alive connection for sequential requests', async () => {
    const member = await server();
    const c = client([member.url]);
    for (let i = 0; i < 5; i++) await c.put(`k${i}`, 'v');
    await c.get('k0');
    expect(member.received).toHaveLength(6);
    expect(new Set(member.received.map((r) => r.connection))).toEqual(new Set([1]));
    expect(member.connections).toBe(1);
  });

  it('closes its kept-alive connections on close()', async () => {
    const member = await server();
    const c = new Client({ endpoints: [member.url] });
    await c.put('k', 'v');
    expect(member.openConnections).toBe(1);
    c.close();
    for (let waited = 0; member.openConnections > 0 && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(member.openConnections).toBe(0);
  });

  it('opens more connections for concurrent requests, and reuses them afterwards', async () => {
    const member = await server();
    const c = client([member.url]);
    await Promise.all([1, 2, 3, 4].map((i) => c.put(`k${i}`, 'v')));
    const opened = member.connections;
    expect(opened).toBeGreaterThan(1);
    await Promise.all([1, 2, 3, 4].map((i) => c.get(`k${i}`)));
    expect(member.connections).toBe(opened);
  });

  it('returns the server error as a ConclaveError value with its code, and does not send it elsewhere', async () => {
    const member = await server();
    const other = await server();
    const c = client([member.url, other.url]);
    const error = await failure(c.put('missing', '', { ignoreValue: true }));
    expect(error.code).toBe('ErrKeyNotFound');
    expect(error.message).toBe('etcdserver: key not found');
    expect(other.received).toHaveLength(0);
  });

  it('refuses to read a response larger than its bound, whether announced or streamed', async () => {
    const member = await server();
    member.seed('big', 'x'.repeat(4000));
    const c = client([member.url], { maxResponseBytes: 1000 });
    const announced = await failure(c.get('big'));
    expect(announced.code).toBe('ErrResponseTooLarge');
    // 4000 bytes of value are 5336 of base64, plus the rest of the answer.
    const announcedBytes = /^response is larger than the client accepts: range from \S+: the answer has (\d+) bytes, more than the 1000 this client reads$/.exec(announced.message);
    expect(Number(announcedBytes?.[1])).toBeGreaterThan(5336);
    member.override = () => (response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"header":{},"kvs":[');
      response.end(`${'{"key":"YQ=="},'.repeat(200)}{"key":"YQ=="}]}`);
    };
    const streamed = await failure(c.get('big'));
    expect(streamed.code).toBe('ErrResponseTooLarge');
    // Within the bound the same streamed answer is read.
    const roomy = client([member.url], { maxResponseBytes: 10_000 });
    expect((await roomy.get('big')).response.kvs).toHaveLength(201);
  });

  it('reads status and health of the named endpoint, healthy (200) or not (503)', async () => {
    const member = await server();
    const c = client([await closedEndpoint()]);
    const status = await c.status(member.url);
    expect(status.response.version).toBe('3.4.0');
    expect(status.response.leader).toBe(member.memberId);
    expect(await c.health(member.url)).toEqual({ health: true, reason: '' });
    member.health = { health: false, reason: 'no leader' };
    expect(await c.health(member.url)).toEqual({ health: false, reason: 'no leader' });
  });

  it('names the one endpoint it was asked to use when that one is down, without trying others', async () => {
    const member = await server();
    const down = await closedEndpoint();
    const c = client([member.url]);
    const error = await failure(c.status(down));
    expect(error.code).toBe('ErrUnreachable');
    expect(error.message).toContain(down);
    expect(error.message).toContain('ECONNREFUSED');
    expect(member.received).toHaveLength(0);
  });
});

describe('Client failover', () => {
  it('moves on when the first endpoint refuses connections, then stays with the one that worked', async () => {
    const down = await closedEndpoint();
    const member = await server();
    const c = client([down, member.url]);
    await c.put('k', 'v');
    expect(member.value('k')).toBe('v');
    expect(c.currentEndpoint).toBe(member.url);
    expect((await c.get('k')).response.kvs).toHaveLength(1);
    expect(member.received.map((r) => r.method)).toEqual(['put', 'range']);
  });

  it('moves on when a member answers that it has no leader (a write was not applied there)', async () => {
    const leaderless = await server();
    const member = await server();
    leaderless.override = () => new ConclaveError('ErrNoLeader');
    const c = client([leaderless.url, member.url]);
    await c.put('k', 'v');
    expect(leaderless.received.map((r) => r.method)).toEqual(['put']);
    expect(member.value('k')).toBe('v');
    expect(leaderless.value('k')).toBeUndefined();
    await c.put('k2', 'v');
    expect(leaderless.received).toHaveLength(1);
  });

  it.each(['ErrStopped', 'ErrUnhealthy', 'ErrLeaderChanged'] as const)('moves on after %s', async (code) => {
    const refusing = await server();
    const member = await server();
    refusing.override = () => new ConclaveError(code);
    const c = client([refusing.url, member.url]);
    await c.put('k', 'v');
    expect(member.value('k')).toBe('v');
  });

  it('moves on past a proxy answering 502 with a text body', async () => {
    const proxy = await server();
    const member = await server();
    proxy.override = () => (response) => {
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end('Bad Gateway');
    };
    const c = client([proxy.url, member.url]);
    expect((await c.put('k', 'v')).header.revision).toBe(2);
  });

  it('reports the cluster error when every member answers without a leader', async () => {
    const a = await server();
    const b = await server();
    a.override = () => new ConclaveError('ErrNoLeader');
    b.override = () => new ConclaveError('ErrNoLeader');
    const error = await failure(client([a.url, b.url]).put('k', 'v'));
    expect(error.code).toBe('ErrNoLeader');
    expect(error.message).toBe('etcdserver: no leader');
  });

  it('fails with ErrUnreachable naming every endpoint when none can be reached', async () => {
    const first = await closedEndpoint();
    const second = await closedEndpoint();
    const error = await failure(client([first, second]).get('k'));
    expect(error).toBeInstanceOf(ConclaveError);
    expect(error.code).toBe('ErrUnreachable');
    expect(error.message).toMatch(/^no endpoint could be reached: /);
    expect(error.message).toContain(first);
    expect(error.message).toContain(second);
  });

  it('sends a put that timed out on a stalled member to the next one, with the same request ID, marked as a retry', async () => {
    const stalled = await server();
    const member = await server();
    member.revision = 40;
    const c = client([member.url, stalled.url], { requestTimeoutMs: 200 });
    await c.get('seen');
    stalled.override = () => 'stall';
    member.override = (method) => (method === 'put' && member.received.filter((r) => r.method === 'put').length === 1 ? 'stall' : undefined);
    await c.put('k', 'v');
    const puts = [...member.received, ...stalled.received].filter((r) => r.method === 'put');
    expect(puts).toHaveLength(3);
    const [first, ...retries] = puts;
    expect(first?.requestId).toMatch(/^[0-9a-f]{16}\.[0-9a-z]+$/);
    expect(first?.retrySince).toBeUndefined();
    for (const retry of retries) {
      expect(retry.requestId).toBe(first?.requestId);
      expect(retry.retrySince).toBe('40');
    }
    expect(member.version('k')).toBe(1);
  });

  it('does not send a membership change again when the connection drops after it was sent: ErrTimeout, outcome unknown', async () => {
    const dropping = await server();
    const member = await server();
    dropping.override = () => (response) => response.socket?.destroy();
    const c = client([dropping.url, member.url]);
    const error = await failure(c.memberAdd(['http://127.0.0.1:1']));
    expect(error.code).toBe('ErrTimeout');
    expect(error.message).toContain('not sent again');
    expect(member.received).toHaveLength(0);
  });

  it('reports a keepalive lost at a member that does not answer as of unknown outcome, not as unreachable', async () => {
    // A member that stalls (SIGSTOP, a full disk) applies the keepalive when it resumes: the caller must not take
    // it as never sent.
    const stalled = await server();
    stalled.override = () => 'stall';
    const c = track(new Client({ endpoints: [stalled.url], requestTimeoutMs: 300 }));
    const error = await failure(c.call('leaseKeepAlive', { id: 7 }, { endpoint: stalled.url, timeoutMs: 2000 }));
    expect(error.code).toBe('ErrTimeout');
    expect(error.message).toContain('may or may not have been applied');
    expect(stalled.received).toHaveLength(1);
  });

  it('gives up on a write after clientLimits.maxWriteRetries retries: ErrTimeout, applied at most once', async () => {
    const dropping = await server();
    dropping.override = () => (response) => response.socket?.destroy();
    const c = track(new Client({ endpoints: [dropping.url], maxWriteRetries: 2 }));
    for (const call of [() => c.delete('k'), () => c.compact(5), () => c.txn({ compare: [], success: [{ requestPut: { key: Buffer.from('k'), value: Buffer.from('v') } }], failure: [] })]) {
      const error = await failure(call());
      expect(error.code).toBe('ErrTimeout');
      expect(error.message).toContain('sent 3 times with request ID');
    }
    const ids = dropping.received.map((r) => r.requestId);
    expect(ids).toHaveLength(9);
    expect(new Set(ids).size).toBe(3);
  });

  it('sends a read to the next member after a timeout, and read-only txns count as reads', async () => {
    const stalled = await server();
    const member = await server();
    member.seed('k', 'v');
    stalled.override = () => 'stall';
    const c = client([stalled.url, member.url], { requestTimeoutMs: 200 });
    expect(text((await c.get('k')).response.kvs[0]?.value ?? new Uint8Array())).toBe('v');
    const readOnly = { compare: [], success: [{ requestRange: { key: Buffer.from('k') } }], failure: [] };
    const other = client([stalled.url, member.url], { requestTimeoutMs: 200 });
    expect((await other.txn(readOnly)).response.succeeded).toBe(true);
  });
});

describe('client helpers', () => {
  it('computes prefix ends and key ranges as etcd clientv3 does', () => {
    expect([...prefixEnd(Buffer.from('ab'))]).toEqual([0x61, 0x63]);
    expect([...prefixEnd(Uint8Array.of(0x61, 0xff, 0xff))]).toEqual([0x62]);
    expect([...prefixEnd(Uint8Array.of(0xff))]).toEqual([0]);
    expect(keyRange('', { prefix: true })).toEqual({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) });
    expect(keyRange('a', { fromKey: true })).toEqual({ key: Uint8Array.of(0x61), rangeEnd: Uint8Array.of(0) });
    expect(() => keyRange('a', { prefix: true, fromKey: true })).toThrow(ConclaveError);
  });

  it('tells reads from writes', () => {
    expect(isReadOnly('range', { key: Uint8Array.of(1) })).toBe(true);
    // Renews the lease: harmless to send again, but not a read (see below).
    expect(isReadOnly('leaseKeepAlive', { id: 1 })).toBe(false);
    expect(isReadOnly('put', { key: Uint8Array.of(1), value: Uint8Array.of() })).toBe(false);
    const nested = { compare: [], success: [{ requestTxn: { compare: [], success: [], failure: [{ requestDeleteRange: { key: Uint8Array.of(1) } }] } }], failure: [] };
    expect(isReadOnly('txn', nested)).toBe(false);
    expect(isReadOnly('txn', { compare: [], success: [{ requestRange: { key: Uint8Array.of(1) } }], failure: [] })).toBe(true);
  });

  it('refuses a client with no endpoints or a bad one', () => {
    expect(() => new Client({ endpoints: [] })).toThrow(ConclaveError);
    expect(() => new Client({ endpoints: ['ftp://x:1'] })).toThrow(/not http or https/);
  });
});
