// The coordination recipes of the embedded handle (embed.ts): locks, elections, the service registry and Snowflake
// worker IDs and segments, as typed calls on the same handlers the HTTP and WebSocket APIs dispatch to (api.ts),
// and for the two streams (observe, registry watch) the same generators their WebSocket streams read.

import type { CampaignResponse, LeaderKey } from '../protocol/election.js';
import { ConclaveError } from '../protocol/errors.js';
import type { KeyValue, ResponseHeader } from '../protocol/kv.js';
import type { LockResponse } from '../protocol/lock.js';
import type { RegistryDeregisterResponse, RegistryListRequest, RegistryListResponse, RegistryRegisterRequest } from '../protocol/registry.js';
import type { SegmentReserveResponse, WorkerAllocateResponse } from '../protocol/snowflake.js';
import type { Method, Requests, Responses } from '../protocol/api.js';
import type { RequestContext } from './api.js';
import { observeLeaders } from './election-api.js';
import type { Member } from './member.js';
import { watchRegistry, type RegistryBatch } from './registry-api.js';

export type Bytes = string | Uint8Array;
export const bytes = (value: Bytes): Uint8Array => (typeof value === 'string' ? new TextEncoder().encode(value) : value);

export type Call = <M extends Method>(method: M, request: Requests[M], context?: RequestContext) => Promise<{ header: ResponseHeader; response: Responses[M] }>;

/** How long a lock or a campaign waits (0 or absent: until it holds), and a signal that withdraws it. */
export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Locks (etcd's v3lock): the holder's key lives on its lease; the fence (the key's create revision) only grows. */
export interface NodeLocks {
  /** Waits until the lock is held; ErrLockTimeout after timeoutMs, ErrWaiterGone if the lease ends meanwhile. */
  lock(name: Bytes, lease: number, options?: WaitOptions): Promise<LockResponse & { header: ResponseHeader }>;
  unlock(key: Bytes): Promise<void>;
}

/** Leader election (etcd's v3election): a candidate's key lives on its lease; LeaderKey.rev names its term. */
export interface NodeElections {
  /** Waits until this candidate leads. */
  campaign(name: Bytes, value: Bytes, lease: number, options?: WaitOptions): Promise<CampaignResponse & { header: ResponseHeader }>;
  /** ErrElectionNotLeader once the term is over. */
  proclaim(leader: LeaderKey, value: Bytes): Promise<void>;
  /** The leader's key and value now, undefined when nobody leads. */
  leader(name: Bytes): Promise<KeyValue | undefined>;
  /** The current leader (once there is one), then each new leader or value. Break out, or abort `signal`, to end it. */
  observe(name: Bytes, options?: { signal?: AbortSignal }): AsyncGenerator<{ header: ResponseHeader; kv: KeyValue }>;
  resign(leader: LeaderKey): Promise<void>;
}

/** The service registry: instances live on their lease; discovery is a linearizable read at the header's revision. */
export interface NodeRegistry {
  register(request: RegistryRegisterRequest): Promise<{ header: ResponseHeader }>;
  /** deleted: 1 when the instance was registered, 0 when it was not. */
  deregister(service: string, instance: string): Promise<RegistryDeregisterResponse & { header: ResponseHeader }>;
  discover(service: string, options?: Omit<RegistryListRequest, 'service'>): Promise<RegistryListResponse & { header: ResponseHeader }>;
  /** The service's registrations, updates, health changes and deregistrations, a batch per revision. */
  watch(service: string, options?: { startRevision?: number; signal?: AbortSignal }): AsyncGenerator<RegistryBatch>;
}

/** Snowflake worker IDs bound to a lease (reusable only after its TTL and the clock-skew bound), and Leaf segments. */
export interface NodeSnowflake {
  /** The lowest free worker ID of the pool (workerCount: its size, default 1024). */
  allocateWorker(pool: string, lease: number, options?: { workerCount?: number }): Promise<WorkerAllocateResponse & { header: ResponseHeader }>;
  releaseWorker(pool: string, workerId: number, lease: number): Promise<void>;
  /** The block [start, start + count) of the named counter; no two reserves share a number. */
  reserveSegment(name: string, count: number): Promise<SegmentReserveResponse & { header: ResponseHeader }>;
}

export interface NodeRecipes {
  readonly lock: NodeLocks;
  readonly election: NodeElections;
  readonly registry: NodeRegistry;
  readonly snowflake: NodeSnowflake;
}

/** A response with its header beside its fields, as every call of the handle answers. */
export const withHeader = <R>({ header, response }: { header: ResponseHeader; response: R }): R & { header: ResponseHeader } => ({ ...response, header });

const waitOptions = ({ timeoutMs }: WaitOptions) => (timeoutMs === undefined ? {} : { timeoutMs });

export function recipesOf(member: Member, call: Call): NodeRecipes {
  return {
    lock: {
      lock: async (name, lease, options = {}) => withHeader(await call('lock', { name: bytes(name), lease, ...waitOptions(options) }, { signal: options.signal })),
      unlock: async (key) => {
        await call('unlock', { key: bytes(key) });
      },
    },
    election: {
      campaign: async (name, value, lease, options = {}) => withHeader(await call('campaign', { name: bytes(name), value: bytes(value), lease, ...waitOptions(options) }, { signal: options.signal })),
      proclaim: async (leader, value) => {
        await call('proclaim', { leader, value: bytes(value) });
      },
      leader: async (name) => {
        try {
          return (await call('leader', { name: bytes(name) })).response.kv;
        } catch (error) {
          if (error instanceof ConclaveError && error.code === 'ErrElectionNoLeader') return undefined;
          throw error;
        }
      },
      async *observe(name, options = {}) {
        // observeLeaders ends on its signal: this one is aborted when the caller's is, or when the loop ends.
        const stop = new AbortController();
        const abort = () => stop.abort();
        options.signal?.addEventListener('abort', abort);
        try {
          for await (const { header, response } of observeLeaders(member, { name: bytes(name) }, stop.signal)) if (response.kv !== undefined) yield { header, kv: response.kv };
        } finally {
          options.signal?.removeEventListener('abort', abort);
          stop.abort();
        }
      },
      resign: async (leader) => {
        await call('resign', { leader });
      },
    },
    registry: {
      register: async (request) => ({ header: (await call('registryRegister', request)).header }),
      deregister: async (service, instance) => withHeader(await call('registryDeregister', { service, instance })),
      discover: async (service, options = {}) => withHeader(await call('registryList', { ...options, service })),
      watch: (service, options = {}) => watchRegistry(member, { service, ...(options.startRevision === undefined ? {} : { startRevision: options.startRevision }) }, options.signal),
    },
    snowflake: {
      allocateWorker: async (pool, lease, options = {}) => withHeader(await call('workerAllocate', { pool, lease, ...options })),
      releaseWorker: async (pool, workerId, lease) => {
        await call('workerRelease', { pool, workerId, lease });
      },
      reserveSegment: async (name, count) => withHeader(await call('segmentReserve', { name, count })),
    },
  };
}
