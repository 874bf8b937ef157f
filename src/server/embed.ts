// Conclave in-process: `startNode()` runs a member inside an application, which then uses it as its coordination
// backend through a typed handle (the same handlers the HTTP API calls; the recipes' calls are in
// embed-recipes.ts), and may serve other processes over HTTP too.

import type { Method, Requests, Responses } from '../protocol/api.js';
import type { MemberListResponse, StatusResponse } from '../protocol/cluster.js';
import { ConclaveError } from '../protocol/errors.js';
import type { DeleteRangeResponse, KeyValue, PutResponse, RangeRequest, RangeResponse, ResponseHeader, TxnRequest, TxnResponse } from '../protocol/kv.js';
import type { LeaseGrantResponse, LeaseTimeToLiveResponse } from '../protocol/lease.js';
import type { WatchCreateRequest } from '../protocol/watch.js';
import { handlers, type RequestContext } from './api.js';
import { bytes, recipesOf, withHeader, type Bytes, type Call, type NodeRecipes } from './embed-recipes.js';
import { localWatch, type LocalWatchBatch } from './local-watch.js';
import { formatConfigErrors, resolveServerConfig, type LogLevel, type RawFlags } from './config.js';
import { createLogger, silentLogger } from './log.js';
import { startServer, type RunningServer } from './server.js';

export interface NodeOptions {
  readonly name?: string;
  readonly dataDir?: string;
  /** URLs to serve the HTTP API on; none (the default) serves only this process. */
  readonly listenClientUrls?: readonly string[];
  readonly advertiseClientUrls?: readonly string[];
  readonly listenPeerUrls?: readonly string[];
  readonly initialAdvertisePeerUrls?: readonly string[];
  /** "name=peerURL,..." as --initial-cluster. */
  readonly initialCluster?: string;
  readonly initialClusterState?: 'new' | 'existing';
  readonly initialClusterToken?: string;
  readonly heartbeatIntervalMs?: number;
  readonly electionTimeoutMs?: number;
  readonly snapshotCount?: number;
  /** Interval of progress notifications to watches that ask for them (default 10 minutes). */
  readonly watchProgressNotifyIntervalMs?: number;
  /** Logs go to stderr as JSON lines at this level; none by default. */
  readonly logLevel?: LogLevel;
}

/** Locks, elections, the registry and Snowflake IDs are `node.lock`, `node.election`, `node.registry`, `node.snowflake` (NodeRecipes). */
export interface ConclaveNode extends NodeRecipes {
  readonly id: string;
  readonly clusterId: string;
  /** Where the HTTP API listens (empty when it serves only this process). */
  readonly clientAddresses: readonly { host: string; port: number }[];
  /** `context.client`: a request ID for a write, by which it applies at most once however often it is sent. */
  call<M extends Method>(method: M, request: Requests[M], context?: RequestContext): Promise<{ header: ResponseHeader; response: Responses[M] }>;
  get(key: Bytes, options?: Omit<RangeRequest, 'key'>): Promise<KeyValue | undefined>;
  range(request: RangeRequest): Promise<RangeResponse & { header: ResponseHeader }>;
  put(key: Bytes, value: Bytes, options?: { lease?: number; prevKv?: boolean }): Promise<PutResponse & { header: ResponseHeader }>;
  delete(key: Bytes, options?: { rangeEnd?: Bytes; prevKv?: boolean }): Promise<DeleteRangeResponse & { header: ResponseHeader }>;
  txn(request: TxnRequest): Promise<TxnResponse & { header: ResponseHeader }>;
  compact(revision: number): Promise<void>;
  status(): Promise<StatusResponse>;
  members(): Promise<MemberListResponse>;
  /**
   * Watches a key or, with rangeEnd, a range, from startRevision (default: the next revision): each revision's
   * events as the member applies them. Break out of the loop, or abort `signal`, to end it.
   */
  watch(key: Bytes, options?: Omit<WatchCreateRequest, 'key' | 'rangeEnd' | 'watchId' | 'fragment'> & { rangeEnd?: Bytes; signal?: AbortSignal }): AsyncGenerator<LocalWatchBatch>;
  /** Leases: grant (TTL in seconds, raised to the cluster's minimum), revoke, one renewal, time to live, list. */
  readonly lease: {
    grant(ttlSeconds: number, options?: { id?: number }): Promise<LeaseGrantResponse>;
    revoke(id: number): Promise<void>;
    /** The renewed TTL, 0 when the lease does not exist. */
    keepAliveOnce(id: number): Promise<number>;
    timeToLive(id: number, options?: { keys?: boolean }): Promise<LeaseTimeToLiveResponse>;
    list(): Promise<readonly number[]>;
  };
  /** Resolves when the member stopped (close(), an unrecoverable error, or removal from the cluster). */
  readonly stopped: Promise<{ readonly error: Error | null; readonly removed: boolean }>;
  close(): Promise<void>;
}

