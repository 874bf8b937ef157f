// Where the client sends a request: the endpoints it was given, widened by the member list it learns from them
// (each member's client URLs), with the leader first for requests the leader serves best (writes, linearizable
// reads: a follower would forward them). What it knows is refreshed periodically (clientLimits.memberRefreshMs)
// and soon after a failure (at most every clientLimits.minMemberRefreshMs), in the background; a response whose
// raft_term is newer than the term the leader was learned in makes the leader unknown until the next refresh.

import { clientLimits } from '../limits.js';
import type { ResponseHeader } from '../protocol/kv.js';

/** What one refresh learned: the members' client URLs, the leader's, and the term it leads. */
export interface Topology {
  readonly endpoints: readonly string[];
  readonly leaderEndpoint: string | null;
  readonly term: number;
}

export interface RouterOptions {
  readonly seeds: readonly string[];
  /** Learn the members and the leader (otherwise only the seeds, in their order, as etcdctl uses its endpoints). */
  readonly discover: boolean;
  /** Asks the cluster for its topology through the given endpoints (null when none answered). */
  readonly fetchTopology: (endpoints: readonly string[]) => Promise<Topology | null>;
  readonly nowMs?: () => number;
  readonly refreshMs?: number;
  readonly minRefreshMs?: number;
  readonly maxDiscoveredEndpoints?: number;
}

export class Router {
  readonly #seeds: readonly string[];
  readonly #options: RouterOptions;
  readonly #nowMs: () => number;
  #endpoints: readonly string[];
  #current = '';
  #leader: string | null = null;
  #leaderTerm = 0;
  #revisionSeen = 0;
  #refreshedAtMs = -Infinity;
  #refreshing: Promise<void> | null = null;
  #refreshes = 0;

  constructor(options: RouterOptions) {
    this.#options = options;
    this.#seeds = options.seeds;
    this.#endpoints = options.seeds;
    this.#current = options.seeds[0] ?? '';
    this.#nowMs = options.nowMs ?? (() => performance.now());
  }

  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  get current(): string {
    return this.#current;
  }

  /** The leader's client URL, when known. */
  get leader(): string | null {
    return this.#leader;
  }

  /** The highest store revision any response has shown: a lower bound of the revision of anything applied later. */
  get revisionSeen(): number {
    return this.#revisionSeen;
  }

  /** Refreshes done so far (for tests and diagnostics). */
  get refreshes(): number {
    return this.#refreshes;
  }

  /** Endpoints in the order to try them: the leader first when `toLeader`, then the one that last answered, then the rest in order. */
  order(toLeader: boolean): string[] {
    const start = Math.max(0, this.#endpoints.indexOf(this.#current));
    const rotation = this.#endpoints.map((_, i) => this.#endpoints[(start + i) % this.#endpoints.length] as string);
    if (!toLeader || this.#leader === null || !rotation.includes(this.#leader)) return rotation;
    return [this.#leader, ...rotation.filter((endpoint) => endpoint !== this.#leader)];
  }

  /** `endpoint` answered with `header`. */
  answered(endpoint: string, header?: ResponseHeader): void {
    if (this.#endpoints.includes(endpoint)) this.#current = endpoint;
    if (header === undefined) return;
    this.#revisionSeen = Math.max(this.#revisionSeen, header.revision);
    if (this.#leader !== null && header.raftTerm > this.#leaderTerm) {
      // A newer term: there was an election since the leader was learned.
      this.#leader = null;
      this.#refreshSoon();
    }
  }

  /** `endpoint` could not be reached or could not serve. */
  failed(endpoint: string): void {
    if (endpoint === this.#leader) this.#leader = null;
    // The next request starts at the next endpoint: one that timed out (cut off, say) would cost it the whole
    // request timeout again, until some other endpoint answered a request that did not stop at the first failure.
    if (endpoint === this.#current && this.#endpoints.length > 1) {
      const at = this.#endpoints.indexOf(endpoint);
      this.#current = this.#endpoints[(at + 1) % this.#endpoints.length] as string;
    }
    this.#refreshSoon();
  }

  /** Before a request: the first refresh is awaited (so the first request already knows the leader), later ones are not. */
  async ready(): Promise<void> {
    if (!this.#options.discover) return;
    if (this.#refreshes === 0) return this.refresh();
    if (this.#nowMs() - this.#refreshedAtMs >= (this.#options.refreshMs ?? clientLimits.memberRefreshMs)) void this.refresh();
  }

  /** Learns the members and the leader now (one refresh at a time; a failed one keeps what was known). */
  refresh(): Promise<void> {
    if (!this.#options.discover) return Promise.resolve();
    this.#refreshing ??= (async () => {
      try {
        this.#refreshedAtMs = this.#nowMs();
        const topology = await this.#options.fetchTopology(this.order(false));
        if (topology !== null) this.#learn(topology);
      } finally {
        this.#refreshes++;
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  #refreshSoon(): void {
    if (!this.#options.discover) return;
    if (this.#nowMs() - this.#refreshedAtMs >= (this.#options.minRefreshMs ?? clientLimits.minMemberRefreshMs)) void this.refresh().catch(() => {});
  }

  #learn(topology: Topology): void {
    const max = this.#options.maxDiscoveredEndpoints ?? clientLimits.maxDiscoveredEndpoints;
    const discovered = [...new Set(topology.endpoints)].slice(0, max);
    // The given endpoints stay, last, as a way back in should every member the list named go away.
    if (discovered.length > 0) this.#endpoints = [...discovered, ...this.#seeds.filter((seed) => !discovered.includes(seed))];
    if (!this.#endpoints.includes(this.#current)) this.#current = this.#endpoints[0] ?? '';
    this.#leader = topology.leaderEndpoint !== null && this.#endpoints.includes(topology.leaderEndpoint) ? topology.leaderEndpoint : null;
    this.#leaderTerm = topology.term;
  }
}
