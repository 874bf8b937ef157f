// Clusters embedded in the test's process: a single member serving the HTTP and WebSocket API on a free loopback
// port, or several members talking over loopback peer ports, with their data directories in a temp dir; both are
// removed by the cleanups the caller runs after each test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, type ConclaveNode } from '../../src/index.js';
import { freePort } from './process-cluster.js';

/** Run in reverse order after each test (or file), so that members close before their directories go. */
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

/** `count` members in this process (names m0, m1, ...), peers on free loopback ports, no client URLs. */
export async function startLocalCluster(cleanups: Cleanups, count: number, timing: { heartbeatIntervalMs: number; electionTimeoutMs: number }): Promise<ConclaveNode[]> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-cluster-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const peerPorts: number[] = [];
  for (let i = 0; i < count; i++) peerPorts.push(await freePort());
  const initialCluster = peerPorts.map((port, i) => `m${i}=http://127.0.0.1:${port}`).join(',');
  const nodes = await Promise.all(
    peerPorts.map((port, i) =>
      startNode({
        name: `m${i}`,
        dataDir: join(dir, `m${i}`),
        listenPeerUrls: [`http://127.0.0.1:${port}`],
        initialAdvertisePeerUrls: [`http://127.0.0.1:${port}`],
        initialCluster,
        ...timing,
      }),
    ),
  );
  cleanups.push(() => Promise.all(nodes.map((node) => node.close())).then(() => undefined));
  return nodes;
}
