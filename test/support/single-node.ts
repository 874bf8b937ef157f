// A one-member cluster in this process (startNode) on free loopback ports and a temporary data directory.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, type ConclaveNode } from '../../src/index.js';
import { freePort } from './process-cluster.js';

/** Starts the member; `close` stops it and removes its directory. */
export async function startSingleNode(): Promise<{ node: ConclaveNode; url: string; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-single-'));
  const [peerPort, clientPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  try {
    const node = await startNode({
      dataDir: join(dir, 'data'),
      listenPeerUrls: [`http://127.0.0.1:${peerPort}`],
      initialCluster: `default=http://127.0.0.1:${peerPort}`,
      listenClientUrls: [url],
      heartbeatIntervalMs: 20,
      electionTimeoutMs: 200,
    });
    return {
      node,
      url,
      close: async () => {
        await node.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
