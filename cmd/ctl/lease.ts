// lease grant, revoke, timetolive, list and keep-alive, as etcdctl's: IDs in hexadecimal, TTLs in seconds.
// keep-alive renews until interrupted (a renewal every TTL/3, as etcd's client) and ends once the lease is gone.

import { KeptLease } from '../../src/client/index.js';
import { flagBool, type CtlArgs } from './args.js';
import { CtlError, type CtlCommand, type CtlContext } from './context.js';
import { leaseHex, parseInteger } from './format.js';

function leaseIdOf(args: CtlArgs, usage: string): number {
  if (args.operands.length !== 1) throw new CtlError(usage);
  const id = parseInteger(args.operands[0] ?? '', 16);
  if (!id.ok) throw new CtlError(`bad lease ID arg (${id.error}), expecting ID in Hex`);
  return id.value;
}

async function keepAlive(context: CtlContext, args: CtlArgs): Promise<number> {
  const id = leaseIdOf(args, 'lease keep-alive command needs lease ID as argument');
  const printer = context.printer('leaseKeepAlive');
  const client = context.client;
  const sentAt = performance.now();
  const first = await client.leaseKeepAliveOnce(id);
  if (flagBool(args, 'once')) {
    printer.leaseKeepAlive?.(first);
    return 0;
  }
  const expired = () => {
    if (context.options.format === 'simple') context.output.out(`lease ${leaseHex(id)} expired or revoked.\n`);
  };
  if (first.response.ttl <= 0) {
    expired();
    return 0;
  }
  printer.leaseKeepAlive?.(first);
  const lease = new KeptLease(id, first.response.ttl, {
    keepAliveOnce: async (leaseId) => {
      const result = await client.leaseKeepAliveOnce(leaseId);
      if (result.response.ttl > 0) printer.leaseKeepAlive?.(result);
      return result.response.ttl;
    },
    revoke: (leaseId) => client.leaseRevoke(leaseId),
  }, sentAt);
  await new Promise<void>((resolve) => {
    const stop = () => {
      lease.close();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    lease.once('lost', (reason, error) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (reason === 'expired') expired();
      else context.output.err(`Error: ${error.message}\n`);
      resolve();
    });
  });
  return 0;
}

export const leaseCommands: readonly CtlCommand[] = [
  {
    command: 'grant [ttl]',
    describe: 'Creates leases',
    run: async (context, args) => {
      if (args.operands.length !== 1) throw new CtlError('lease grant command needs TTL argument');
      const text = args.operands[0] ?? '';
      const ttl = parseInteger(text, 10);
      if (!ttl.ok) throw new CtlError(`bad TTL (${ttl.error})`);
      const printer = context.printer('leaseGrant');
      printer.leaseGrant?.(await context.client.leaseGrant(ttl.value));
      return 0;
    },
  },
  {
    command: 'revoke [leaseID]',
    describe: 'Revokes leases',
    run: async (context, args) => {
      const id = leaseIdOf(args, 'lease revoke command needs 1 argument');
      const printer = context.printer('leaseRevoke');
      printer.leaseRevoke?.(id, await context.client.leaseRevoke(id));
      return 0;
    },
  },
  {
    command: 'timetolive [leaseID]',
    describe: 'Get lease information',
    options: (parser) => parser.option('keys', { type: 'boolean', describe: 'Get keys attached to this lease' }),
    run: async (context, args) => {
      const id = leaseIdOf(args, 'lease timetolive command needs lease ID as argument');
      const keys = flagBool(args, 'keys');
      const printer = context.printer('leaseTimeToLive');
      printer.leaseTimeToLive?.(await context.client.leaseTimeToLive(id, keys), keys);
      return 0;
    },
  },
  {
    command: 'list',
    describe: 'List all active leases',
    run: async (context) => {
      const printer = context.printer('leaseList');
      printer.leaseList?.(await context.client.leaseLeases());
      return 0;
    },
  },
  {
    command: 'keep-alive [leaseID]',
    describe: 'Keeps leases alive (renew)',
    options: (parser) => parser.option('once', { type: 'boolean', describe: 'Resets the keep-alive time to its original value and exits immediately' }),
    run: keepAlive,
  },
];
