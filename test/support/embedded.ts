// One member in this process serving the HTTP API on a free loopback port, with its data in a temp dir, for tests
// that speak to a member over the wire without starting processes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, type ConclaveNode } from '../../src/index.js';
import { freePort } from './process-cluster.js';

export interface EmbeddedMember {
  readonly node: ConclaveNode;
  /** Its client URL. */
  readonly url: string;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

export async function startEmbeddedMember(prefix = 'conclave-embedded-'): Promise<EmbeddedMember> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
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
  return {
    node,
    url,
    close: async () => {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
