// The table of conclavectl's commands, registered with yargs, and running the one that matched: a command's
// refusal or a cluster's error ends it as etcdctl's do, "Error: <message>" on stderr and exit code 1.

import type { Argv } from 'yargs';
import { ConclaveError } from '../../src/protocol/errors.js';
import { argsOf } from './args.js';
import { CtlContext, CtlError, type CtlCommand, type CtlOptions } from './context.js';
import { endpointCommands } from './endpoint.js';
import { kvCommands } from './kv.js';
import { leaseCommands } from './lease.js';
import { lockCommands } from './lock.js';
import { memberCommands } from './member.js';
import { registryCommands } from './registry.js';
import { snowflakeCommands } from './snowflake.js';
import { txnCommand } from './txn.js';
import { watchCommand } from './watch.js';

interface CtlGroup {
  readonly name: string;
  readonly describe: string;
  readonly commands: readonly CtlCommand[];
}

const TOP_LEVEL: readonly CtlCommand[] = [...kvCommands, txnCommand, watchCommand, ...lockCommands];
const GROUPS: readonly CtlGroup[] = [
  { name: 'lease', describe: 'Lease related commands', commands: leaseCommands },
  { name: 'member', describe: 'Membership related commands', commands: memberCommands },
  { name: 'endpoint', describe: 'Endpoint related commands', commands: endpointCommands },
  { name: 'registry', describe: 'Service registry commands', commands: registryCommands },
  { name: 'snowflake', describe: 'Snowflake ID commands', commands: snowflakeCommands },
];

export interface MatchedCommand {
  readonly command: CtlCommand;
  /** Words of the command's name in argv._ ("member list" is 2). */
  readonly depth: number;
}

/** Adds every command to `parser`; `onMatch` hears which one the arguments name. */
export function withCtlCommands(parser: Argv, onMatch: (matched: MatchedCommand) => void): Argv {
  let result = parser;
  for (const command of TOP_LEVEL) {
    result = result.command(command.command, command.describe, command.options ?? ((inner) => inner), () => onMatch({ command, depth: 1 }));
  }
  for (const group of GROUPS) {
    result = result.command(group.name, group.describe, (inner) => {
      let sub = inner;
      for (const command of group.commands) {
        sub = sub.command(command.command, command.describe, command.options ?? ((innermost) => innermost), () => onMatch({ command, depth: 2 }));
      }
      return sub.demandCommand(1, `${group.name} needs a subcommand: ${group.commands.map((command) => command.command.split(' ')[0]).join(', ')}`);
    });
  }
  return result;
}

export async function runCtlCommand(matched: MatchedCommand, argv: Record<string, unknown>, options: CtlOptions): Promise<number> {
  const context = new CtlContext(options);
  try {
    return await matched.command.run(context, argsOf(argv, matched.command.command, matched.depth));
  } catch (error) {
    if (error instanceof CtlError || error instanceof ConclaveError) {
      options.output.err(`Error: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    context.close();
  }
}
