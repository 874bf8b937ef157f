// Benchmark of the peer transport: two PeerTransports on loopback, each in its own process (as two members
// would be), the sender here and the receiver a child process running this same file with --role receiver.
//
//   npm run build --silent && node dist/test/bench/transport.js [--seconds 3]
//
// The receiver answers every message as a follower would (heartbeat -> heartbeatResponse, append ->
// appendResponse), and the sender keeps a window of unanswered messages in flight, as a leader pipelines appends.
// For small heartbeats and for appends of one 64 KiB entry it prints messages/s (answered), payload MB/s (entry
// bytes), wire MB/s (encoded message bytes, one way), and what the sender's stats say about frames and drops.
// Figures only; it asserts nothing.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FrameCodec } from '../../src/transport/frame.js';
import { transportLimits } from '../../src/limits.js';
import { index, nodeId, term, type Message, type NodeId } from '../../src/raft/types.js';
import { PeerTransport } from '../../src/transport/index.js';

const CLUSTER = '00000000000be7c4';
const SENDER = nodeId('0000000000000001');
const RECEIVER = nodeId('0000000000000002');

interface Scenario {
  readonly name: string;
  readonly make: (i: number) => Message;
  /** Entry bytes per message. */
  readonly payloadBytes: number;
  /** Unanswered messages in flight at most. */
  readonly window: number;
  /** Messages handed to send() per event-loop turn at most. */
  readonly perTurn: number;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'heartbeats',
    make: (i) => ({ type: 'heartbeat', from: SENDER, to: RECEIVER, term: term(5), commit: index(i), context: '' }),
    payloadBytes: 0,
    window: 4096,
    perTurn: 512,
  },
  {
    name: '64 KiB appends',
    make: (i) => ({
      type: 'append',
      from: SENDER,
      to: RECEIVER,
      term: term(5),
      prevLogIndex: index(i),
      prevLogTerm: term(5),
      commit: index(i),
      entries: [{ term: term(5), index: index(i + 1), type: 'normal', data: ENTRY_64K }],
    }),
    payloadBytes: 64 * 1024,
    window: 256,
    perTurn: 64,
  },
];

const ENTRY_64K = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);

function parseArgs(argv: readonly string[]): { seconds: number; role: 'sender' | 'receiver' } {
  const args = { seconds: 3, role: 'sender' as 'sender' | 'receiver' };
  for (let i = 0; i < argv.length; i += 2) {
    switch (argv[i]) {
      case '--seconds':
        args.seconds = Number(argv[i + 1]);
        break;
      case '--role':
        args.role = argv[i + 1] === 'receiver' ? 'receiver' : 'sender';
        break;
      default:
        throw new Error(`unknown argument ${argv[i]} (use --seconds N)`);
    }
  }
  return args;
}

type ToReceiver = { readonly senderUrl: string } | { readonly stop: true };
type FromReceiver = { readonly url: string };

async function runReceiver(): Promise<void> {
  let transport: PeerTransport | null = null;
  const reply = (message: Message): Message =>
    message.type === 'append'
      ? { type: 'appendResponse', from: RECEIVER, to: SENDER, term: message.term, success: true, index: index(message.prevLogIndex + message.entries.length), rejectHintIndex: index(0), rejectHintTerm: term(0) }
      : { type: 'heartbeatResponse', from: RECEIVER, to: SENDER, term: message.term, context: '' };
  transport = await PeerTransport.start({
    clusterId: CLUSTER,
    memberId: RECEIVER,
    listenUrls: ['http://127.0.0.1:0'],
    onMessage: (message) => transport?.send([reply(message)]),
  });
  const started = transport;
  process.on('message', (command: ToReceiver) => {
    if ('senderUrl' in command) started.setPeers(new Map<NodeId, string[]>([[SENDER, [command.senderUrl]]]));
    else void started.close().then(() => process.exit(0));
  });
  process.send?.({ url: `http://127.0.0.1:${started.listenAddresses[0]!.port}` } satisfies FromReceiver);
}

async function runSender(seconds: number): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--role', 'receiver'], { stdio: 'inherit' });
  const receiverUrl = await new Promise<string>((resolve) => child.once('message', (message: FromReceiver) => resolve(message.url)));
  let answered = 0;
  const sender = await PeerTransport.start({
    clusterId: CLUSTER,
    memberId: SENDER,
    listenUrls: ['http://127.0.0.1:0'],
    onMessage: () => answered++,
  });
  sender.setPeers(new Map([[RECEIVER, [receiverUrl]]]));
  child.send({ senderUrl: `http://127.0.0.1:${sender.listenAddresses[0]!.port}` } satisfies ToReceiver);
  while (sender.stats().get(RECEIVER)?.connected !== true) await turn();

  const codec = new FrameCodec(transportLimits.maxPeerFrameBytes);
  console.log(`peer transport, loopback, two processes, ${seconds} s per scenario`);
  console.log('scenario         messages/s   payload MB/s   wire MB/s   bytes/msg   dropped');
  for (const scenario of SCENARIOS) {
    const wireBytes = codec.encodeMessage(scenario.make(1)).length;
    // Warm up briefly (JIT, socket buffers), then measure.
    for (const [duration, report] of [[Math.min(0.5, seconds / 4), false], [seconds, true]] as const) {
      const before = sender.stats().get(RECEIVER)!;
      answered = 0;
      let sent = 0;
      const startedAt = performance.now();
      const deadline = startedAt + duration * 1000;
      while (performance.now() < deadline) {
        const room = Math.min(scenario.perTurn, scenario.window - (sent - answered));
        if (room > 0) {
          const batch: Message[] = [];
          for (let i = 0; i < room; i++) batch.push(scenario.make(sent + i));
          sender.send(batch);
          sent += room;
        }
        await turn();
      }
      while (answered < sent && performance.now() < deadline + 5000) await turn();
      const elapsed = (performance.now() - startedAt) / 1000;
      const after = sender.stats().get(RECEIVER)!;
      if (!report) continue;
      const rate = answered / elapsed;
      console.log(
        `${scenario.name.padEnd(16)} ${fmt(rate, 0).padStart(10)}   ${fmt((rate * scenario.payloadBytes) / 1e6, 1).padStart(12)}   ${fmt((rate * wireBytes) / 1e6, 1).padStart(9)}   ${String(wireBytes).padStart(9)}   ${String(after.droppedMessages - before.droppedMessages).padStart(7)}`,
      );
    }
  }
  child.send({ stop: true } satisfies ToReceiver);
  await new Promise((resolve) => child.once('exit', resolve));
  await sender.close();
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const fmt = (value: number, digits: number): string => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const args = parseArgs(process.argv.slice(2));
if (args.role === 'receiver') await runReceiver();
else await runSender(args.seconds);
