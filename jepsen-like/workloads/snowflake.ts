// The snowflake workload: each client is a generator (g0, g1, ... in the history) that allocates a worker ID of one
// pool under a short lease it keeps alive, mints IDs locally with SnowflakeGenerator (which stops once the lease
// is lost or cannot be confirmed, and waits out the worker ID's not-before time), and after a while releases the
// worker ID and allocates again. checkers/unique-ids.ts checks that no ID is issued twice, across all generators,
// and that each generator's IDs increase. Operations (key: the generator):
//   allocate   invoke null; ok the worker ID; fail only when nothing was proposed (NOT_APPLIED), else info
//   generate   invoke the count asked for; ok one ID (a decimal string) or an array of them; fail when the
//              generator refused (its lease lost or unconfirmed), which ends its worker ID
//   release    invoke the worker ID; ok null; unchecked
// Each worker ID held is a process of its own (the number grows by the concurrency at each new one): IDs increase
// per holding, not across them (a new worker ID may be lower within the same millisecond). Some holders stall on
// purpose (SNOWFLAKE_STALL_SHARE, and the first client's first holding): they stop renewing their lease but go on generating, and the generator must refuse before
// the worker ID can be handed to another, or the checker sees duplicates. Nothing is read after healing.

import type { KeptLease } from '../../src/client/lease.js';
import { SnowflakeGenerator } from '../../src/client/snowflake.js';
import { GENERATE_INTERVAL_MS, MAX_GENERATES_PER_WORKER, MAX_IDS_PER_GENERATE, RECIPE_LEASE_TTL_S, SNOWFLAKE_STALL_SHARE, SNOWFLAKE_WORKER_COUNT } from '../limits.js';
import { ClientWorkload, type Worker } from './clients.js';

/** The pool every generator allocates from. */
export const SNOWFLAKE_POOL = 'jepsen-snowflake';

interface Holding {
  readonly lease: KeptLease;
  readonly workerId: number;
  readonly generator: SnowflakeGenerator;
  generatesLeft: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SnowflakeWorkload extends ClientWorkload {
  private readonly holdings = new Map<Worker, Holding>();
  private firstStalled = false;

  /** Nothing is read after healing. */
  get keys(): string[] {
    return [];
  }

  private nameOf(worker: Worker): string {
    return `g${this.workers.indexOf(worker)}`;
  }

  protected async step(worker: Worker): Promise<void> {
    const holding = this.holdings.get(worker) ?? (await this.allocate(worker));
    if (holding === null) {
      await sleep(GENERATE_INTERVAL_MS);
      return;
    }
    if (holding.generatesLeft === 0) {
      await this.release(worker, holding);
      return;
    }
    holding.generatesLeft--;
    await this.generate(worker, holding);
    await sleep(GENERATE_INTERVAL_MS);
  }

  /** Never called: there are no keys to read after healing. */
  protected finalRead(_worker: Worker, generator: string): Promise<boolean> {
    return Promise.reject(new Error(`the snowflake workload reads nothing after healing (asked for ${generator})`));
  }

  override close(): void {
    for (const holding of this.holdings.values()) holding.lease.close();
    super.close();
  }

  private async allocate(worker: Worker): Promise<Holding | null> {
    const { recorder } = this.options;
    recorder.invoke(worker.process, 'allocate', this.nameOf(worker), null);
    let lease: KeptLease | undefined;
    try {
      lease = await worker.client.lease(RECIPE_LEASE_TTL_S);
      const { response } = await worker.client.workerAllocate(SNOWFLAKE_POOL, lease.id, SNOWFLAKE_WORKER_COUNT, { timeoutMs: this.options.opTimeoutMs });
      this.complete(worker, 'ok', response.workerId);
      const holding: Holding = {
        lease,
        workerId: response.workerId,
        generator: new SnowflakeGenerator(response.workerId, lease, { notBeforeMs: response.notBeforeMs }),
        generatesLeft: worker.rng.int(1, MAX_GENERATES_PER_WORKER),
      };
      // A stalled holder: its lease is renewed no more, yet it goes on asking for IDs until the generator refuses.
      // The first client's first holding stalls, so that every run, however short, has one.
      const first = worker === this.workers[0] && !this.firstStalled;
      if (worker.rng.chance(SNOWFLAKE_STALL_SHARE) || first) {
        this.firstStalled = true;
        lease.close();
        holding.generatesLeft = Infinity;
      }
      this.holdings.set(worker, holding);
      return holding;
    } catch (error) {
      this.failed(worker, error, null);
      await lease?.revoke().catch(() => undefined);
      return null;
    }
  }

  private async generate(worker: Worker, holding: Holding): Promise<void> {
    const count = worker.rng.int(1, MAX_IDS_PER_GENERATE);
    this.options.recorder.invoke(worker.process, 'generate', this.nameOf(worker), count);
    try {
      const ids = (await holding.generator.nextBatch(count)).map(String);
      this.complete(worker, 'ok', count === 1 ? ids[0]! : ids);
    } catch {
      // The generator refused before minting anything: its worker ID is done with.
      this.complete(worker, 'fail', null);
      await this.end(worker, holding);
    }
  }

  private async release(worker: Worker, holding: Holding): Promise<void> {
    this.options.recorder.invoke(worker.process, 'release', this.nameOf(worker), holding.workerId);
    try {
      await worker.client.workerRelease(SNOWFLAKE_POOL, holding.workerId, holding.lease.id, { timeoutMs: this.options.opTimeoutMs });
      this.complete(worker, 'ok', null);
    } catch (error) {
      this.failed(worker, error, null);
    }
    await this.end(worker, holding);
  }

  /** Lets the worker ID go with its lease; the next holding is a new process. */
  private async end(worker: Worker, holding: Holding): Promise<void> {
    this.holdings.delete(worker);
    await holding.lease.revoke().catch(() => undefined);
    worker.process += this.options.concurrency;
  }
}
