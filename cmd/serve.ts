// `conclave` with valid flags: runs the member until SIGINT or SIGTERM (then stops gracefully, handing leadership to
// another voter first), or until it stops on its own. Exit code 0 after a requested stop or a removal from the
// cluster, 1 when it could not start or stopped on an error.

import type { ServerConfig } from '../src/server/config.js';
import { createLogger } from '../src/server/log.js';
import { startServer } from '../src/server/server.js';
import { EXIT_FAILURE, EXIT_OK, type CliIo } from './cli.js';

export async function serve(config: ServerConfig, io: CliIo): Promise<number> {
  const log = createLogger(config.logLevel, { name: config.name }, io.stderr);
  let server;
  try {
    server = await startServer(config, log);
  } catch (error) {
    io.stderr(`conclave: cannot start member "${config.name}": ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  const addresses = server.clientAddresses.map((a) => `${a.host}:${a.port}`).join(', ');
  log.info('serving client requests', { clientUrls: config.listenClientUrls, addresses, peerUrls: config.listenPeerUrls, dataDir: config.dataDir });
  // A second signal (a process group and its parent both passing one on) must not cut the graceful stop short.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping on signal', { signal });
    void server.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const reason = await server.stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (reason.error !== null) {
    io.stderr(`conclave: member "${config.name}" stopped on an error: ${reason.error.message}\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
