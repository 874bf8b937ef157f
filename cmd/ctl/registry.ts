// registry register|list|deregister|watch: the service registry from the command line. `register` holds the
// instance while it runs (its lease renewed every TTL/3, as `lease keep-alive`) and deregisters it on exit;
// killed with -9, the instance goes when its lease expires.

import { keepRegistered, type RegistryEvent, type Result } from '../../src/client/index.js';
import { encodeResponse } from '../../src/protocol/json.js';
import type { HealthCheck, ServiceInstance } from '../../src/protocol/registry.js';
import { flagBool, flagText, type CtlArgs } from './args.js';
import { CtlError, type CtlCommand, type CtlContext } from './context.js';
import { leaseHex, parseInteger } from './format.js';
import { flagList, flagPositive, holdUntilStopped } from './recipe-args.js';
import { renderTable } from './table.js';

const DEFAULT_TTL_SECONDS = 10;
const DEFAULT_CHECK_INTERVAL_MS = 5000;
const DEFAULT_CHECK_TIMEOUT_MS = 2000;

function metadataOf(args: CtlArgs): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const entry of flagList(args, 'meta')) {
    const cut = entry.indexOf('=');
    if (cut <= 0) throw new CtlError(`--meta ${JSON.stringify(entry)}: expected key=value`);
    metadata[entry.slice(0, cut)] = entry.slice(cut + 1);
  }
  return metadata;
}

/** The active check the flags ask for, if any (--check-http PATH or --check-tcp). */
function checkOf(args: CtlArgs): HealthCheck | undefined {
  const path = flagText(args, 'check-http');
  const tcp = flagBool(args, 'check-tcp');
  if (path !== undefined && tcp) throw new CtlError('give --check-http or --check-tcp, not both');
  if (path === undefined && !tcp) return undefined;
  const thresholds = {
    ...(flagText(args, 'healthy-threshold') === undefined ? {} : { healthyThreshold: flagPositive(args, 'healthy-threshold', 1) }),
    ...(flagText(args, 'unhealthy-threshold') === undefined ? {} : { unhealthyThreshold: flagPositive(args, 'unhealthy-threshold', 1) }),
  };
  const timing = { intervalMs: flagPositive(args, 'check-interval-ms', DEFAULT_CHECK_INTERVAL_MS), timeoutMs: flagPositive(args, 'check-timeout-ms', DEFAULT_CHECK_TIMEOUT_MS), ...thresholds };
  if (tcp) return { type: 'tcp', ...timing };
  const expected = flagText(args, 'expected-status');
  return { type: 'http', path, ...timing, ...(expected === undefined ? {} : { expectedStatus: flagPositive(args, 'expected-status', 200) }) };
}

function formats(context: CtlContext, allowed: readonly string[]): void {
  if (!allowed.includes(context.options.format)) throw new CtlError(`${context.options.format} not supported as output format`);
}

const endpointOf = (instance: ServiceInstance): string => (instance.address.includes(':') ? `[${instance.address}]:${instance.port}` : `${instance.address}:${instance.port}`);

function instanceLine(instance: ServiceInstance): string {
  const tags = instance.tags.length === 0 ? '' : ` tags=${instance.tags.join(',')}`;
  return `${instance.instance} ${endpointOf(instance)} ${instance.health} weight=${instance.weight}${tags} lease=${leaseHex(instance.lease)}`;
}

function printList(context: CtlContext, result: Result<'registryList'>): void {
  const { format } = context.options;
  const { instances } = result.response;
  if (format === 'json') {
    context.output.out(`${JSON.stringify(encodeResponse('registryList', result.header, result.response))}\n`);
  } else if (format === 'table') {
    const rows = instances.map((i) => [i.instance, i.address, String(i.port), i.health, String(i.weight), i.tags.join(','), leaseHex(i.lease)]);
    context.output.out(renderTable(['instance', 'address', 'port', 'health', 'weight', 'tags', 'lease'], rows));
  } else {
    for (const instance of instances) context.output.out(`${instanceLine(instance)}\n`);
  }
}

async function register(context: CtlContext, args: CtlArgs): Promise<number> {
  const [service, instance] = args.operands;
  if (service === undefined || instance === undefined || args.operands.length !== 2) throw new CtlError('registry register command needs SERVICE and INSTANCE arguments');
  const address = flagText(args, 'address');
  if (address === undefined) throw new CtlError('registry register needs --address');
  const port = parseInteger(flagText(args, 'port') ?? '', 10);
  if (!port.ok) throw new CtlError(`registry register needs --port (${port.error})`);
  const weightText = flagText(args, 'weight');
  const weight = weightText === undefined ? undefined : parseInteger(weightText, 10);
  if (weight !== undefined && !weight.ok) throw new CtlError(`bad --weight (${weight.error})`);
  const ttl = flagPositive(args, 'ttl', DEFAULT_TTL_SECONDS);
  const check = checkOf(args);
  const kept = await keepRegistered(
    context.client,
    { service, instance, address, port: port.value, tags: flagList(args, 'tag'), metadata: metadataOf(args), ...(weight === undefined ? {} : { weight: weight.value }), ...(check === undefined ? {} : { check }) },
    ttl,
  );
  context.output.out(`registered ${service}/${instance} with lease ${leaseHex(kept.lease.id)} (TTL ${kept.lease.ttlSeconds}s)\n`);
  const outcome = await holdUntilStopped(kept.lease);
  await kept.close();
  if (!outcome.stopped) {
    context.output.err(`Error: ${outcome.error.message}\n`);
    return 1;
  }
  context.output.out(`deregistered ${service}/${instance}\n`);
  return 0;
}

