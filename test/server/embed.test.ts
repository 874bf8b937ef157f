// Conclave embedded in an application: startNode() runs a member in this process; its handle reads and writes with
// etcd's semantics, keeps its data across a restart, and can also serve other processes over HTTP.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConclaveError, startNode, type ConclaveNode } from '../../src/index.js';
import { get, put } from '../support/http-json.js';
import { freePort } from '../support/process-cluster.js';

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString());

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function single(dataDir: string, extra: Parameters<typeof startNode>[0] = {}): Promise<ConclaveNode> {
  const peerPort = await freePort();
  const node = await startNode({
    dataDir,
    listenPeerUrls: [`http://127.0.0.1:${peerPort}`],
    initialCluster: `default=http://127.0.0.1:${peerPort}`,
    heartbeatIntervalMs: 20,
    electionTimeoutMs: 200,
    ...extra,
  });
  cleanups.push(() => node.close());
  return node;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-embed-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('startNode', () => {
  it('runs a single-member cluster in-process with etcd semantics', async () => {
    const node = await single(join(tempDir(), 'data'));
    expect(node.id).toMatch(/^[0-9a-f]{16}$/);
    const first = await node.put('config/a', '1');
    const second = await node.put('config/b', '2', { prevKv: true });
    expect(second.header.revision).toBe(first.header.revision + 1);
    expect(second.prevKv).toBeUndefined();
    const replaced = await node.put('config/a', '3', { prevKv: true });
    expect(text(replaced.prevKv?.value)).toBe('1');

    const kv = await node.get('config/a');
    expect(text(kv?.value)).toBe('3');
    expect(kv?.version).toBe(2);
    expect(kv?.createRevision).toBe(first.header.revision);
    const all = await node.range({ key: Buffer.from('config/'), rangeEnd: Buffer.from('config0') });
    expect(all.kvs.map((k) => text(k.key))).toEqual(['config/a', 'config/b']);
    expect(all.count).toBe(2);

    const swapped = await node.txn({
      compare: [{ key: Buffer.from('config/a'), target: 'value', result: 'equal', value: Buffer.from('3') }],
      success: [{ requestPut: { key: Buffer.from('config/c'), value: Buffer.from('swapped') } }],
      failure: [],
    });
    expect(swapped.succeeded).toBe(true);
    expect(text((await node.get('config/c'))?.value)).toBe('swapped');

    const deleted = await node.delete('config/', { rangeEnd: 'config0', prevKv: true });
    expect(deleted.deleted).toBe(3);
    expect(deleted.prevKvs.map((k) => text(k.key))).toEqual(['config/a', 'config/b', 'config/c']);
    expect(await node.get('config/a')).toBeUndefined();

    const status = await node.status();
    expect(status.leader).toBe(node.id);
    expect(status.raftAppliedIndex).toBeGreaterThan(0);
    expect((await node.members()).members.map((m) => m.id)).toEqual([node.id]);
  });

  it('returns errors as values with codes, and past revisions until they are compacted', async () => {
    const node = await single(join(tempDir(), 'data'));
    const { header } = await node.put('k', 'old');
    await node.put('k', 'new');
    const past = await node.range({ key: Buffer.from('k'), revision: header.revision });
    expect(text(past.kvs[0]?.value)).toBe('old');
    await node.compact(header.revision + 1);
    const compacted = await node.range({ key: Buffer.from('k'), revision: header.revision }).catch((error: unknown) => error);
    expect(compacted).toBeInstanceOf(ConclaveError);
    expect((compacted as ConclaveError).code).toBe('ErrCompacted');
    const future = await node.range({ key: Buffer.from('k'), revision: header.revision + 100 }).catch((error: unknown) => error);
    expect((future as ConclaveError).code).toBe('ErrFutureRev');
    const missing = await node.put('absent', '', { ignoreValue: true } as never).catch((error: unknown) => error);
    expect((missing as ConclaveError).code).toBe('ErrKeyNotFound');
  });

  it('keeps its data across a restart on the same directory', async () => {
    const dataDir = join(tempDir(), 'data');
    const first = await single(dataDir);
    await first.put('durable', 'yes');
    const { id } = first;
    await first.close();
    cleanups.pop();
    const second = await single(dataDir);
    expect(second.id).toBe(id);
    expect(text((await second.get('durable'))?.value)).toBe('yes');
  });

  it('serves other processes over HTTP when given client URLs', async () => {
    const clientPort = await freePort();
    const url = `http://127.0.0.1:${clientPort}`;
    const node = await single(join(tempDir(), 'data'), { listenClientUrls: [url] });
    expect(node.clientAddresses).toEqual([{ host: '127.0.0.1', port: clientPort }]);
    expect((await put(url, 'shared', 'over-http')).status).toBe(200);
    expect(text((await node.get('shared'))?.value)).toBe('over-http');
    expect((await get(url, 'shared')).value).toBe('over-http');
  });

  it('serves a digest of the key-value pairs and one of the whole state, which also sees leases', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const node = await single(join(tempDir(), 'data'), { listenClientUrls: [url] });
    const digest = async (path: string) => (await fetch(new URL(path, url))).json() as Promise<{ hash: number; revision?: number; appliedIndex?: number }>;
    await node.put('k', 'v');
    await expect.poll(async () => (await digest('/debug/statehash')).appliedIndex).toBe((await node.status()).raftAppliedIndex);
    const [kvBefore, stateBefore] = [await digest('/debug/kvhash'), await digest('/debug/statehash')];
    // A lease is state without a revision: the KV digest cannot see it, the state digest does once it is durable.
    await node.lease.grant(60);
    await expect.poll(async () => (await digest('/debug/statehash')).appliedIndex).toBe((stateBefore.appliedIndex ?? 0) + 1);
    expect((await digest('/debug/statehash')).hash).not.toBe(stateBefore.hash);
    expect(await digest('/debug/kvhash')).toEqual(kvBefore);
  });

  it('refuses invalid options with the flag they map to', async () => {
    await expect(startNode({ dataDir: join(tempDir(), 'd'), heartbeatIntervalMs: 500, electionTimeoutMs: 100 })).rejects.toThrow(/--election-timeout/);
  });

  it('watches in-process: past revisions first, then each change as it is applied, until the loop breaks', async () => {
    const node = await single(join(tempDir(), 'data'));
    const first = await node.put('w/a', '1');
    await node.put('w/b', '2');
    const seen: string[] = [];
    const watching = (async () => {
      for await (const { header, events } of node.watch('w/', { rangeEnd: 'w0', startRevision: first.header.revision, prevKv: true })) {
        for (const e of events) seen.push(`${e.type} ${text(e.kv.key)}=${text(e.kv.value)}@${e.kv.modRevision}${e.prevKv ? ` prev=${text(e.prevKv.value)}` : ''} h${header.revision}`);
        if (seen.length === 4) break;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const third = await node.put('w/a', '3');
    await node.delete('w/b');
    await watching;
    const r = first.header.revision;
    // Replayed events come in one batch whose header is the revision when they were replayed, as etcd's are.
    expect(seen).toEqual([`PUT w/a=1@${r} h${r + 1}`, `PUT w/b=2@${r + 1} h${r + 1}`, `PUT w/a=3@${r + 2} prev=1 h${r + 2}`, `DELETE w/b=@${r + 3} prev=2 h${r + 3}`]);
    expect(third.header.revision).toBe(r + 2);
  });

  it('ends an in-process watch from a compacted revision with ErrCompacted, and one whose signal is aborted', async () => {
    const node = await single(join(tempDir(), 'data'));
    await node.put('c', '1');
    const second = await node.put('c', '2');
    await node.compact(second.header.revision);
    const compacted = (async () => {
      for await (const _ of node.watch('c', { startRevision: 1 })) void _;
    })();
    await expect(compacted).rejects.toMatchObject({ code: 'ErrCompacted' });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    const batches: unknown[] = [];
    for await (const batch of node.watch('c', { signal: stop.signal })) batches.push(batch);
    expect(batches).toEqual([]);
  });

  it('sends periodic progress to a watch that asks for it, at the configured interval', async () => {
    const peerPort = await freePort();
    const clientPort = await freePort();
    const url = `http://127.0.0.1:${clientPort}`;
    const node = await single(join(tempDir(), 'data'), { listenClientUrls: [url], watchProgressNotifyIntervalMs: 100, listenPeerUrls: [`http://127.0.0.1:${peerPort}`], initialCluster: `default=http://127.0.0.1:${peerPort}` });
    const put = await node.put('p', '1');
    const response = await fetch(new URL('/v3/watch', url), { method: 'POST', body: JSON.stringify({ create_request: { key: Buffer.from('q').toString('base64'), progress_notify: true } }) });
    const reader = response.body!.getReader();
    let text = '';
    const deadline = Date.now() + 5000;
    while (text.split('\n').filter((l) => l !== '').length < 3 && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const [created, first, second] = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l).result);
    expect(created.created).toBe(true);
    for (const progress of [first, second]) {
      expect(progress.events).toBeUndefined();
      expect(progress.watch_id).toBeUndefined();
      expect(progress.header.revision).toBe(String(put.header.revision));
    }
  });
});

describe('the recipes on the embedded handle', () => {
  it('locks: FIFO hand-over with fences that grow, a timeout, and a signal that withdraws the waiter', async () => {
    const node = await single(join(tempDir(), 'data'));
    const [a, b, c] = await Promise.all([node.lease.grant(60), node.lease.grant(60), node.lease.grant(60)]);
    const first = await node.lock.lock('job', a.id);
    expect(text(first.key)).toMatch(/^job\/\d{20}$/);
    expect(first.fence).toBe(first.header.revision);
    const second = node.lock.lock('job', b.id);
    await expect(node.lock.lock('job', c.id, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'ErrLockTimeout' });
    const stop = new AbortController();
    const withdrawn = node.lock.lock('job', c.id, { signal: stop.signal }).catch((error: unknown) => error);
    await expect.poll(async () => (await node.range({ key: Buffer.from('job/'), rangeEnd: Buffer.from('job0') })).count).toBe(3);
    stop.abort();
    expect(await withdrawn).toBeInstanceOf(ConclaveError);
    await expect.poll(async () => (await node.range({ key: Buffer.from('job/'), rangeEnd: Buffer.from('job0') })).count).toBe(2);
    await node.lock.unlock(first.key);
    const held = await second;
    expect(held.fence).toBeGreaterThan(first.fence);
    await node.lock.unlock(held.key);
    expect((await node.range({ key: Buffer.from('job/'), rangeEnd: Buffer.from('job0') })).count).toBe(0);
  });

  it('elections: campaign, leader, proclaim, observe and resign, and a term that is over is refused', async () => {
    const node = await single(join(tempDir(), 'data'));
    const [a, b] = await Promise.all([node.lease.grant(60), node.lease.grant(60)]);
    expect(await node.election.leader('e')).toBeUndefined();
    const { leader: one } = await node.election.campaign('e', 'one', a.id);
    expect(text((await node.election.leader('e'))?.value)).toBe('one');
    const seen: string[] = [];
    const stop = new AbortController();
    const observing = (async () => {
      for await (const { kv } of node.election.observe('e', { signal: stop.signal })) seen.push(text(kv.value) as string);
    })();
    await expect.poll(() => seen).toEqual(['one']);
    await node.election.proclaim(one, 'uno');
    const two = node.election.campaign('e', 'two', b.id);
    await expect.poll(() => seen).toEqual(['one', 'uno']);
    await node.election.resign(one);
    expect((await two).leader.rev).toBeGreaterThan(one.rev);
    await expect.poll(() => seen).toEqual(['one', 'uno', 'two']);
    await expect(node.election.proclaim(one, 'stale')).rejects.toMatchObject({ code: 'ErrElectionNotLeader' });
    stop.abort();
    await observing;
  });

  it('registry: register, discover, watch and deregister; a revoke deregisters; plain writes there are refused', async () => {
    const node = await single(join(tempDir(), 'data'));
    const { id: lease } = await node.lease.grant(60);
    const { header } = await node.registry.register({ service: 'web', instance: 'w1', address: '10.0.0.1', port: 80, lease, tags: ['blue'] });
    const events: string[] = [];
    const watching = (async () => {
      for await (const batch of node.registry.watch('web', { startRevision: header.revision })) {
        for (const e of batch.events) events.push(`${e.type} ${e.instance.instance}@${e.revision}`);
        if (events.length === 4) break;
      }
    })();
    await node.registry.register({ service: 'web', instance: 'w2', address: '10.0.0.2', port: 80, lease });
    const blue = await node.registry.discover('web', { tags: ['blue'] });
    expect(blue.instances.map((i) => i.instance)).toEqual(['w1']);
    expect(blue.header.revision).toBe(header.revision + 1);
    expect((await node.registry.deregister('web', 'w2')).deleted).toBe(1);
    expect((await node.registry.deregister('web', 'w2')).deleted).toBe(0);
    await expect(node.put(`\0registry/web/w1`, 'forged')).rejects.toMatchObject({ code: 'ErrReservedKey' });
    await node.lease.revoke(lease);
    await watching;
    const r = header.revision;
    expect(events).toEqual([`registered w1@${r}`, `registered w2@${r + 1}`, `deregistered w2@${r + 2}`, `deregistered w1@${r + 3}`]);
    expect((await node.registry.discover('web', { includeUnhealthy: true })).instances).toEqual([]);
    expect(() => node.registry.watch('not a name')).toThrow(ConclaveError);
  });

  it('snowflake: the lowest free worker ID, not reused while it cools, and segments that never overlap', async () => {
    const node = await single(join(tempDir(), 'data'));
    const [a, b] = await Promise.all([node.lease.grant(60), node.lease.grant(60)]);
    const first = await node.snowflake.allocateWorker('ids', a.id, { workerCount: 4 });
    expect(first.workerId).toBe(0);
    expect((await node.snowflake.allocateWorker('ids', b.id, { workerCount: 4 })).workerId).toBe(1);
    await expect(node.snowflake.releaseWorker('ids', 0, b.id)).rejects.toMatchObject({ code: 'ErrWorkerNotHeld' });
    await node.snowflake.releaseWorker('ids', 0, a.id);
    // ID 0 cools for the lease's TTL and the skew bound: the next allocation takes 2.
    expect((await node.snowflake.allocateWorker('ids', a.id, { workerCount: 4 })).workerId).toBe(2);
    const one = await node.snowflake.reserveSegment('orders', 10);
    const two = await node.snowflake.reserveSegment('orders', 5);
    expect([one.start, one.count, two.start, two.count]).toEqual([0, 10, 10, 5]);
    expect(two.header.revision).toBe(one.header.revision);
  });
});
