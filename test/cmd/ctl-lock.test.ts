// `conclavectl lock` and `elect` against one member: lock runs a command while holding the lock (etcd's and
// Conclave's environment variables set, its output passed through, its exit code returned) and releases it after;
// without a command it prints the key and holds until SIGINT; elect prints the leader's key and value and resigns
// on SIGINT; elect --listen prints each new leader.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { startLocalNode, type Cleanups } from '../support/local-node.js';
import { ctlBin } from '../support/ctl.js';
import { ctl } from './ctl-helpers.js';

const cleanups: Cleanups = [];
let url: string;
let client: Client;

beforeAll(async () => {
  ({ url } = await startLocalNode(cleanups, 'conclave-ctl-lock-'));
  client = new Client({ endpoints: [url] });
  cleanups.push(() => client.close());
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const run = (args: readonly string[]) => ctl(['--endpoints', url, ...args]);
const keysUnder = async (prefix: string) => (await client.get(prefix, { prefix: true })).response.kvs.map((kv) => Buffer.from(kv.key).toString());

/** The built conclavectl as a process, with what it printed so far. */
function started(args: readonly string[]): { child: ChildProcessWithoutNullStreams; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [ctlBin(), '--endpoints', url, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => void child.kill('SIGKILL'));
  return { child, out: () => out, exited };
}

describe('conclavectl lock', () => {
  it('runs the command while holding the lock, with the lock key and revisions in its environment, and releases it', async () => {
    const script = 'console.log([process.env.ETCD_LOCK_KEY, process.env.ETCD_LOCK_REV, process.env.CONCLAVE_LOCK_KEY, process.env.CONCLAVE_LOCK_REV].join(" ")); process.exit(3)';
    const result = await run(['lock', 'job', '--ttl', '5', '--', process.execPath, '-e', script]);
    expect(result.code).toBe(3);
    const [etcdKey, etcdRev, key, fence] = result.stdout.trim().split(' ');
    expect(key).toMatch(/^job\/\d{20}$/);
    expect(etcdKey).toBe(key);
    expect(Number(fence)).toBe(Number(key?.slice(4)));
    expect(Number(etcdRev)).toBeGreaterThanOrEqual(Number(fence));
    expect(await keysUnder('job/')).toEqual([]);
  });

  it('waits while another holds the lock; without a command prints the key and holds it until SIGINT', async () => {
    const held = await client.lock('door');
    const waiting = started(['lock', 'door']);
    await expect.poll(() => keysUnder('door/'), { timeout: 10_000 }).toHaveLength(2);
    expect(waiting.out()).toBe('');
    await held.unlock();
    await expect.poll(() => waiting.out(), { timeout: 10_000 }).toMatch(/^door\/\d{20}\n$/);
    expect(await keysUnder('door/')).toEqual([waiting.out().trim()]);
    waiting.child.kill('SIGINT');
    expect(await waiting.exited).toBe(0);
    expect(await keysUnder('door/')).toEqual([]);
  });

  it('refuses a lock without a name', async () => {
    expect(await run(['lock'])).toMatchObject({ code: 1, stderr: expect.stringContaining('lock takes a lock name argument') });
  });
});

describe('conclavectl elect', () => {
  it('campaigns, prints the leader key and value, resigns on SIGINT; --listen prints each new leader', async () => {
    const listener = started(['elect', '--listen', 'office']);
    const alice = started(['elect', 'office', 'alice']);
    await expect.poll(() => alice.out(), { timeout: 10_000 }).toMatch(/^office\/\d{20}\nalice\n$/);
    const bob = started(['elect', 'office', 'bob']);
    await expect.poll(() => keysUnder('office/'), { timeout: 10_000 }).toHaveLength(2);
    expect(bob.out()).toBe('');
    alice.child.kill('SIGINT');
    expect(await alice.exited).toBe(0);
    await expect.poll(() => bob.out(), { timeout: 10_000 }).toMatch(/^office\/\d{20}\nbob\n$/);
    await expect.poll(() => listener.out(), { timeout: 10_000 }).toBe(`${alice.out()}${bob.out()}`);
    bob.child.kill('SIGINT');
    listener.child.kill('SIGINT');
    expect(await bob.exited).toBe(0);
    expect(await listener.exited).toBe(0);
    expect(await keysUnder('office/')).toEqual([]);
  });

  it('refuses elect without a proposal, or --listen with one', async () => {
    expect(await run(['elect', 'office'])).toMatchObject({ code: 1, stderr: expect.stringContaining('elect takes one election name') });
    expect(await run(['elect', '--listen', 'office', 'x'])).toMatchObject({ code: 1 });
  });
});
