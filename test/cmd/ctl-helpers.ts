// Runs conclavectl in-process against fake members, capturing what it prints.

import { runConclavectl } from '../../cmd/cli.js';
import { FakeServer } from '../client/fake-server.js';

export interface CtlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CtlRunOptions {
  readonly stdin?: string;
  readonly env?: Record<string, string>;
  /** Successive readings of the clock, in nanoseconds (endpoint health's "took"). */
  readonly clock?: readonly bigint[];
}

/** conclavectl with `args`; stdin is empty unless given, so that nothing waits on the terminal. */
export async function ctl(args: readonly string[], options: CtlRunOptions = {}): Promise<CtlRun> {
  let stdout = '';
  let stderr = '';
  const readings = [...(options.clock ?? [])];
  const stdinText = options.stdin ?? '';
  const code = await runConclavectl(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: options.env ?? {},
    stdin: async function* () {
      // Line by line, so that readers meet chunk boundaries.
      for (const line of stdinText.split(/(?<=\n)/)) if (line !== '') yield line;
    },
    ...(options.clock === undefined ? {} : { nowNs: () => readings.shift() ?? 0n }),
  });
  return { code, stdout, stderr };
}

/** A fake member with etcd-like IDs: cluster cdf818194e3a8c32 (14841639068965178418), member 8e9e05c52164694d (10276657743932975437). */
export async function member(): Promise<FakeServer> {
  const server = await FakeServer.start();
  server.clusterId = 'cdf818194e3a8c32';
  server.memberId = '8e9e05c52164694d';
  return server;
}

export const CLUSTER_DECIMAL = '14841639068965178418';
export const MEMBER_DECIMAL = '10276657743932975437';
