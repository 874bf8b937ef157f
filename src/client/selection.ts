// Client-side choice of an instance among those discovery returned: round robin, smooth weighted round robin
// (nginx's: each pick adds every weight to its instance's credit and takes the largest, which spreads picks
// evenly in proportion to weight), least outstanding requests, and consistent hashing on a ring of virtual nodes
// (a key maps to the first node at or after its hash, so adding or removing one instance moves only the keys of
// its own nodes: about 1/n of them).

import type { ServiceInstance } from '../protocol/registry.js';

export interface Selector {
  /** Replaces the instances chosen among (what a discovery or a watch of the service found). */
  update(instances: readonly ServiceInstance[]): void;
  /** One instance, or undefined when there is none. `key` is for hashing selectors. */
  pick(key?: string): ServiceInstance | undefined;
}

const idOf = (instance: ServiceInstance): string => instance.instance;

export class RoundRobin implements Selector {
  #instances: readonly ServiceInstance[] = [];
  #next = 0;

  update(instances: readonly ServiceInstance[]): void {
    this.#instances = [...instances].sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
  }

  pick(): ServiceInstance | undefined {
    if (this.#instances.length === 0) return undefined;
    const instance = this.#instances[this.#next % this.#instances.length];
    this.#next = (this.#next + 1) % this.#instances.length;
    return instance;
  }
}

export class WeightedRoundRobin implements Selector {
  #instances: ServiceInstance[] = [];
  /** Each instance's current credit, by instance ID (kept across updates so that the spread goes on). */
  #credit = new Map<string, number>();

  update(instances: readonly ServiceInstance[]): void {
    this.#instances = instances.filter((instance) => instance.weight > 0).sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
    const credit = new Map<string, number>();
    for (const instance of this.#instances) credit.set(idOf(instance), this.#credit.get(idOf(instance)) ?? 0);
    this.#credit = credit;
  }

  pick(): ServiceInstance | undefined {
    let best: ServiceInstance | undefined;
    let bestCredit = -Infinity;
    let total = 0;
    for (const instance of this.#instances) {
      const credit = (this.#credit.get(idOf(instance)) ?? 0) + instance.weight;
      this.#credit.set(idOf(instance), credit);
      total += instance.weight;
      if (credit > bestCredit) {
        best = instance;
        bestCredit = credit;
      }
    }
    if (best !== undefined) this.#credit.set(idOf(best), bestCredit - total);
    return best;
  }
}

/** Picks the instance with the fewest requests in flight; call done() when the request ends. */
export class LeastOutstanding implements Selector {
  #instances: readonly ServiceInstance[] = [];
  #outstanding = new Map<string, number>();
  #next = 0;

  update(instances: readonly ServiceInstance[]): void {
    this.#instances = [...instances].sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
    const outstanding = new Map<string, number>();
    for (const instance of this.#instances) outstanding.set(idOf(instance), this.#outstanding.get(idOf(instance)) ?? 0);
    this.#outstanding = outstanding;
  }

  /** Among equally loaded instances, the next one in turn, so that an idle service is spread round robin. */
  pick(): ServiceInstance | undefined {
    const n = this.#instances.length;
    let best: ServiceInstance | undefined;
    let least = Infinity;
    for (let i = 0; i < n; i++) {
      const instance = this.#instances[(this.#next + i) % n] as ServiceInstance;
      const load = this.#outstanding.get(idOf(instance)) ?? 0;
      if (load < least) {
        best = instance;
        least = load;
      }
    }
    if (best === undefined) return undefined;
    this.#next = (this.#next + 1) % n;
    this.#outstanding.set(idOf(best), least + 1);
    return best;
  }

  /** The request sent to `instance` ended. */
  done(instance: ServiceInstance): void {
    const load = this.#outstanding.get(idOf(instance));
    if (load !== undefined && load > 0) this.#outstanding.set(idOf(instance), load - 1);
  }

  outstanding(instance: ServiceInstance): number {
    return this.#outstanding.get(idOf(instance)) ?? 0;
  }
}

/** 32-bit FNV-1a of the UTF-16 units, then murmur3's finalizer so that near strings spread over the ring. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class ConsistentHash implements Selector {
  #ring: { hash: number; instance: ServiceInstance }[] = [];

  /** `virtualNodes` points on the ring per instance: more spread the keys more evenly. */
  constructor(readonly virtualNodes = 160) {
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1 || virtualNodes > 10_000) throw new RangeError(`virtualNodes must be 1 to 10000, got ${virtualNodes}`);
  }

  update(instances: readonly ServiceInstance[]): void {
    const ring: { hash: number; instance: ServiceInstance }[] = [];
    for (const instance of instances) for (let v = 0; v < this.virtualNodes; v++) ring.push({ hash: hash32(`${idOf(instance)}#${v}`), instance });
    // Ties broken by instance ID, so that the ring depends on the set of instances only, not their order.
    this.#ring = ring.sort((a, b) => a.hash - b.hash || (idOf(a.instance) < idOf(b.instance) ? -1 : 1));
  }

  pick(key = ''): ServiceInstance | undefined {
    const ring = this.#ring;
    if (ring.length === 0) return undefined;
    const h = hash32(key);
    let low = 0;
    let high = ring.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((ring[mid] as { hash: number }).hash < h) low = mid + 1;
      else high = mid;
    }
    return (ring[low === ring.length ? 0 : low] as { instance: ServiceInstance }).instance;
  }
}
