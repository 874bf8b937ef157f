// Benchmark of the pure Raft core: a 3-member cluster in memory (no disk, no network, no encoding), driven by
// the Ready contract, so what it measures is the core's own CPU cost per proposal and how well it batches.
//
//   npm run bench:raft [-- --proposals 200000 --value-bytes 256]
//
// For each batch size (proposals handed to the leader per Ready cycle) it prints committed proposals/s, and per
// proposal: Ready cycles, messages, and entries per append message. Figures only; it asserts nothing.

import { RaftNode } from '../../src/raft/node.js';
import { nodeId, type Message, type NodeId } from '../../src/raft/types.js';

interface Args {
  proposals: number;
  valueBytes: number;
  batches: number[];
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { proposals: 200_000, valueBytes: 256, batches: [1, 16, 64, 256] };
  for (let i = 0; i < argv.length; i += 2) {
    const value = Number(argv[i + 1]);
    switch (argv[i]) {
      case '--proposals':
        args.proposals = value;
        break;
      case '--value-bytes':
        args.valueBytes = value;
        break;
      case '--batches':
        args.batches = String(argv[i + 1]).split(',').map(Number);
        break;
      default:
        throw new Error(`unknown argument ${argv[i]} (use --proposals N, --value-bytes B, --batches 1,16,64)`);
    }
  }
  return args;
}

interface Counters {
  readies: number;
  messages: number;
  appendMessages: number;
  appendedEntries: number;
  applied: number;
}

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x80000000;
  };
}

function runBatchSize(batch: number, total: number, valueBytes: number): { seconds: number; counters: Counters } {
  const ids = ['n1', 'n2', 'n3'].map(nodeId);
  const random = seededRandom(7);
  const nodes = new Map<NodeId, RaftNode>(ids.map((id) => [id, new RaftNode({ id, initialConfig: { voters: ids, learners: [] }, random })]));
  const counters: Counters = { readies: 0, messages: 0, appendMessages: 0, appendedEntries: 0, applied: 0 };
  const inbox: Message[] = [];
  const leaderApplied = { count: 0 };

  const pump = (count: boolean): void => {
    for (;;) {
      let progressed = false;
      for (const [id, node] of nodes) {
        if (!node.hasReady()) continue;
        progressed = true;
        const ready = node.ready();
        if (count) counters.readies++;
        for (const message of [...ready.messages, ...ready.persistedMessages]) {
          inbox.push(message);
          if (!count) continue;
          counters.messages++;
          if (message.type === 'append' && message.entries.length > 0) {
            counters.appendMessages++;
            counters.appendedEntries += message.entries.length;
          }
        }
        for (const entry of ready.committedEntries) {
          if (entry.type !== 'normal' || entry.data.length === 0) continue;
          if (count) counters.applied++;
          if (id === ids[0]) leaderApplied.count++;
        }
        node.advance();
      }
      while (inbox.length > 0) {
        progressed = true;
        const message = inbox.shift() as Message;
        (nodes.get(message.to) as RaftNode).step(message);
      }
      if (!progressed) return;
    }
  };

  const leader = nodes.get(ids[0] as NodeId) as RaftNode;
  leader.campaign();
  pump(false);
  if (leader.status().role !== 'leader') throw new Error('n1 did not become leader');

  const value = new Uint8Array(valueBytes).fill(7);
  const started = performance.now();
  let proposed = 0;
  while (proposed < total) {
    for (let i = 0; i < batch && proposed < total; i++, proposed++) {
      const error = leader.propose(value);
      if (error) throw error;
    }
    pump(true);
  }
  const seconds = (performance.now() - started) / 1000;
  if (leaderApplied.count !== total) throw new Error(`leader applied ${leaderApplied.count} of ${total}`);
  return { seconds, counters };
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  console.log(`raft core, 3 members in memory, ${args.proposals} proposals of ${args.valueBytes} B per row (node ${process.version})`);
  console.log('batch  proposals/s  readies/proposal  messages/proposal  entries/append');
  for (const batch of args.batches) {
    runBatchSize(batch, Math.min(args.proposals, 5_000), args.valueBytes); // warm-up
    const { seconds, counters } = runBatchSize(batch, args.proposals, args.valueBytes);
    const perProposal = (value: number) => (value / args.proposals).toFixed(2);
    console.log(
      [
        String(batch).padStart(5),
        Math.round(args.proposals / seconds).toLocaleString('en-US').padStart(12),
        perProposal(counters.readies).padStart(17),
        perProposal(counters.messages).padStart(18),
        (counters.appendedEntries / Math.max(1, counters.appendMessages)).toFixed(1).padStart(15),
      ].join('  '),
    );
  }
  console.log(`rss ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MiB`);
}

main();
