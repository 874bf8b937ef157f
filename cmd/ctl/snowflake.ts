// snowflake alloc|next|parse: a worker ID of a pool held while the command runs; N IDs minted under a worker ID
// allocated for the purpose and released after; an ID read back into its parts. The bit layout and epoch are
// flags (41/10/12 from Twitter's epoch by default); `next` and `parse` must be given the same ones.

import { DEFAULT_LAYOUT, parseSnowflake, snowflakeWorker, type SnowflakeLayout } from '../../src/client/index.js';
import { flagText, type CtlArgs, type OptionsBuilder } from './args.js';
import { CtlError, type CtlCommand, type CtlContext } from './context.js';
import { leaseHex } from './format.js';
import { flagPositive, holdUntilStopped } from './recipe-args.js';

const DEFAULT_TTL_SECONDS = 10;
/** IDs one `snowflake next` prints at most. */
const MAX_COUNT = 10_000_000;

const layoutOptions: OptionsBuilder = (parser) =>
  parser
    .option('timestamp-bits', { type: 'string', requiresArg: true, describe: `Bits of the timestamp (default ${DEFAULT_LAYOUT.timestampBits})` })
    .option('worker-bits', { type: 'string', requiresArg: true, describe: `Bits of the worker ID (default ${DEFAULT_LAYOUT.workerBits})` })
    .option('sequence-bits', { type: 'string', requiresArg: true, describe: `Bits of the sequence (default ${DEFAULT_LAYOUT.sequenceBits})` })
    .option('epoch-ms', { type: 'string', requiresArg: true, describe: `Unix time in ms of timestamp 0 (default ${DEFAULT_LAYOUT.epochMs})` });

function layoutOf(args: CtlArgs): SnowflakeLayout {
  return {
    timestampBits: flagPositive(args, 'timestamp-bits', DEFAULT_LAYOUT.timestampBits),
    workerBits: flagPositive(args, 'worker-bits', DEFAULT_LAYOUT.workerBits),
    sequenceBits: flagPositive(args, 'sequence-bits', DEFAULT_LAYOUT.sequenceBits),
    epochMs: flagPositive(args, 'epoch-ms', DEFAULT_LAYOUT.epochMs),
  };
}

function onlyFormats(context: CtlContext, allowed: readonly string[]): void {
  if (!allowed.includes(context.options.format)) throw new CtlError(`${context.options.format} not supported as output format`);
}

async function alloc(context: CtlContext, args: CtlArgs): Promise<number> {
  const [pool] = args.operands;
  if (pool === undefined || args.operands.length !== 1) throw new CtlError('snowflake alloc command needs POOL argument');
  onlyFormats(context, ['simple']);
  const worker = await snowflakeWorker(context.client, pool, flagPositive(args, 'ttl', DEFAULT_TTL_SECONDS), { layout: layoutOf(args) });
  context.output.out(`worker ID ${worker.generator.workerId} of pool ${pool} held with lease ${leaseHex(worker.lease.id)} (TTL ${worker.lease.ttlSeconds}s)\n`);
  const outcome = await holdUntilStopped(worker.lease);
  await worker.close();
  if (!outcome.stopped) {
    context.output.err(`Error: ${outcome.error.message}\n`);
    return 1;
  }
  context.output.out(`worker ID ${worker.generator.workerId} of pool ${pool} released\n`);
  return 0;
}

async function next(context: CtlContext, args: CtlArgs): Promise<number> {
  if (args.operands.length !== 0) throw new CtlError('snowflake next takes no arguments (--pool POOL --count N)');
  const pool = flagText(args, 'pool');
  if (pool === undefined) throw new CtlError('snowflake next needs --pool');
  onlyFormats(context, ['simple']);
  const count = flagPositive(args, 'count', 1);
  if (count > MAX_COUNT) throw new CtlError(`--count ${count} is above ${MAX_COUNT}`);
  const worker = await snowflakeWorker(context.client, pool, flagPositive(args, 'ttl', DEFAULT_TTL_SECONDS), { layout: layoutOf(args) });
  try {
    // In batches, so that a large count is printed as it is minted rather than held in memory.
    for (let left = count; left > 0; ) {
      const batch = await worker.generator.nextBatch(Math.min(left, 4096));
      context.output.out(`${batch.join('\n')}\n`);
      left -= batch.length;
    }
  } finally {
    await worker.close();
  }
  return 0;
}

export const snowflakeCommands: readonly CtlCommand[] = [
  {
    command: 'alloc [pool]',
    describe: 'Allocates a worker ID of a pool and holds it while it runs',
    options: (parser) => layoutOptions(parser.option('ttl', { type: 'string', requiresArg: true, describe: `TTL of its lease in seconds (default ${DEFAULT_TTL_SECONDS})` })),
    run: alloc,
  },
  {
    command: 'next',
    describe: 'Allocates a worker ID, prints N IDs one per line (decimal), releases it',
    options: (parser) =>
      layoutOptions(
        parser
          .option('pool', { type: 'string', requiresArg: true, describe: 'Pool of worker IDs' })
          .option('count', { type: 'string', requiresArg: true, describe: 'How many IDs (default 1)' })
          .option('ttl', { type: 'string', requiresArg: true, describe: `TTL of its lease in seconds (default ${DEFAULT_TTL_SECONDS})` }),
      ),
    run: next,
  },
  {
    command: 'parse [id]',
    describe: 'Prints the time, worker ID and sequence of an ID',
    options: layoutOptions,
    run: async (context, args) => {
      const [id] = args.operands;
      if (id === undefined || args.operands.length !== 1) throw new CtlError('snowflake parse command needs ID argument');
      onlyFormats(context, ['simple', 'json']);
      const parts = parseSnowflake(id, layoutOf(args));
      if (context.options.format === 'json') {
        context.output.out(`${JSON.stringify({ timestamp_ms: String(parts.timestampMs), worker_id: parts.workerId, sequence: parts.sequence })}\n`);
      } else {
        context.output.out(`timestamp: ${new Date(parts.timestampMs).toISOString()} (${parts.timestampMs} ms)\nworker: ${parts.workerId}\nsequence: ${parts.sequence}\n`);
      }
      return 0;
    },
  },
];
