// put, get, del and compaction: flags as etcdctl's, turned into requests by functions that txn reuses for its
// "put k v", "get k" and "del k" lines.

import { keyRange, toBytes } from '../../src/client/index.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, SortOrder, SortTarget } from '../../src/protocol/kv.js';
import { flagBool, flagInteger, flagText, type CtlArgs, type OptionsBuilder } from './args.js';
import { CtlError, type CtlCommand } from './context.js';
import { goQuote, parseInteger } from './format.js';
import { readAll } from './stdin.js';

const PUT_USAGE = 'put command needs 1 argument and input from stdin or 2 arguments';

export const putOptions: OptionsBuilder = (parser) =>
  parser
    .option('lease', { type: 'string', requiresArg: true, default: '0', describe: 'lease ID (in hexadecimal) to attach to the key' })
    .option('prev-kv', { type: 'boolean', describe: 'return the previous key-value pair before modification' })
    .option('ignore-value', { type: 'boolean', describe: 'update the key using its current value' })
    .option('ignore-lease', { type: 'boolean', describe: 'update the key using its current lease' });

export const getOptions: OptionsBuilder = (parser) =>
  parser
    .option('consistency', { type: 'string', requiresArg: true, default: 'l', describe: 'Linearizable(l) or Serializable(s)' })
    .option('order', { type: 'string', requiresArg: true, describe: 'order of results; ASCEND or DESCEND (ASCEND by default)' })
    .option('sort-by', { type: 'string', requiresArg: true, describe: 'sort target; CREATE, KEY, MODIFY, VALUE, or VERSION' })
    .option('limit', { type: 'string', requiresArg: true, describe: 'maximum number of results' })
    .option('prefix', { type: 'boolean', describe: 'get keys with matching prefix' })
    .option('from-key', { type: 'boolean', describe: 'get keys that are greater than or equal to the given key using byte compare' })
    .option('rev', { type: 'string', requiresArg: true, describe: 'specify the kv revision' })
    .option('keys-only', { type: 'boolean', describe: 'get only the keys' })
    .option('count-only', { type: 'boolean', describe: 'get only the count (with --write-out=fields)' })
    .option('print-value-only', { type: 'boolean', describe: 'only write values when using the "simple" output format' });

export const delOptions: OptionsBuilder = (parser) =>
  parser
    .option('prefix', { type: 'boolean', describe: 'delete keys with matching prefix' })
    .option('prev-kv', { type: 'boolean', describe: 'return deleted key-value pairs' })
    .option('from-key', { type: 'boolean', describe: 'delete keys that are greater than or equal to the given key using byte compare' });

function leaseOf(args: CtlArgs): number {
  const lease = parseInteger(flagText(args, 'lease') ?? '0', 16);
  if (!lease.ok) throw new CtlError(`bad lease ID (${lease.error}), expecting ID in Hex`);
  return lease.value;
}

/** A put of `value` (from the command line, stdin or nothing with --ignore-value) with put's flags. */
export function putRequest(args: CtlArgs, value: Uint8Array): PutRequest {
  const key = args.operands[0];
  if (key === undefined) throw new CtlError(PUT_USAGE);
  return {
    key: toBytes(key),
    value,
    lease: leaseOf(args),
    prevKv: flagBool(args, 'prev-kv'),
    ignoreValue: flagBool(args, 'ignore-value'),
    ignoreLease: flagBool(args, 'ignore-lease'),
  };
}

/** Put's operands and the value they give: the second operand, or none with --ignore-value; undefined when the value must come from stdin. */
export function putValue(args: CtlArgs): Uint8Array | undefined {
  const { operands } = args;
  const ignoreValue = flagBool(args, 'ignore-value');
  if (operands.length === 0 || operands.length > 2) throw new CtlError(PUT_USAGE);
  if (ignoreValue && operands.length > 1) throw new CtlError("put command needs only 1 argument when 'ignore-value' is set");
  if (ignoreValue) return new Uint8Array();
  return operands.length > 1 ? toBytes(operands[1] ?? '') : undefined;
}

const SORT_ORDERS: Record<string, SortOrder> = { ASCEND: 'ascend', DESCEND: 'descend', '': 'none' };
const SORT_TARGETS: Record<string, SortTarget> = { CREATE: 'create', KEY: 'key', MODIFY: 'mod', VALUE: 'value', VERSION: 'version', '': 'key' };