function eventLine(event: RegistryEvent): string {
  return `${event.type} ${event.instance.service}/${instanceLine(event.instance)} revision=${event.revision}`;
}

async function watch(context: CtlContext, args: CtlArgs): Promise<number> {
  const [service] = args.operands;
  if (service === undefined || args.operands.length !== 1) throw new CtlError('registry watch command needs SERVICE argument');
  formats(context, ['simple', 'json']);
  const stop = new AbortController();
  const interrupted = () => stop.abort();
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for await (const batch of context.client.registryWatch(service, { signal: stop.signal })) {
      for (const event of batch.events) {
        if (context.options.format === 'json') {
          const instance = (encodeResponse('registryList', batch.header, { instances: [event.instance] }) as { instances: unknown[] }).instances[0];
          context.output.out(`${JSON.stringify({ type: event.type, revision: String(event.revision), instance })}\n`);
        } else {
          context.output.out(`${eventLine(event)}\n`);
        }
      }
    }
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  return 0;
}

export const registryCommands: readonly CtlCommand[] = [
  {
    command: 'register [service] [instance]',
    describe: 'Registers an instance of a service and keeps it registered while it runs',
    options: (parser) =>
      parser
        .option('address', { type: 'string', requiresArg: true, describe: 'Address of the instance' })
        .option('port', { type: 'string', requiresArg: true, describe: 'Port of the instance' })
        .option('ttl', { type: 'string', requiresArg: true, describe: `TTL of its lease in seconds (default ${DEFAULT_TTL_SECONDS})` })
        .option('tag', { type: 'string', requiresArg: true, describe: 'A tag (repeat for more)' })
        .option('meta', { type: 'string', requiresArg: true, describe: 'Metadata key=value (repeat for more)' })
        .option('weight', { type: 'string', requiresArg: true, describe: 'Weight for weighted selection (default 1)' })
        .option('check-http', { type: 'string', requiresArg: true, describe: 'The leader checks it with a GET of this path' })
        .option('check-tcp', { type: 'boolean', describe: 'The leader checks it with a TCP connect' })
        .option('expected-status', { type: 'string', requiresArg: true, describe: 'HTTP status of a passing check (default 200)' })
        .option('check-interval-ms', { type: 'string', requiresArg: true, describe: `Time between checks (default ${DEFAULT_CHECK_INTERVAL_MS})` })
        .option('check-timeout-ms', { type: 'string', requiresArg: true, describe: `Time a check may take (default ${DEFAULT_CHECK_TIMEOUT_MS})` })
        .option('healthy-threshold', { type: 'string', requiresArg: true, describe: 'Passing checks in a row that make it healthy (default 1)' })
        .option('unhealthy-threshold', { type: 'string', requiresArg: true, describe: 'Failing checks in a row that make it unhealthy (default 1)' }),
    run: register,
  },
  {
    command: 'list [service]',
    describe: 'Lists the instances of a service (healthy ones unless --all)',
    options: (parser) =>
      parser
        .option('tag', { type: 'string', requiresArg: true, describe: 'Only instances with this tag (repeat for more)' })
        .option('all', { type: 'boolean', describe: 'Also list unhealthy instances' }),
    run: async (context, args) => {
      const [service] = args.operands;
      if (service === undefined || args.operands.length !== 1) throw new CtlError('registry list command needs SERVICE argument');
      formats(context, ['simple', 'json', 'table']);
      const tags = flagList(args, 'tag');
      printList(context, await context.client.registryList(service, { ...(tags.length === 0 ? {} : { tags }), ...(flagBool(args, 'all') ? { includeUnhealthy: true } : {}) }));
      return 0;
    },
  },
  {
    command: 'deregister [service] [instance]',
    describe: 'Deregisters an instance (prints how many were removed)',
    run: async (context, args) => {
      const [service, instance] = args.operands;
      if (service === undefined || instance === undefined || args.operands.length !== 2) throw new CtlError('registry deregister command needs SERVICE and INSTANCE arguments');
      const result = await context.client.registryDeregister(service, instance);
      context.output.out(`${result.response.deleted}\n`);
      return 0;
    },
  },
  {
    command: 'watch [service]',
    describe: 'Watches registrations, health changes and deregistrations of a service',
    run: watch,
  },
];
