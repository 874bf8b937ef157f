// The HTTP/JSON API, compatible with etcd 3.4's v3 gRPC gateway: POST the JSON of a request to its path, get the JSON
// of the response or etcd's error shape. Bodies are bounded (serverLimits.maxRequestBytes) and decoded strictly;
// nothing is proposed for a request that fails to decode. A follower sends membership changes to the leader. Watches
// are served as a streaming POST (http-watch.ts) and over a WebSocket upgrade of the same path (ws-watch.ts); Conclave's
// own WebSocket API, every method multiplexed on one connection, is an upgrade of WS_API_PATH (ws-api.ts).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverLimits } from '../limits.js';
import { ELECTION_OBSERVE_PATH, HEALTH_PATH, LEASE_KEEPALIVE_PATH, METHOD_ALIASES, METHOD_PATHS, WAITING_METHODS, WATCH_PATH, type Method } from '../protocol/api.js';
import { ConclaveError } from '../protocol/errors.js';
import { decodeRequest, encodeError, encodeHealth, encodeResponse, parseJsonBody } from '../protocol/json.js';
import { clientRequestOfHeaders } from '../protocol/request-id.js';
import { debugVarsOf, dispatch, healthOf } from './api.js';
import { serveKeepAlive, serveWatch } from './http-watch.js';
import { PEER_FAULTS_PATH, peerFaultsOf, setPeerFaults } from './peer-faults.js';
import { serveObserve } from './http-election.js';
import { WS_API_PATH } from '../protocol/ws-frames.js';
import { ApiSockets } from './ws-api.js';
import { WatchSockets } from './ws-watch.js';
import type { Logger } from './log.js';
import type { Member } from './member.js';
import { packageVersion } from './version.js';

const METHOD_OF_PATH = new Map<string, Method>([...Object.entries(METHOD_PATHS).map(([method, path]) => [path, method as Method] as const), ...Object.entries(METHOD_ALIASES)]);
const HEALTH_TIMEOUT_MS = 1000;

export interface ClientServer {
  readonly addresses: readonly { host: string; port: number }[];
  close(): Promise<void>;
}

