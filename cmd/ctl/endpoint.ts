// endpoint status and endpoint health: each endpoint asked on its own, those of --endpoints or, with --cluster,
// every client URL in the member list. A failing endpoint is reported and makes the exit code 1.

import { flagBool, type CtlArgs, type OptionsBuilder } from './args.js';
import { CtlError, type CtlCommand, type CtlContext } from './context.js';
import { goDuration } from './format.js';
import type { EndpointHealth, EndpointStatus } from './rows.js';

const clusterOption: OptionsBuilder = (parser) => parser.option('cluster', { type: 'boolean', describe: 'use all endpoints from the cluster member list' });

async function endpointsOf(context: CtlContext, args: CtlArgs): Promise<readonly string[]> {
  if (!flagBool(args, 'cluster')) return context.options.endpoints;
  const { response } = await context.client.memberList();
  return [...new Set(response.members.flatMap((member) => member.clientUrls))];
}

export const endpointCommands: readonly CtlCommand[] = [
  {
    command: 'status',
    describe: 'Prints out the status of endpoints specified in `--endpoints` flag',
    options: clusterOption,
    run: async (context, args) => {
      const printer = context.printer('endpointStatus');
      const endpoints = await endpointsOf(context, args);
      const list: EndpointStatus[] = [];
      let failed = false;
      for (const endpoint of endpoints) {
        try {
          const { header, response } = await context.client.status(endpoint);
          list.push({ endpoint, header, status: response });
        } catch (error) {
          failed = true;
          context.output.err(`Failed to get the status of endpoint ${endpoint} (${error instanceof Error ? error.message : String(error)})\n`);
        }
      }
      printer.endpointStatus?.(list);
      return failed ? 1 : 0;
    },
  },
  {
    command: 'health',
    describe: 'Checks the healthiness of endpoints specified in `--endpoints` flag',
    options: clusterOption,
    run: async (context, args) => {
      const printer = context.printer('endpointHealth');
      const endpoints = await endpointsOf(context, args);
      const list = await Promise.all(
        endpoints.map(async (endpoint): Promise<EndpointHealth> => {
          const start = context.options.nowNs();
          let error: string;
          try {
            const health = await context.client.health(endpoint);
            error = health.health ? '' : health.reason === '' ? 'unhealthy' : health.reason;
          } catch (failure) {
            error = failure instanceof Error ? failure.message : String(failure);
          }
          return { endpoint, health: error === '', took: goDuration(context.options.nowNs() - start), error };
        }),
      );
      printer.endpointHealth?.(list);
      if (list.some((entry) => !entry.health)) throw new CtlError('unhealthy cluster');
      return 0;
    },
  },
];
