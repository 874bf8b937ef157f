// `POST /v3/watch` on a running member, spoken as etcd's gateway documents it (curl's one create request in the
// body, lines of {"result":...} back), plus the parts curl does not show: several requests in one body, a bad
// request answered with an error line while the stream goes on, cancel, progress, and the JSON splitter.

import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConclaveNode } from '../../src/index.js';
import { JsonSplitter } from '../../src/server/http-watch.js';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { ctlBin } from '../support/ctl.js';
import { startSingleNode } from '../support/single-node.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string | undefined) => (text === undefined ? undefined : Buffer.from(text, 'base64').toString());

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function member(): Promise<{ node: ConclaveNode; url: string }> {
  const started = await startSingleNode();
  cleanups.push(started.close);
  return started;
}

/** An open watch call: write requests into its body, read its response lines. */
function openWatch(url: string) {
  const lines: any[] = [];
  let waiting: (() => void) | null = null;
  const req = request(new URL('/v3/watch', url), { method: 'POST', headers: { 'content-type': 'application/json' } });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        rest += chunk;
        const parts = rest.split('\n');
        rest = parts.pop() as string;
        for (const part of parts) if (part !== '') lines.push(JSON.parse(part));
        waiting?.();
      });
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  cleanups.push(() => void req.destroy());
  return {
    status,
    lines,
    send: (body: string) => req.write(body),
    end: () => req.end(),
    /** Waits until at least n lines arrived. */
    async until(n: number, timeoutMs = 5000): Promise<any[]> {
      const deadline = Date.now() + timeoutMs;
      while (lines.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out with ${lines.length} of ${n} lines: ${JSON.stringify(lines)}`);
        await new Promise<void>((resolve) => {
          waiting = resolve;
          setTimeout(resolve, 50);
        });
      }
      return lines;
    },
  };
}

describe('POST /v3/watch', () => {
  it('answers etcd’s documented curl request: created, then each put and delete as it is applied', async () => {
    const { node, url } = await member();
    const watch = openWatch(url);
    // As in etcd's gateway docs: curl -X POST -d '{"create_request": {"key":"Zm9v"} }' .../v3/watch
    watch.send(JSON.stringify({ create_request: { key: b64('foo') } }));
    watch.end();
    expect(await watch.status).toBe(200);
    const [created] = await watch.until(1);
    expect(created.result.created).toBe(true);
    expect(created.result.header.member_id).toBe(BigInt(`0x${node.id}`).toString(10));
    expect(created.result.watch_id).toBeUndefined(); // watch 0, left out as jsonpb does
    const put = await node.put('foo', 'bar');
    await node.put('other', 'x');
    await node.delete('foo');
    const lines = await watch.until(3);
    const [putLine, deleteLine] = lines.slice(1);
    expect(putLine.result.header.revision).toBe(String(put.header.revision));
    expect(putLine.result.events).toEqual([
      { kv: { key: b64('foo'), create_revision: String(put.header.revision), mod_revision: String(put.header.revision), version: '1', value: b64('bar') } },
    ]);
    expect(deleteLine.result.events).toEqual([{ type: 'DELETE', kv: { key: b64('foo'), mod_revision: String(put.header.revision + 2) } }]);
  });

  it('carries several watches in one body, replays from a past revision, and cancels on request', async () => {
    const { node, url } = await member();
    const first = await node.put('k/a', '1');
    await node.put('k/b', '2');
    const watch = openWatch(url);
    watch.send(`${JSON.stringify({ create_request: { key: b64('k/'), range_end: b64('k0'), start_revision: String(first.header.revision), prev_kv: true } })}\n`);
    watch.send(JSON.stringify({ create_request: { key: b64('k/b'), watch_id: '7' } }));
    const lines = await watch.until(3);
    expect(lines.filter((l) => l.result.created).map((l) => l.result.watch_id ?? '0')).toEqual(['0', '7']);
    const replayed = lines.find((l) => l.result.events !== undefined);
    expect(replayed.result.events.map((e: any) => unb64(e.kv.key))).toEqual(['k/a', 'k/b']);
    await node.put('k/b', '3');
    const after = await watch.until(5);
    const forB = after.slice(3);
    expect(forB.map((l) => [l.result.watch_id ?? '0', unb64(l.result.events[0].kv.value), unb64(l.result.events[0].prev_kv?.value)])).toEqual(
      expect.arrayContaining([
        ['0', '3', '2'],
        ['7', '3', undefined],
      ]),
    );
    watch.send(JSON.stringify({ cancel_request: { watch_id: '7' } }));
    await watch.until(6);
    expect(watch.lines[5].result).toMatchObject({ watch_id: '7', canceled: true });
    await node.put('k/b', '4');
    const last = await watch.until(7);
    expect(last[6].result.watch_id).toBeUndefined();
    expect(last).toHaveLength(7);
  });

  it('answers a bad request with an error line, and the stream goes on', async () => {
    const { node, url } = await member();
    const watch = openWatch(url);
    watch.send('{"create_request": {"key": "not base64!"}}\n{"nonsense": 1}\n{"create_request": {"key": "' + b64('x') + '"}}');
    const lines = await watch.until(3);
    expect(lines[0].error).toMatchObject({ error: 'invalid request field', code: 3 });
    expect(lines[1].error).toMatchObject({ error: 'unknown request field' });
    expect(lines[2].result.created).toBe(true);
    await node.put('x', 'y');
    expect((await watch.until(4))[3].result.events).toHaveLength(1);
  });

  it('refuses a duplicate watch ID and a compacted start revision as etcd does (created and canceled)', async () => {
    const { node, url } = await member();
    await node.put('a', '1');
    const second = await node.put('a', '2');
    await node.compact(second.header.revision);
    const watch = openWatch(url);
    watch.send(JSON.stringify({ create_request: { key: b64('a'), watch_id: '3' } }));
    watch.send(JSON.stringify({ create_request: { key: b64('a'), watch_id: '3' } }));
    watch.send(JSON.stringify({ create_request: { key: b64('a'), start_revision: '2' } }));
    const lines = await watch.until(4);
    expect(lines[1].result).toMatchObject({ watch_id: '-1', created: true, canceled: true, cancel_reason: expect.stringContaining('duplicate watch ID') });
    const compacted = lines.find((l) => l.result.canceled && l.result.compact_revision !== undefined);
    expect(compacted.result.compact_revision).toBe(String(second.header.revision));
  });

  it('answers a progress request with watch_id -1 and the current revision', async () => {
    const { node, url } = await member();
    const put = await node.put('p', '1');
    const watch = openWatch(url);
    watch.send(JSON.stringify({ create_request: { key: b64('q') } }));
    watch.send(JSON.stringify({ progress_request: {} }));
    const lines = await watch.until(2);
    expect(lines[1].result).toMatchObject({ watch_id: '-1', header: { revision: String(put.header.revision) } });
    expect(lines[1].result.events).toBeUndefined();
  });
});

describe('WebSocket /v3/watch (etcd’s websocket proxy frames)', () => {
  it('takes WatchRequest text frames and sends one {"result":...} frame per response; a bad frame gets an error frame', async () => {
    const { node, url } = await member();
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v3/watch`);
    const frames: any[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    cleanups.push(() => ws.terminate());
    const until = async (n: number) => {
      const deadline = Date.now() + 5000;
      while (frames.length < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      return frames;
    };
    ws.send('{"create_request": {"key": "not base64!"}}');
    ws.send(Buffer.from('{}'), { binary: true });
    ws.send(JSON.stringify({ create_request: { key: b64('ws'), prev_kv: true } }));
    await until(3);
    expect(frames[0].error).toMatchObject({ error: 'invalid request field' });
    expect(frames[1].error).toMatchObject({ error: 'request body is not valid JSON' });
    expect(frames[2].result.created).toBe(true);
    const put = await node.put('ws', '1');
    await node.put('ws', '2');
    await until(5);
    expect(frames[3].result.events).toEqual([
      { kv: { key: b64('ws'), create_revision: String(put.header.revision), mod_revision: String(put.header.revision), version: '1', value: b64('1') } },
    ]);
    expect(frames[4].result.events[0].prev_kv.value).toBe(b64('1'));
    ws.send(JSON.stringify({ cancel_request: { watch_id: '0' } }));
    await until(6);
    expect(frames[5].result).toMatchObject({ canceled: true });
    expect(node.clientAddresses.length).toBe(1);
  });

  it('answers an upgrade of another path with 404', async () => {
    const { url } = await member();
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v3/kv/range`);
    const status = await new Promise((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode)).once('error', () => resolve('error')));
    expect(status).toBe(404);
    ws.terminate();
  });
});

describe('conclavectl watch', () => {
  it('prints each event in etcdctl’s simple format, previous key and value first with --prev-kv', async () => {
    const { node, url } = await member();
    const child = spawn(process.execPath, [ctlBin(), '--endpoints', url, 'watch', 'a', '--prev-kv'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // The watch starts from the revision after the one it finds: wait until it is open.
    const opened = Date.now();
    while (node.clientAddresses.length > 0 && Date.now() - opened < 5000) {
      await node.put('probe', 'x');
      const reply = await fetch(new URL('/debug/vars', url)).then((r) => r.json() as Promise<{ watches?: number }>);
      if ((reply.watches ?? 0) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await node.put('a', '1');
    await node.put('a', '2');
    await node.delete('a');
    const deadline = Date.now() + 5000;
    const expected = 'PUT\na\n1\nPUT\na\n1\na\n2\nDELETE\na\n2\na\n\n';
    while (out.length < expected.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(out).toBe(expected);
    child.kill('SIGINT');
    expect(await new Promise((resolve) => child.once('exit', (code) => resolve(code)))).toBe(0);
  });
});

describe('JsonSplitter', () => {
  it('splits values across chunks and whitespace, strings with braces and escapes included', () => {
    const splitter = new JsonSplitter(1000);
    expect(splitter.push('{"a":"}{\\"",')).toEqual([]);
    expect(splitter.push('"b":[1,{}]} \n {"c":1}{"d"')).toEqual(['{"a":"}{\\"","b":[1,{}]}', '{"c":1}']);
    expect(splitter.push(':2}\n"s" 42 ')).toEqual(['{"d":2}', '"s"', '42']);
  });

  it('refuses a value above its bound', () => {
    const splitter = new JsonSplitter(16);
    expect(() => splitter.push('{"key":"' + 'x'.repeat(20))).toThrow(expect.objectContaining({ code: 'ErrRequestTooLarge' }));
  });
});