export async function startClientServer(member: Member, listenUrls: readonly string[], log: Logger): Promise<ClientServer> {
  const servers: Server[] = [];
  const sockets = new WatchSockets(member);
  const apiSockets = new ApiSockets(member, log);
  const closeSockets = (): void => {
    sockets.close();
    apiSockets.close();
  };
  try {
    for (const url of listenUrls) {
      const { hostname, port } = new URL(url);
      // No server-wide request timeout: watch and keepalive bodies stay open for as long as the client streams;
      // a unary body has its own time to arrive (readBody).
      const server = createServer({ keepAlive: true, requestTimeout: 0 }, (req, res) => void serve(member, req, res, log));
      server.on('upgrade', (req, socket, head) => {
        const path = (req.url ?? '').split('?')[0];
        if (path === WATCH_PATH) sockets.upgrade(req, socket, head);
        else if (path === LEASE_KEEPALIVE_PATH) sockets.upgradeKeepAlive(req, socket, head);
        else if (path === WS_API_PATH) apiSockets.upgrade(req, socket, head);
        else socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      });
      server.maxConnections = serverLimits.maxClientConnections;
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(port), hostname.replace(/^\[|\]$/g, ''), () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
    }
  } catch (error) {
    closeSockets();
    await Promise.all(servers.map(closeServer));
    throw new Error(`cannot listen for clients: ${(error as Error).message}`);
  }
  return {
    addresses: servers.map((s) => {
      const address = s.address() as AddressInfo;
      return { host: address.address, port: address.port };
    }),
    close: () => {
      closeSockets();
      return Promise.all(servers.map(closeServer)).then(() => {});
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function serve(member: Member, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  try {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (path === HEALTH_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new ConclaveError('ErrMethodNotAllowed');
      const health = await healthOf(member, HEALTH_TIMEOUT_MS);
      send(res, health.health ? 200 : 503, encodeHealth(health));
      return;
    }
    if (path === '/debug/kvhash') {
      // A digest of the key-value pairs, to compare members at the same revision (as etcd's HashKV).
      send(res, 200, await member.kv.hash(member.backendReader));
      return;
    }
    if (path === '/debug/statehash') {
      // A digest of every record of the replicated state, to compare members at the same applied index.
      send(res, 200, await member.stateDigest());
      return;
    }
    if (path === '/debug/vars') {
      send(res, 200, debugVarsOf(member));
      return;
    }
    if (path === PEER_FAULTS_PATH && member.peerFaults !== null) {
      if (req.method === 'POST') setPeerFaults(member.peerFaults, parseJsonBody((await readBody(req)).toString('utf8')));
      else if (req.method !== 'GET') throw new ConclaveError('ErrMethodNotAllowed', `${req.method ?? ''} ${path}: use GET or POST`);
      send(res, 200, peerFaultsOf(member.peerFaults));
      return;
    }
    if (path === '/version') {
      send(res, 200, { etcdserver: '3.4.0', etcdcluster: '3.4.0', conclave: packageVersion() });
      return;
    }
    if (path === WATCH_PATH) {
      if (req.method !== 'POST') throw new ConclaveError('ErrMethodNotAllowed', `${req.method ?? ''} ${path}: use POST`);
      serveWatch(member, req, res);
      return;
    }
    if (path === LEASE_KEEPALIVE_PATH) {
      if (req.method !== 'POST') throw new ConclaveError('ErrMethodNotAllowed', `${req.method ?? ''} ${path}: use POST`);
      serveKeepAlive(member, req, res);
      return;
    }
    const method = METHOD_OF_PATH.get(path);
    if (method === undefined) throw new ConclaveError('ErrNotFound', path);
    if (req.method !== 'POST') throw new ConclaveError('ErrMethodNotAllowed', `${req.method ?? ''} ${path}: use POST`);
    const body = await readBody(req);
    const parsed = body.length === 0 ? {} : parseJsonBody(body.toString('utf8'));
    if (path === ELECTION_OBSERVE_PATH) {
      await serveObserve(member, parsed, req, res);
      return;
    }
    const request = decodeRequest(method, parsed);
    const client = clientRequestOfHeaders(req.headers);
    const { header, response } = await dispatch(member, method, request, { ...(client === undefined ? {} : { client }), ...callerSignal(method, res) });
    send(res, 200, encodeResponse(method, header, response as never));
  } catch (error) {
    const conclaveError = error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', (error as Error).message);
    if (conclaveError.code === 'ErrInternal') log.error('request failed', { url: req.url, error });
    if (!res.headersSent) send(res, conclaveError.httpStatus, encodeError(conclaveError));
    else res.destroy();
  }
}

/** A call that waits (a lock, a campaign) withdraws when its caller goes away before the answer; others need no signal. */
function callerSignal(method: Method, res: ServerResponse): { signal?: AbortSignal } {
  if (!WAITING_METHODS.has(method)) return {};
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  return { signal: gone.signal };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  // Headers as a flat array: Node copies them as they are, with no per-key normalization.
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(text))]);
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > serverLimits.maxRequestBytes) {
    req.resume();
    return Promise.reject(tooLarge(declared));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const timer = setTimeout(() => {
      reject(new ConclaveError('ErrTimeout', `the request body did not arrive within 2 x serverLimits.requestTimeoutMs (${2 * serverLimits.requestTimeoutMs} ms)`));
      req.destroy();
    }, 2 * serverLimits.requestTimeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > serverLimits.maxRequestBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(bytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

const tooLarge = (bytes: number) =>
  new ConclaveError('ErrRequestTooLarge', `body of ${bytes} bytes or more exceeds serverLimits.maxRequestBytes (${serverLimits.maxRequestBytes})`);
