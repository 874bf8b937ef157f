// `npm run bench:snowflake`: IDs/s from one Snowflake generator holding a worker ID of a single-member Conclave
// cluster, minted in batches (nextBatch) and one at a time (next), for --seconds each; then Leaf-style segment
// IDs/s with blocks of --block, the next block fetched at half. The layout's ceiling is 2^12 IDs per ms
// (4,096,000/s) per generator.
//
//   npm run bench:snowflake -- [--seconds 3] [--block 1000]

import { Client, segmentAllocator, snowflakeWorker } from '../../src/client/index.js';
import { waitForLeader } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

function parseArgs(argv: string[]): { seconds: number; block: number } {
  const args = { seconds: 3, block: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = (argv[i] as string).replace(/^--/, '');
    const value = Number(argv[++i]);
    if (flag !== 'seconds' && flag !== 'block') throw new Error(`unknown flag --${flag}`);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${flag} needs a positive integer`);
    args[flag] = value;
  }
  return args;
}

async function rate(seconds: number, mint: () => Promise<number>): Promise<number> {
  const stopAt = performance.now() + seconds * 1000;
  const started = performance.now();
  let minted = 0;
  while (performance.now() < stopAt) minted += await mint();
  return minted / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cluster = await ProcessCluster.start({ size: 1, heartbeatIntervalMs: 100, electionTimeoutMs: 1000, logLevel: 'warn' });
  try {
    await waitForLeader(cluster.endpoints, 15_000);
    const client = new Client({ endpoints: cluster.endpoints });
    const worker = await snowflakeWorker(client, 'bench', 10);
    const batched = await rate(args.seconds, async () => (await worker.generator.nextBatch(4096)).length);
    console.log(`snowflake nextBatch(4096): ${batched.toFixed(0)} IDs/s (worker ${worker.generator.workerId})`);
    const single = await rate(args.seconds, async () => {
      for (let i = 0; i < 1000; i++) await worker.generator.next();
      return 1000;
    });
    console.log(`snowflake next(): ${single.toFixed(0)} IDs/s`);
    await worker.close();
    const segments = segmentAllocator(client, 'bench', args.block);
    const leaf = await rate(args.seconds, async () => {
      for (let i = 0; i < 1000; i++) await segments.next();
      return 1000;
    });
    console.log(`segments of ${args.block} (one Raft write per block, fetched at half): ${leaf.toFixed(0)} IDs/s`);
    client.close();
  } finally {
    await cluster.stop();
  }
}

await main();