function shapeOf(args: CtlArgs, usage: string): { prefix: boolean; fromKey: boolean; rangeEnd: string | undefined } {
  const prefix = flagBool(args, 'prefix');
  const fromKey = flagBool(args, 'from-key');
  if (prefix && fromKey) throw new CtlError('`--prefix` and `--from-key` cannot be set at the same time, choose one');
  if (args.operands.length > 2) throw new CtlError(usage);
  const rangeEnd = args.operands[1];
  if (rangeEnd !== undefined && (prefix || fromKey)) throw new CtlError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
  return { prefix, fromKey, rangeEnd };
}

export function rangeRequest(args: CtlArgs): RangeRequest {
  const usage = 'get command needs one argument as key and an optional argument as range_end';
  const key = args.operands[0];
  if (key === undefined) throw new CtlError(usage);
  const keysOnly = flagBool(args, 'keys-only');
  const countOnly = flagBool(args, 'count-only');
  const shape = shapeOf(args, usage);
  if (keysOnly && countOnly) throw new CtlError('`--keys-only` and `--count-only` cannot be set at the same time, choose one');
  const consistency = flagText(args, 'consistency') ?? 'l';
  if (consistency !== 'l' && consistency !== 's') throw new CtlError(`unknown consistency flag ${goQuote(consistency)}`);
  const orderText = flagText(args, 'order') ?? '';
  let sortOrder = SORT_ORDERS[orderText.toUpperCase()];
  if (sortOrder === undefined) throw new CtlError(`bad sort order ${orderText}`);
  const targetText = flagText(args, 'sort-by') ?? '';
  const sortTarget = SORT_TARGETS[targetText.toUpperCase()];
  if (sortTarget === undefined) throw new CtlError(`bad sort target ${targetText}`);
  // Members return keys in ascending order anyway; asking for it by name would make them sort the whole range.
  if (sortTarget === 'key' && sortOrder === 'ascend') sortOrder = 'none';
  const revision = flagInteger(args, 'rev');
  return {
    ...keyRange(key, shape),
    limit: flagInteger(args, 'limit'),
    ...(revision > 0 ? { revision } : {}),
    sortOrder,
    sortTarget,
    serializable: consistency === 's',
    keysOnly,
    countOnly,
  };
}

export function deleteRequest(args: CtlArgs): DeleteRangeRequest {
  const usage = 'del command needs one argument as key and an optional argument as range_end';
  const key = args.operands[0];
  if (key === undefined) throw new CtlError(usage);
  return { ...keyRange(key, shapeOf(args, usage)), prevKv: flagBool(args, 'prev-kv') };
}

export const kvCommands: readonly CtlCommand[] = [
  {
    command: 'put [key] [value]',
    describe: 'Puts the given key into the store (the value is read from stdin when not given)',
    options: putOptions,
    run: async (context, args) => {
      const printer = context.printer('put');
      const given = putValue(args);
      const value = given ?? (await readAll(context.options.stdin()));
      if (value.length === 0 && given === undefined) throw new CtlError(PUT_USAGE);
      printer.put?.(await context.client.call('put', putRequest(args, value)));
      return 0;
    },
  },
  {
    command: 'get [key] [range_end]',
    describe: 'Gets the key or a range of keys',
    options: getOptions,
    run: async (context, args) => {
      const valueOnly = flagBool(args, 'print-value-only');
      const printer = context.printer('get', valueOnly);
      const request = rangeRequest(args);
      if (request.countOnly === true && context.options.format !== 'fields') throw new CtlError('--count-only is only for `--write-out=fields`');
      if (valueOnly && context.options.format !== 'simple') throw new CtlError('print-value-only is only for `--write-out=simple`');
      printer.get?.(await context.client.call('range', request));
      return 0;
    },
  },
  {
    command: 'del [key] [range_end]',
    describe: 'Removes the specified key or range of keys [key, range_end)',
    options: delOptions,
    run: async (context, args) => {
      const printer = context.printer('del');
      printer.del?.(await context.client.call('deleteRange', deleteRequest(args)));
      return 0;
    },
  },
  {
    command: 'compaction [revision]',
    describe: 'Compacts the event history of the key-value store',
    options: (parser) => parser.option('physical', { type: 'boolean', describe: 'wait for the compaction to physically remove all old revisions' }),
    run: async (context, args) => {
      if (args.operands.length !== 1) throw new CtlError('compaction command needs 1 argument');
      const revision = parseInteger(args.operands[0] ?? '', 10);
      if (!revision.ok) throw new CtlError(revision.error);
      await context.client.call('compact', { revision: revision.value, physical: flagBool(args, 'physical') });
      context.output.out(`compacted revision ${revision.value}\n`);
      return 0;
    },
  },
];
