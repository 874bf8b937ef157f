// `npm run bench:registry`: discovery on a real 3-member Conclave cluster (fsync on) holding --instances registered
// instances spread over --services services (attached to --leases leases). Registers the last --sample of them
// timed, one register call each (--concurrency in flight), after the rest (setup, registered the same way),
// then --clients clients list random services (linearizable, healthy only) for --seconds. Prints registrations/s
// and discovery calls/s with latency p50/p99/max (with --services 1, every call lists all the instances).
//
//   npm run bench:registry -- [--instances 100000] [--services 1000] [--leases 100] [--concurrency 64] [--sample 5000] [--clients 16] [--seconds 10]

import { Client } from '../../src/client/index.js';
import { registrationPut, serviceRange } from '../../src/protocol/registry-record.js';
import { waitForLeader, waitForMembersPublished } from '../support/http-json.js';
import { ProcessCluster } from '../support/process-cluster.js';

interface Args {
  instances: number;
  services: number;
  leases: number;
  concurrency: number;
  sample: number;
  clients: number;
  seconds: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { instances: 100_000, services: 1000, leases: 100, concurrency: 64, sample: 5000, clients: 16, seconds: 10 };
  for (let i = 0; i < argv.length; i++) {
    const flag = (argv[i] as string).replace(/^--/, '');
    const value = Number(argv[++i]);
    if (!(flag in args)) throw new Error(`unknown flag --${flag}`);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${flag} needs a positive integer`);
    (args as unknown as Record<string, number>)[flag] = value;
  }
  return args;
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const ms = (value: number): string => `${value.toFixed(2)} ms`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cluster = await ProcessCluster.start({ heartbeatIntervalMs: 100, electionTimeoutMs: 1000, logLevel: 'warn' });
  try {
    const leader = await waitForLeader(cluster.endpoints, 15_000);
    await waitForMembersPublished(leader, 3, 15_000);
    const client = new Client({ endpoints: cluster.endpoints, dialTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    const leases: number[] = [];
    for (let i = 0; i < args.leases; i++) leases.push((await client.leaseGrant(3600)).response.id);

    const registration = (i: number) => ({
      service: `svc-${i % args.services}`,
      instance: `inst-${i}`,
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 8080,
      lease: leases[i % leases.length] as number,
      tags: i % 2 === 0 ? ['even'] : ['odd'],
      metadata: { zone: `z${i % 3}` },
    });
    // The bulk of them first (setup, not timed), then a sample timed: all through the register call, since plain
    // writes under the registry's reserved prefix are refused.
    const sample = Math.min(args.sample, args.instances);
    const bulk = args.instances - sample;
    let next = 0;
    const register = (until: number) =>
      Promise.all(
        Array.from({ length: args.concurrency }, async () => {
          while (next < until) await client.registryRegister(registration(next++));
        }),
      );
    await register(bulk);
    const registerStart = performance.now();
    await register(args.instances);
    const registerSeconds = (performance.now() - registerStart) / 1000;
    let puts = 0;
    const putStart = performance.now();
    await Promise.all(
      Array.from({ length: args.concurrency }, async () => {
        while (puts < sample) {
          const i = puts++;
          await client.put(`plain/${i}`, new TextDecoder().decode(registrationPut(registration(i)).value), { lease: leases[i % leases.length] as number });
        }
      }),
    );
    const putSeconds = (performance.now() - putStart) / 1000;
    console.log(`registered ${args.instances} instances in ${args.services} services (the last ${sample} one call each, ${args.concurrency} in flight: ${(sample / registerSeconds).toFixed(0)} registrations/s; plain puts of the same values: ${(sample / putSeconds).toFixed(0)}/s)`);

    const clients = Array.from({ length: args.clients }, () => new Client({ endpoints: cluster.endpoints, dialTimeoutMs: 10_000, requestTimeoutMs: 30_000 }));
    const perService = args.instances / args.services;
    // The same reads as a plain linearizable range of the service's prefix: what discovery adds is its decoding.
    for (const mode of ['discover', 'range'] as const) {
      const latencies: number[] = [];
      const stopAt = performance.now() + args.seconds * 1000;
      let listed = 0;
      await Promise.all(
        clients.map(async (reader) => {
          while (performance.now() < stopAt) {
            const service = `svc-${Math.floor(Math.random() * args.services)}`;
            const started = performance.now();
            // Awaited before the sum: `listed += await …` would read `listed` before the wait and lose other clients' counts.
            const count = mode === 'discover' ? (await reader.registryList(service)).response.instances.length : (await reader.range(serviceRange(service))).response.kvs.length;
            listed += count;
            latencies.push(performance.now() - started);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      console.log(`${mode} (${perService} instances per service, ${args.clients} clients, linearizable): ${(latencies.length / args.seconds).toFixed(1)} calls/s, p50 ${ms(quantile(latencies, 0.5))}, p99 ${ms(quantile(latencies, 0.99))}, max ${ms(latencies[latencies.length - 1] ?? 0)}; ${(listed / latencies.length).toFixed(0)} instances per answer`);
    }
    for (const reader of clients) reader.close();
    client.close();
  } finally {
    await cluster.stop();
  }
}

await main();
