// A single-member cluster embedded in the test's process, serving the HTTP and WebSocket API on a free loopback port,
// with its data directory in a temp dir; both are removed by the cleanups the caller runs after each test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, type ConclaveNode } from '../../src/index.js';
import { freePort } from './process-cluster.js';

export type Cleanups = (() => Promise<void> | void)[];

export async function startLocalNode(cleanups: Cleanups, prefix = 'conclave-node-'): Promise<{ node: ConclaveNode; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const [peerPort, clientPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const node = await startNode({
    dataDir: join(dir, 'data'),
    listenPeerUrls: [`http://127.0.0.1:${peerPort}`],
    initialCluster: `default=http://127.0.0.1:${peerPort}`,
    listenClientUrls: [url],
    heartbeatIntervalMs: 20,
    electionTimeoutMs: 200,
  });
  cleanups.push(() => node.close());
  return { node, url };
}
