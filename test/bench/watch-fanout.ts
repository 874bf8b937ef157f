// `npm run bench:watch-fanout`: the member's side of watch fan-out alone, in one process: a WatchHub over an
// in-memory store, --streams WatchStreams with --watchers watchers each on one prefix, and the HTTP stream's
// TurnBuffer handing its bytes to a sink that only counts them (and gives line buffers back, as the socket's
// write callback does). Puts --puts times and prints the CPU cost per response line made. No sockets, no kernel:
// what the member's JavaScript costs per delivery.
//
//   npm run bench:watch-fanout -- [--streams 10] [--watchers 333] [--puts 1000]

import { lineBuffers } from '../../src/server/line-buffers.js';
import { TurnBuffer } from '../../src/server/turn-buffer.js';
import { WatchHub } from '../../src/server/watch-hub.js';
import { WatchStream } from '../../src/server/watch-stream.js';
import { bytes, expectOk, Harness } from '../state/helpers.js';
import { MemoryBackend } from '../state/memory-backend.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at < 0 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} needs a positive whole number`);
  return value;
}

const streams = flag('streams', 10);
const watchersPerStream = flag('watchers', 333);
const puts = flag('puts', 1000);
const backend = new MemoryBackend();
const harness = new Harness(backend);
const hub = new WatchHub({ store: harness.store, reader: () => backend });
let sentBytes = 0;
for (let s = 0; s < streams; s++) {
  const output = new TurnBuffer((chunks) => {
    for (const chunk of chunks) {
      sentBytes += chunk.length;
      lineBuffers.give(chunk);
    }
  });
  const stream = new WatchStream({
    hub,
    header: (revision) => ({ clusterId: '00000000000000a1', memberId: '00000000000000b2', revision, raftTerm: 3 }),
    write: (pieces) => output.append(pieces),
    queuedBytes: () => output.pendingBytes,
  });
  for (let i = 0; i < watchersPerStream; i++) stream.handle({ createRequest: { key: bytes('w/'), rangeEnd: bytes('w0') } });
}
const turn = () => new Promise((resolve) => setImmediate(resolve));
await turn();
sentBytes = 0;
let cpuMicros = 0;
for (let n = 0; n < puts; n++) {
  const { revision } = expectOk(await harness.put(`w/${n % 1000}`, `t=${performance.now().toFixed(1)}`));
  const before = process.cpuUsage();
  hub.notify(revision);
  await turn();
  const used = process.cpuUsage(before);
  cpuMicros += used.user + used.system;
}
const lines = puts * streams * watchersPerStream;
process.stdout.write(
  `${streams} streams x ${watchersPerStream} watchers on one prefix, ${puts} puts: ${lines} lines, ${(sentBytes / lines).toFixed(0)} bytes each, ` +
    `${((cpuMicros * 1000) / lines).toFixed(0)} ns of CPU per line (${Math.round(lines / (cpuMicros / 1e6))} lines per CPU second)\n`,
);
