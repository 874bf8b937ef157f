// Locks and elections in the client: the member waits (lock and campaign answer once held or elected); the client
// brings the lease when the caller gives none (granted and kept alive, revoked on release, as etcd's concurrency
// session), and observes an election over its resilient watch.

import type { KeyValue, ResponseHeader } from '../protocol/kv.js';
import { sameLeader, type LeaderKey } from '../protocol/election.js';
import { clientLimits } from '../limits.js';
import type { Client } from './client.js';
import { toBytes, type Bytes } from './keys.js';
import type { KeptLease } from './lease.js';

export interface RecipeOptions {
  /** The lease to bind the key to; without it the client grants one of `ttlSeconds` and keeps it alive. */
  readonly lease?: number;
  /** TTL of the lease the client grants (clientLimits.recipeLeaseTtlSeconds by default). */
  readonly ttlSeconds?: number;
  /** Give up waiting after this long: ErrLockTimeout, with the waiter's key deleted (try-lock). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A lock this client holds. */
export interface HeldLock {
  readonly key: Uint8Array;
  /** The fencing token: guard writes with `compare('create', key, '=', fence)` (see docs/api.md). */
  readonly fence: number;
  readonly lease: number;
  readonly header: ResponseHeader;
  /** The lease the client granted for the lock (emits `lost` when the lock may be lost with it); undefined when the caller gave one. */
  readonly keptLease: KeptLease | undefined;
  /** Releases the lock (and revokes the lease the client granted for it). */
  unlock(): Promise<void>;
}

/** A term of office this client holds in an election. */
export interface Leadership {
  readonly leader: LeaderKey;
  readonly header: ResponseHeader;
  readonly keptLease: KeptLease | undefined;
  proclaim(value: Bytes): Promise<void>;
  /** Steps down (and revokes the lease the client granted for it). */
  resign(): Promise<void>;
}

async function withLease<T>(client: Client, options: RecipeOptions, run: (lease: number, kept: KeptLease | undefined) => Promise<T>): Promise<T> {
  if (options.lease !== undefined) return run(options.lease, undefined);
  const kept = await client.lease(options.ttlSeconds ?? clientLimits.recipeLeaseTtlSeconds);
  try {
    return await run(kept.id, kept);
  } catch (error) {
    await kept.revoke().catch(() => undefined);
    throw error;
  }
}

const callOptions = (options: RecipeOptions) => (options.signal === undefined ? {} : { signal: options.signal });

export function acquireLock(client: Client, name: Bytes, options: RecipeOptions = {}): Promise<HeldLock> {
  return withLease(client, options, async (lease, kept) => {
    const timeoutMs = options.timeoutMs ?? 0;
    const { header, response } = await client.call('lock', timeoutMs === 0 ? { name: toBytes(name), lease } : { name: toBytes(name), lease, timeoutMs }, callOptions(options));
    return {
      key: response.key,
      fence: response.fence,
      lease,
      header,
      keptLease: kept,
      unlock: async () => {
        await client.call('unlock', { key: response.key });
        await kept?.revoke();
      },
    };
  });
}

export function campaign(client: Client, name: Bytes, value: Bytes, options: RecipeOptions = {}): Promise<Leadership> {
  return withLease(client, options, async (lease, kept) => {
    const timeoutMs = options.timeoutMs ?? 0;
    const request = { name: toBytes(name), lease, value: toBytes(value) };
    const { header, response } = await client.call('campaign', timeoutMs === 0 ? request : { ...request, timeoutMs }, callOptions(options));
    const leader = response.leader;
    return {
      leader,
      header,
      keptLease: kept,
      proclaim: async (next) => {
        await client.call('proclaim', { leader, value: toBytes(next) });
      },
      resign: async () => {
        await client.call('resign', { leader });
        await kept?.revoke();
      },
    };
  });
}

/** The first candidate under the election's prefix (the leader), with the header of the read. */
async function currentLeader(client: Client, prefix: Uint8Array, signal: AbortSignal | undefined): Promise<{ header: ResponseHeader; kv: KeyValue | undefined }> {
  const { header, response } = await client.get(prefix, { prefix: true, sortOrder: 'ascend', sortTarget: 'create', limit: 1, signal });
  return { header, kv: response.kvs[0] };
}

/**
 * The leaders of an election as they change: the current one first (once there is one), then one per new leader
 * or new value, over the client's watch of the election's keys (which resumes on another member when one fails).
 */
export async function* observeElection(client: Client, name: Bytes, options: { readonly signal?: AbortSignal } = {}): AsyncGenerator<{ header: ResponseHeader; kv: KeyValue }> {
  const bytes = toBytes(name);
  const prefix = new Uint8Array(bytes.length + 1);
  prefix.set(bytes, 0);
  prefix[bytes.length] = 0x2f;
  const first = await currentLeader(client, prefix, options.signal);
  let last = first.kv;
  if (last !== undefined) yield { header: first.header, kv: last };
  for await (const batch of client.watch(prefix, { prefix: true, startRevision: first.header.revision + 1, signal: options.signal })) {
    void batch;
    const now = await currentLeader(client, prefix, options.signal);
    const changed = now.kv !== undefined && !sameLeader(now.kv, last);
    last = now.kv;
    if (changed && now.kv !== undefined) yield { header: now.header, kv: now.kv };
  }
}