export async function startNode(options: NodeOptions = {}): Promise<ConclaveNode> {
  const flags: Record<string, string> = {};
  const set = (flag: string, value: string | number | readonly string[] | undefined) => {
    if (value !== undefined) flags[flag] = Array.isArray(value) ? value.join(',') : String(value);
  };
  set('name', options.name);
  set('data-dir', options.dataDir);
  set('listen-client-urls', options.listenClientUrls ?? []);
  set('advertise-client-urls', options.advertiseClientUrls ?? options.listenClientUrls);
  set('listen-peer-urls', options.listenPeerUrls);
  set('initial-advertise-peer-urls', options.initialAdvertisePeerUrls ?? options.listenPeerUrls);
  set('initial-cluster', options.initialCluster);
  set('initial-cluster-state', options.initialClusterState);
  set('initial-cluster-token', options.initialClusterToken);
  set('heartbeat-interval', options.heartbeatIntervalMs);
  set('election-timeout', options.electionTimeoutMs);
  set('snapshot-count', options.snapshotCount);
  set('experimental-watch-progress-notify-interval', options.watchProgressNotifyIntervalMs === undefined ? undefined : `${options.watchProgressNotifyIntervalMs}ms`);
  set('log-level', options.logLevel);
  if (flags['listen-client-urls'] === '') delete flags['listen-client-urls'];
  const resolved = resolveServerConfig(flags as RawFlags, {});
  if (!resolved.ok) throw new Error(formatConfigErrors(resolved.errors));
  const serveClients = (options.listenClientUrls ?? []).length > 0;
  const log = options.logLevel === undefined ? silentLogger : createLogger(options.logLevel);
  const server = await startServer(resolved.config, log, { serveClients });
  return handleOf(server);
}

function handleOf(server: RunningServer): ConclaveNode {
  const { member } = server;
  const call: Call = <M extends Method>(method: M, request: Requests[M], context: RequestContext = {}) =>
    (handlers[method] as (m: typeof member, r: Requests[M], c: RequestContext) => Promise<{ header: ResponseHeader; response: Responses[M] }>)(member, request, context);
  return {
    ...recipesOf(member, call),
    id: member.id,
    clusterId: member.clusterId,
    clientAddresses: server.clientAddresses,
    call,
    async get(key, options = {}) {
      const { response } = await call('range', { ...options, key: bytes(key), limit: 1 });
      return response.kvs[0];
    },
    range: async (request) => withHeader(await call('range', request)),
    put: async (key, value, options = {}) => withHeader(await call('put', { key: bytes(key), value: bytes(value), ...options })),
    async delete(key, options = {}) {
      const request = { key: bytes(key), ...(options.rangeEnd === undefined ? {} : { rangeEnd: bytes(options.rangeEnd) }), prevKv: options.prevKv === true };
      return withHeader(await call('deleteRange', request));
    },
    txn: async (request) => withHeader(await call('txn', request)),
    async compact(revision) {
      await call('compact', { revision });
    },
    async status() {
      return (await call('status', {})).response;
    },
    async members() {
      return (await call('memberList', {})).response;
    },
    watch(key, options = {}) {
      const { rangeEnd, signal, ...rest } = options;
      return localWatch(member, { ...rest, key: bytes(key), ...(rangeEnd === undefined ? {} : { rangeEnd: bytes(rangeEnd) }) }, signal);
    },
    lease: {
      grant: async (ttl, options = {}) => (await call('leaseGrant', options.id === undefined ? { ttl } : { ttl, id: options.id })).response,
      revoke: async (id) => {
        await call('leaseRevoke', { id });
      },
      keepAliveOnce: async (id) => (await call('leaseKeepAlive', { id })).response.ttl,
      timeToLive: async (id, options = {}) => (await call('leaseTimeToLive', { id, keys: options.keys === true })).response,
      list: async () => (await call('leaseLeases', {})).response.leases.map((lease) => lease.id),
    },
    stopped: server.stopped,
    close: () => server.close(),
  };
}

export { ConclaveError };
