// member list, add, remove and promote. IDs are shown and given in hexadecimal, as etcdctl does; member add
// prints the environment a new member starts with (etcdctl's ETCD_* lines, under Conclave's variable names).

import { envVarFor } from '../../src/server/config.js';
import { flagBool, flagText, type CtlArgs } from './args.js';
import { CtlError, type CtlCommand } from './context.js';
import { goQuote, parseHexId } from './format.js';

function memberIdOf(args: CtlArgs): string {
  if (args.operands.length !== 1) throw new CtlError('member ID is not provided');
  const id = parseHexId(args.operands[0] ?? '');
  if (!id.ok) throw new CtlError(`bad member ID arg (${id.error}), expecting ID in Hex`);
  return id.value;
}

export const memberCommands: readonly CtlCommand[] = [
  {
    command: 'list',
    describe: 'Lists all members in the cluster (simple: ID, Status, Name, Peer Addrs, Client Addrs, Is Learner)',
    run: async (context) => {
      const printer = context.printer('memberList');
      printer.memberList?.(await context.client.memberList());
      return 0;
    },
  },
  {
    // Variadic, so that a peer URL given as an operand gets etcdctl's hint rather than a bare "Unknown argument".
    command: 'add [name..]',
    describe: 'Adds a member into the cluster',
    options: (parser) =>
      parser
        .option('peer-urls', { type: 'string', requiresArg: true, describe: 'comma separated peer URLs for the new member' })
        .option('learner', { type: 'boolean', describe: 'indicates if the new member is raft learner' }),
    run: async (context, args) => {
      const printer = context.printer('memberAdd');
      if (args.operands.length < 1) throw new CtlError('member name not provided');
      if (args.operands.length > 1) {
        const hints = args.operands.filter((operand) => operand.toLowerCase().startsWith('http')).map((operand) => `, did you mean --peer-urls=${operand}`);
        throw new CtlError(`too many arguments${hints.join('')}`);
      }
      const name = args.operands[0] ?? '';
      const peerUrlsText = flagText(args, 'peer-urls') ?? '';
      if (peerUrlsText === '') throw new CtlError('member peer urls not provided');
      const peerUrls = peerUrlsText.split(',');
      const result = await context.client.memberAdd(peerUrls, flagBool(args, 'learner'));
      printer.memberAdd?.(result);
      if (context.options.format === 'simple') {
        const { member, members } = result.response;
        const cluster = members.flatMap((entry) => entry.peerUrls.map((url) => `${entry.id === member.id ? name : entry.name}=${url}`));
        context.output.out(
          `\n${envVarFor('name')}=${goQuote(name)}\n` +
            `${envVarFor('initial-cluster')}=${goQuote(cluster.join(','))}\n` +
            `${envVarFor('initial-advertise-peer-urls')}=${goQuote(peerUrls.join(','))}\n` +
            `${envVarFor('initial-cluster-state')}="existing"\n`,
        );
      }
      return 0;
    },
  },
  {
    command: 'remove [id]',
    describe: 'Removes a member from the cluster',
    run: async (context, args) => {
      const printer = context.printer('memberRemove');
      const id = memberIdOf(args);
      printer.memberRemove?.(id, await context.client.memberRemove(id));
      return 0;
    },
  },
  {
    command: 'promote [id]',
    describe: 'Promotes a non-voting member in the cluster',
    run: async (context, args) => {
      const printer = context.printer('memberPromote');
      const id = memberIdOf(args);
      printer.memberPromote?.(id, await context.client.memberPromote(id));
      return 0;
    },
  },
];
