// The recipes as a program holds them: an instance kept registered while its lease is kept alive, and a Snowflake
// generator holding a worker ID of a pool through its own lease. Closing either gives its worker ID or
// registration back at once (a release or a deregistration, then the lease's revoke); a process that dies without
// closing loses them when its lease expires.

import type { RegistryRegisterRequest } from '../protocol/registry.js';
import type { Client } from './client.js';
import type { KeptLease } from './lease.js';
import { DEFAULT_LAYOUT, SegmentAllocator, SnowflakeGenerator, type GeneratorOptions } from './snowflake.js';

export interface KeptRegistration {
  readonly lease: KeptLease;
  /** Deregisters the instance and revokes its lease. */
  close(): Promise<void>;
}

/** Grants a lease of `ttlSeconds`, registers the instance under it and keeps the lease alive. */
export async function keepRegistered(client: Client, instance: Omit<RegistryRegisterRequest, 'lease'>, ttlSeconds: number): Promise<KeptRegistration> {
  const lease = await client.lease(ttlSeconds);
  try {
    await client.registryRegister({ ...instance, lease: lease.id });
  } catch (error) {
    await lease.revoke().catch(() => undefined);
    throw error;
  }
  return {
    lease,
    close: async () => {
      lease.close();
      await client.registryDeregister(instance.service, instance.instance).catch(() => undefined);
      await client.leaseRevoke(lease.id).catch(() => undefined);
    },
  };
}

export interface SnowflakeWorker {
  readonly generator: SnowflakeGenerator;
  readonly lease: KeptLease;
  readonly pool: string;
  /** Stops the generator (its lease is no longer kept), releases the worker ID and revokes the lease. */
  close(): Promise<void>;
}

/** Allocates a worker ID of `pool` under a new lease of `ttlSeconds` and makes a generator with it. */
export async function snowflakeWorker(client: Client, pool: string, ttlSeconds: number, options: Omit<GeneratorOptions, 'notBeforeMs'> = {}): Promise<SnowflakeWorker> {
  const layout = options.layout ?? DEFAULT_LAYOUT;
  const lease = await client.lease(ttlSeconds);
  let allocated;
  try {
    allocated = (await client.workerAllocate(pool, lease.id, 2 ** layout.workerBits)).response;
  } catch (error) {
    await lease.revoke().catch(() => undefined);
    throw error;
  }
  let closed = false;
  const guarded = { id: lease.id, get alive() { return !closed && lease.alive; } };
  const generator = new SnowflakeGenerator(allocated.workerId, guarded, { ...options, layout, notBeforeMs: allocated.notBeforeMs });
  return {
    generator,
    lease,
    pool,
    close: async () => {
      closed = true;
      lease.close();
      await client.workerRelease(pool, allocated.workerId, lease.id).catch(() => undefined);
      await client.leaseRevoke(lease.id).catch(() => undefined);
    },
  };
}

/** IDs from the named counter, `blockSize` reserved per write. */
export function segmentAllocator(client: Client, name: string, blockSize: number): SegmentAllocator {
  return new SegmentAllocator(async (count) => (await client.segmentReserve(name, count)).response, blockSize);
}
