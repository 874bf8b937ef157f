// A running member with its client API served over HTTP: what `conclave` runs and what startNode() embeds.

import type { ServerConfig } from './config.js';
import { startClientServer, type ClientServer } from './http-gateway.js';
import type { Logger } from './log.js';
import { Member } from './member.js';

export interface RunningServer {
  readonly member: Member;
  /** Where clients reach it (the actual ports, when a listen URL asked for port 0). */
  readonly clientAddresses: readonly { host: string; port: number }[];
  /** Resolves when the member stopped, by close() or on its own. */
  readonly stopped: Promise<{ readonly error: Error | null; readonly removed: boolean }>;
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, log: Logger, options: { serveClients?: boolean } = {}): Promise<RunningServer> {
  let markStopped: (reason: { error: Error | null; removed: boolean }) => void = () => {};
  const stopped = new Promise<{ error: Error | null; removed: boolean }>((resolve) => (markStopped = resolve));
  let clients: ClientServer | null = null;
  const member = await Member.start({
    config,
    log,
    onStopped: (reason) => {
      void clients?.close().finally(() => markStopped(reason));
      if (clients === null) markStopped(reason);
    },
  });
  try {
    if (options.serveClients !== false && config.listenClientUrls.length > 0) clients = await startClientServer(member, config.listenClientUrls, log);
  } catch (error) {
    await member.close({ transferLeadership: false });
    throw error;
  }
  let closing: Promise<void> | null = null;
  return {
    member,
    clientAddresses: clients?.addresses ?? [],
    stopped,
    close() {
      closing ??= (async () => {
        await member.close();
        await clients?.close();
        markStopped({ error: null, removed: false });
      })();
      return closing;
    },
  };
}
