// watch: etcdctl's `watch [key] [range_end] --prefix --rev --prev-kv`, printing each event as it arrives until
// interrupted (simple: the event type, then the previous key and value with --prev-kv, then the key and value,
// each on its own line; -w json: one line per revision, the gateway's JSON of its header and events). The watch
// resumes on another endpoint from the next revision when its member stops or restarts: no gap, no repeat.

import { keyRange, type WatchBatch } from '../../src/client/index.js';
import { encodeHeader } from '../../src/protocol/json-header.js';
import { encodeWatchEventText } from '../../src/protocol/json-watch.js';
import { ENCODING_RESPONSE } from '../../src/protocol/json-value.js';
import { flagBool, flagInteger, type CtlArgs, type OptionsBuilder } from './args.js';
import { CtlError, type CtlCommand, type CtlContext } from './context.js';
import { bytesToText, hexEscaped } from './format.js';

const USAGE = 'watch command needs one argument as key and an optional argument as range_end';

export const watchOptions: OptionsBuilder = (parser) =>
  parser
    .option('prefix', { type: 'boolean', describe: 'Watch on a prefix if prefix is set' })
    .option('rev', { type: 'string', requiresArg: true, describe: 'Revision to start watching' })
    .option('prev-kv', { type: 'boolean', describe: 'get the previous key-value pair before the event happens' });

function printBatch(context: CtlContext, batch: WatchBatch): void {
  const { output, format, hex } = context.options;
  if (format === 'json') {
    const events = batch.events.map(encodeWatchEventText).join(',');
    output.out(`{"header":${JSON.stringify(encodeHeader(batch.header, ENCODING_RESPONSE))},"events":[${events}]}\n`);
    return;
  }
  const text = (bytes: Uint8Array) => (hex ? hexEscaped(bytes) : bytesToText(bytes));
  for (const event of batch.events) {
    let lines = `${event.type}\n`;
    if (event.prevKv !== undefined) lines += `${text(event.prevKv.key)}\n${text(event.prevKv.value)}\n`;
    lines += `${text(event.kv.key)}\n${text(event.kv.value)}\n`;
    output.out(lines);
  }
}

async function runWatch(context: CtlContext, args: CtlArgs): Promise<number> {
  const [key, rangeEnd] = args.operands;
  if (key === undefined || args.operands.length > 2) throw new CtlError(USAGE);
  const prefix = flagBool(args, 'prefix');
  if (prefix && rangeEnd !== undefined) throw new CtlError('unexpected range_end with --prefix');
  if (context.options.format !== 'simple' && context.options.format !== 'json') throw new CtlError(`${context.options.format} not supported as output format`);
  const revision = flagInteger(args, 'rev');
  const range = keyRange(key, prefix ? { prefix } : rangeEnd === undefined ? {} : { rangeEnd });
  const stop = new AbortController();
  const interrupted = () => stop.abort();
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for await (const batch of context.client.watch(range.key, {
      ...(range.rangeEnd === undefined ? {} : { rangeEnd: range.rangeEnd }),
      ...(revision > 0 ? { startRevision: revision } : {}),
      prevKv: flagBool(args, 'prev-kv'),
      signal: stop.signal,
    })) {
      printBatch(context, batch);
    }
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  return 0;
}

export const watchCommand: CtlCommand = {
  command: 'watch [key] [range_end]',
  describe: 'Watches events stream on keys or prefixes',
  options: watchOptions,
  run: runWatch,
};
