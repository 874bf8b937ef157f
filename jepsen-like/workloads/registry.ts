// The registry workload: instance clients each register a service instance under a lease of their own and renew
// it, until it crashes (stops renewing: its lease expires), is deregistered, or its lease is found gone, and then
// register a fresh one; discoverer clients list the services' instances. checkers/registry.ts checks that no
// discovery lists an instance long expired and none misses a live one (docs/jepsen-like.md for the operations).
//   register    a lease grant and the registration under it: ok with {lease, ttl}; fail when certainly not
//               applied (clients.ts); otherwise info (with {lease, ttl} once the grant went through)
//   renew       one request to one member (no failover): ok with the TTL answered (0: the lease is gone); fail
//               only when never sent (RENEWAL_NOT_SENT), otherwise info
//   deregister  ok with the count deleted; the same rule
//   crash       the instance stops renewing (ok at once)
//   discover    ok with the instances listed, by name; any error is fail, since a listing changes nothing

import { ConclaveError, type ErrorCode } from '../../src/protocol/errors.js';
import type { JsonValue } from '../history.js';
import { REGISTRY_CRASH_CHANCE, REGISTRY_DEREGISTER_CHANCE, REGISTRY_TTL_SECONDS } from '../limits.js';
import { ClientWorkload, type Worker } from './clients.js';

/** Errors of a renewal that certainly never reached the leader: not sent, or refused before any relay. */
const RENEWAL_NOT_SENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ErrUnreachable', 'ErrTooManyRequests']);

/** An instance renews this many times per TTL (etcd's clientv3 renews every TTL/3; more often tests more). */
const RENEWALS_PER_TTL = 4;

interface Held {
  readonly name: string;
  readonly service: string;
  readonly lease: number;
  readonly ttlSeconds: number;
}

export class RegistryWorkload extends ClientWorkload {
  private nextInstance = 1;
  /** Instance clients are the first half (at least one); the rest discover. */
  private readonly instanceClients = Math.max(1, Math.ceil(this.options.concurrency / 2));
  private readonly held = new Map<Worker, Held>();
  /** The member each instance client renews through, moved on after a renewal that did not answer. */
  private readonly renewAt = new Map<Worker, number>();
  /** Asked for; the cluster raises it to its minimum (1.5 election timeouts), and the register op records the TTL granted. */
  private readonly ttlSeconds = REGISTRY_TTL_SECONDS;

  /** The services; there is no final read. */
  get keys(): string[] {
    return [];
  }

  private get services(): string[] {
    return Array.from({ length: this.options.keys }, (_, i) => `s${i}`);
  }

  protected async step(worker: Worker): Promise<void> {
    if (this.workers.indexOf(worker) >= this.instanceClients) {
      await this.discover(worker);
      return;
    }
    const held = this.held.get(worker);
    if (held === undefined) {
      await this.register(worker);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, (held.ttlSeconds * 1000) / RENEWALS_PER_TTL));
    if (worker.rng.chance(REGISTRY_CRASH_CHANCE)) {
      this.options.recorder.invoke(worker.process, 'crash', held.name, null);
      this.complete(worker, 'ok', null);
      this.held.delete(worker);
    } else if (worker.rng.chance(REGISTRY_DEREGISTER_CHANCE)) {
      await this.deregister(worker, held);
    } else {
      await this.renew(worker, held);
    }
  }

  protected finalRead(): Promise<boolean> {
    return Promise.resolve(true);
  }

  private async register(worker: Worker): Promise<void> {
    const { recorder, opTimeoutMs } = this.options;
    const name = `i${this.nextInstance++}`;
    const service = worker.rng.pick(this.services);
    recorder.invoke(worker.process, 'register', name, { service, ttlSeconds: this.ttlSeconds });
    let granted: { lease: number; ttl: number } | null = null;
    try {
      const { response } = await worker.client.call('leaseGrant', { ttl: this.ttlSeconds }, { timeoutMs: opTimeoutMs });
      granted = { lease: response.id, ttl: response.ttl };
      await worker.client.registryRegister({ service, instance: name, address: '127.0.0.1', port: 1, lease: response.id }, { timeoutMs: opTimeoutMs });
      this.complete(worker, 'ok', granted);
      this.held.set(worker, { name, service, lease: granted.lease, ttlSeconds: granted.ttl });
    } catch (error) {
      // The instance is given up: an unknown registration is never renewed, so its lease expires.
      this.failed(worker, error, granted);
    }
  }

  private async renew(worker: Worker, held: Held): Promise<void> {
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, 'renew', held.name, held.lease);
    // One request to one member, not the client's failover: an attempt it gave up on (sent to a paused member,
    // say) may still be applied after a later attempt answered ok, which would renew the lease after the op's
    // completion. With one attempt, ok means applied before the answer, and anything else is at worst info.
    const endpoints = this.options.endpoints;
    const at = this.renewAt.get(worker) ?? this.workers.indexOf(worker);
    try {
      const { response } = await worker.client.call('leaseKeepAlive', { id: held.lease }, { timeoutMs: opTimeoutMs, endpoint: endpoints[at % endpoints.length] });
      this.complete(worker, 'ok', response.ttl);
      if (response.ttl <= 0) this.held.delete(worker);
    } catch (error) {
      this.renewAt.set(worker, at + 1);
      // Not the clients' fail rule: a follower relays renewals on a stream to the leader and fails those waiting on
      // it with ErrLeaderChanged (or ErrNotLeader, ErrTimeout) when the stream breaks, after they may have reached
      // the leader; runs showed a lease alive after two such failures only. Only a renewal never sent failed.
      if (error instanceof ConclaveError && RENEWAL_NOT_SENT.has(error.code)) this.complete(worker, 'fail', null);
      else {
        this.complete(worker, 'info', null);
        worker.process += this.options.concurrency;
      }
    }
  }

  private async deregister(worker: Worker, held: Held): Promise<void> {
    const { recorder, opTimeoutMs } = this.options;
    recorder.invoke(worker.process, 'deregister', held.name, { service: held.service });
    this.held.delete(worker);
    try {
      const { response } = await worker.client.registryDeregister(held.service, held.name, { timeoutMs: opTimeoutMs });
      this.complete(worker, 'ok', response.deleted);
    } catch (error) {
      this.failed(worker, error, null);
    }
    // The lease has nothing left on it; revoking it is tidiness, not part of the history.
    worker.client.leaseRevoke(held.lease).catch(() => undefined);
  }

  private async discover(worker: Worker): Promise<void> {
    const { recorder, opTimeoutMs, electionTimeoutMs } = this.options;
    const service = worker.rng.pick(this.services);
    recorder.invoke(worker.process, 'discover', service, { electionTimeoutMs });
    try {
      const { response } = await worker.client.registryList(service, {}, { timeoutMs: opTimeoutMs });
      this.complete(worker, 'ok', response.instances.map((instance) => instance.instance).sort() as JsonValue);
    } catch {
      this.complete(worker, 'fail', null);
    }
  }
}
