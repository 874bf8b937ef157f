// lock and elect, as etcdctl's. `lock NAME` prints the lock key once held and holds it until interrupted; `lock
// NAME cmd args...` runs the command while holding it (with ETCD_LOCK_KEY / ETCD_LOCK_REV, and CONCLAVE_LOCK_KEY /
// CONCLAVE_LOCK_REV, the fencing token, in its environment; its output passed through) and exits with its code.
// `elect NAME VALUE` campaigns, prints the leader's key and value once elected and holds office until interrupted,
// then resigns; `elect --listen NAME` prints each leader as it changes. Both bind their keys to a lease of --ttl
// seconds, kept alive while they run and revoked when they end (killed with -9, the lease expires after --ttl).

import { spawn } from 'node:child_process';
import type { KeptLease } from '../../src/client/index.js';
import { clientLimits } from '../../src/limits.js';
import { flagBool, flagInteger, type CtlArgs, type OptionsBuilder } from './args.js';
import { CtlError, type CtlCommand, type CtlContext } from './context.js';
import { bytesToText } from './format.js';

const ttlOption: OptionsBuilder = (parser) =>
  parser.option('ttl', { type: 'string', requiresArg: true, describe: `timeout for session (default ${clientLimits.recipeLeaseTtlSeconds})` });

function ttlOf(args: CtlArgs): number {
  const ttl = flagInteger(args, 'ttl');
  if (ttl < 0) throw new CtlError('--ttl must be a positive number of seconds');
  return ttl === 0 ? clientLimits.recipeLeaseTtlSeconds : ttl;
}

/** Resolves at SIGINT or SIGTERM, or when `lost` fires first (the lease is gone: what it held is lost). */
function untilInterrupted(lost: Promise<string> | undefined): Promise<string | null> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(null);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void lost?.then((reason) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(reason);
    });
  });
}

/** Holds what `kept` binds until interrupted (0); fails when the lease is lost first, and with it what it held. */
async function holdUntilInterrupted(kept: KeptLease | undefined, what: string): Promise<number> {
  const lost = kept === undefined ? undefined : new Promise<string>((resolve) => kept.once('lost', (_reason, error) => resolve(error.message)));
  const reason = await untilInterrupted(lost);
  if (reason !== null) throw new CtlError(`the ${what} was lost with its lease: ${reason}`);
  return 0;
}

function runCommand(context: CtlContext, command: readonly string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0] as string, command.slice(1), { stdio: ['inherit', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    child.stdout.on('data', (chunk: Buffer) => context.output.out(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => context.output.err(chunk.toString()));
    child.on('error', (error) => {
      context.output.err(`Error: ${error.message}\n`);
      resolve(1);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function runLock(context: CtlContext, args: CtlArgs): Promise<number> {
  const [name, ...command] = args.operands;
  if (name === undefined) throw new CtlError('lock takes a lock name argument and an optional command to execute.');
  if (context.options.format !== 'simple') throw new CtlError(`${context.options.format} not supported as output format`);
  const held = await context.client.lock(name, { ttlSeconds: ttlOf(args) });
  const key = bytesToText(held.key);
  try {
    if (command.length > 0) {
      const env = { ETCD_LOCK_KEY: key, ETCD_LOCK_REV: String(held.header.revision), CONCLAVE_LOCK_KEY: key, CONCLAVE_LOCK_REV: String(held.fence) };
      return await runCommand(context, command, env);
    }
    context.output.out(`${key}\n`);
    return await holdUntilInterrupted(held.keptLease, 'lock');
  } finally {
    await held.unlock().catch(() => undefined);
  }
}

async function runElect(context: CtlContext, args: CtlArgs): Promise<number> {
  const [name, value] = args.operands;
  if (context.options.format !== 'simple') throw new CtlError(`${context.options.format} not supported as output format`);
  const listen = flagBool(args, 'listen');
  if (name === undefined || args.operands.length > 2 || (listen ? value !== undefined : value === undefined)) {
    throw new CtlError('elect takes one election name argument and one proposal argument, or --listen and one name.');
  }
  if (listen) {
    const stop = new AbortController();
    void untilInterrupted(undefined).then(() => stop.abort());
    try {
      for await (const { kv } of context.client.observe(name, { signal: stop.signal })) context.output.out(`${bytesToText(kv.key)}\n${bytesToText(kv.value)}\n`);
    } catch (error) {
      if (!stop.signal.aborted) throw error;
    }
    return 0;
  }
  const term = await context.client.campaign(name, value as string, { ttlSeconds: ttlOf(args) });
  try {
    context.output.out(`${bytesToText(term.leader.key)}\n${value as string}\n`);
    return await holdUntilInterrupted(term.keptLease, 'leadership');
  } finally {
    await term.resign().catch(() => undefined);
  }
}

export const lockCommands: readonly CtlCommand[] = [
  { command: 'lock [lockname] [exec-command..]', describe: 'Acquires a named lock', options: ttlOption, run: runLock },
  {
    command: 'elect [election-name] [proposal]',
    describe: 'Observes and participates in leader election',
    options: (parser) => ttlOption(parser).option('listen', { alias: 'l', type: 'boolean', describe: 'observation mode' }),
    run: runElect,
  },
];
