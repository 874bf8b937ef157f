// Global, incremental invariant checks. Every check is O(1) or O(size of the thing just observed),
// except the leader-completeness scan, which runs once per elected leader.

import type { ClusterConfig, Entry, Message, ReadState, SnapshotMeta } from '../../src/raft/types.js';
import { chainNext, contentHash, EMPTY_CHAIN } from './statemachine.js';

export class SimViolation extends Error {
  constructor(
    readonly kind: string,
    detail: string,
    readonly time: number,
  ) {
    super(`[${kind}] t=${(time / 100).toFixed(2)} ticks: ${detail}`);
    this.name = 'SimViolation';
  }
}

/** (index, term) as one number: terms stay far below 2^21 in any simulation. */
export function entryKey(index: number, term: number): number {
  if (term >= 2097152) throw new Error(`term ${term} too large for the simulator's registry`);
  return index * 2097152 + term;
}

export const UNKNOWN_PREFIX = -1;
export const EMPTY_PREFIX = 0x1b873593;

interface PendingRead {
  readonly node: string;
  readonly required: number;
  readonly issuedAt: number;
}

export class Checker {
  time = 0;
  /** term -> the one node that acted as leader in it */
  readonly leaderOfTerm = new Map<number, string>();
  /** (index, term) -> content hash: an (index, term) pair names exactly one entry, wherever it is seen */
  private readonly content = new Map<number, number>();
  /** (index, term) -> hash of the whole log prefix through that entry (Log Matching on durable logs) */
  private readonly prefix = new Map<number, number>();
  /** The globally applied (= committed) history, by index. Index 0 is a sentinel. */
  readonly gTerm: number[] = [0];
  readonly gHash: number[] = [0];
  readonly gChain: number[] = [EMPTY_CHAIN];
  /** An upper bound on the term in which entry i was committed (the first applier's term). */
  readonly gBound: number[] = [0];
  /** Committed configurations: cfgIndex[k] is where cfg[k] took effect. */
  private readonly cfgIndex: number[] = [0];
  private readonly cfg: ClusterConfig[];
  /** The largest commit index known anywhere (hard states and applied indexes). */
  maxCommitKnown = 0;
  private readonly reads = new Map<string, PendingRead>();
  readsChecked = 0;

  /** Violations of these kinds are counted instead of thrown (only where continuing is safe). */
  readonly ignored = new Map<string, number>();

  constructor(
    initial: ClusterConfig,
    private readonly ignore: ReadonlySet<string> = new Set(),
  ) {
    this.cfg = [initial];
  }

  get maxApplied(): number {
    return this.gTerm.length - 1;
  }

  fail(kind: string, detail: string): never {
    throw new SimViolation(kind, detail, this.time);
  }

  /** Like fail(), for checks after which the run can safely go on when the kind is ignored. */
  report(kind: string, detail: string): void {
    if (this.ignore.has(kind)) {
      this.ignored.set(kind, (this.ignored.get(kind) ?? 0) + 1);
      return;
    }
    throw new SimViolation(kind, detail, this.time);
  }

  // ---- election safety ------------------------------------------------------------------------

  observeLeader(node: string, term: number, how: string): boolean {
    const prev = this.leaderOfTerm.get(term);
    if (prev === undefined) {
      this.leaderOfTerm.set(term, node);
      return true;
    }
    if (prev !== node) this.fail('election-safety', `two leaders in term ${term}: ${prev} and ${node} (seen via ${how})`);
    return false;
  }

  /** `${term}/${voter}` -> the candidate it granted its vote to (a vote is given at most once per term). */
  private readonly votes = new Map<string, string>();

  observeVoteGranted(voter: string, candidate: string, term: number): void {
    const key = `${term}/${voter}`;
    const prev = this.votes.get(key);
    if (prev === undefined) this.votes.set(key, candidate);
    else if (prev !== candidate) this.fail('election-safety', `${voter} voted twice in term ${term}: for ${prev} and for ${candidate}`);
  }

  // ---- entry identity / log matching -----------------------------------------------------------

  checkEntry(e: Entry, where: string): number {
    const h = contentHash(e);
    const key = entryKey(e.index, e.term);
    const known = this.content.get(key);
    if (known === undefined) this.content.set(key, h);
    else if (known !== h) {
      this.fail('log-matching', `two different entries with index ${e.index} and term ${e.term} (${where})`);
    }
    return h;
  }

  checkPrefix(index: number, term: number, prefixHash: number, where: string): void {
    if (prefixHash === UNKNOWN_PREFIX) return;
    const key = entryKey(index, term);
    const known = this.prefix.get(key);
    if (known === undefined) this.prefix.set(key, prefixHash);
    else if (known !== prefixHash) {
      this.fail('log-matching', `logs agree on entry (${index}, term ${term}) but differ before it (${where})`);
    }
  }

  prefixOf(index: number, term: number): number {
    if (index === 0) return EMPTY_PREFIX;
    return this.prefix.get(entryKey(index, term)) ?? UNKNOWN_PREFIX;
  }

  // ---- state machine safety -------------------------------------------------------------------

  /** A node applied `e` (its applied index was e.index - 1); returns the new chain value. */
  onApply(node: string, e: Entry, chainBefore: number, nodeTerm: number): number {
    const h = this.checkEntry(e, `applied by ${node}`);
    const i = e.index;
    const max = this.gTerm.length - 1;
    if (i <= max) {
      if (this.gTerm[i] !== e.term || this.gHash[i] !== h) {
        this.fail(
          'state-machine-safety',
          `${node} applied (${i}, term ${e.term}) but (${i}, term ${this.gTerm[i]}) was applied elsewhere`,
        );
      }
      const chain = this.gChain[i] as number;
      if (chainNext(chainBefore, h) !== chain) this.fail('state-machine-safety', `${node}'s applied history diverged before index ${i}`);
      return chain;
    }
    if (i !== max + 1) this.fail('apply-order', `${node} applied index ${i} but the global history ends at ${max}`);
    const chain = chainNext(chainBefore, h);
    if (chainBefore !== this.gChain[max]) this.fail('state-machine-safety', `${node}'s applied history diverged before index ${i}`);
    this.gTerm.push(e.term);
    this.gHash.push(h);
    this.gChain.push(chain);
    this.gBound.push(nodeTerm);
    if (i > this.maxCommitKnown) this.maxCommitKnown = i;
    return chain;
  }

  onConfigApplied(index: number, config: ClusterConfig): void {
    const last = this.cfgIndex[this.cfgIndex.length - 1] as number;
    if (index > last) {
      this.cfgIndex.push(index);
      this.cfg.push(config);
    }
  }

  configAt(index: number): ClusterConfig {
    for (let k = this.cfgIndex.length - 1; k >= 0; k--) {
      if ((this.cfgIndex[k] as number) <= index) return this.cfg[k] as ClusterConfig;
    }
    return this.cfg[0] as ClusterConfig;
  }

  /** The committed configuration with the highest index. */
  latestConfig(): ClusterConfig {
    return this.cfg[this.cfg.length - 1] as ClusterConfig;
  }

  /** A snapshot (sent or installed) must describe a committed prefix exactly. */
  checkSnapshotMeta(meta: SnapshotMeta, where: string): void {
    const i = meta.index;
    if (i > this.maxApplied) this.fail('snapshot', `snapshot at ${i} beyond anything applied (${this.maxApplied}) (${where})`);
    if (i > 0 && this.gTerm[i] !== meta.term) {
      this.fail('snapshot', `snapshot (${i}, term ${meta.term}) but the committed entry ${i} has term ${this.gTerm[i]} (${where})`);
    }
    if (!sameConfig(meta.config, this.configAt(i))) {
      this.report(
        'snapshot-config',
        `snapshot at ${i} carries config ${fmtConfig(meta.config)} but the committed config there is ${fmtConfig(this.configAt(i))} (${where})`,
      );
    }
  }

  // ---- leader completeness --------------------------------------------------------------------

  /** Entries a leader of `term` sends must agree with every entry committed in an earlier term. */
  checkLeaderMessage(m: Message): void {
    if (m.type === 'append') {
      const max = this.gTerm.length - 1;
      const prev = m.prevLogIndex;
      if (prev > 0 && prev <= max && (this.gBound[prev] as number) < m.term && this.gTerm[prev] !== m.prevLogTerm) {
        this.fail(
          'leader-completeness',
          `leader ${m.from} of term ${m.term} has (${prev}, term ${m.prevLogTerm}) where (${prev}, term ${this.gTerm[prev]}) was committed`,
        );
      }
      for (const e of m.entries) {
        this.checkEntry(e, `append ${m.from}->${m.to}`);
        const i = e.index;
        if (i <= max && (this.gBound[i] as number) < m.term && this.gTerm[i] !== e.term) {
          this.fail(
            'leader-completeness',
            `leader ${m.from} of term ${m.term} sends (${i}, term ${e.term}) where (${i}, term ${this.gTerm[i]}) was committed`,
          );
        }
      }
    } else if (m.type === 'snapshot') {
      this.checkSnapshotMeta(m.snapshot, `snapshot chunk ${m.from}->${m.to}`);
    }
  }

  /**
   * Called when `node`, leader of `term`, has durably written its first entry of `term`: its durable log
   * (snapshot + entries) must hold every entry committed in an earlier term.
   */
  checkLeaderLog(node: string, term: number, snapshot: SnapshotMeta | null, base: number, entries: readonly Entry[]): void {
    const max = this.gTerm.length - 1;
    let from = 1;
    if (snapshot !== null && snapshot.index > 0) {
      if (snapshot.index <= max && this.gTerm[snapshot.index] !== snapshot.term) {
        this.fail('leader-completeness', `leader ${node} of term ${term} holds a snapshot (${snapshot.index}, ${snapshot.term}) that contradicts the committed log`);
      }
      from = snapshot.index + 1;
    }
    const last = base + entries.length;
    for (let i = Math.max(from, base + 1); i <= max; i++) {
      if ((this.gBound[i] as number) >= term) continue;
      if (i > last) {
        this.fail('leader-completeness', `leader ${node} of term ${term} lacks committed entry ${i} (its log ends at ${last})`);
      }
      const e = entries[i - base - 1] as Entry;
      if (e.term !== this.gTerm[i]) {
        this.fail('leader-completeness', `leader ${node} of term ${term} has (${i}, term ${e.term}) where (${i}, term ${this.gTerm[i]}) was committed`);
      }
    }
  }

  /**
   * Commit safety, checked when a leader's commit index advances to `commit` (whose entry has term
   * `commitTerm`): no voter whose durable log lacks that entry may be able to win an election, i.e. be at
   * least as up to date as a majority of the voters. This is what makes a commit permanent; counting
   * replicas of an entry of an earlier term (Figure 8 of the Raft paper) breaks it.
   */
  checkCommitSafety(
    leader: string,
    leaderTerm: number,
    commit: number,
    commitTerm: number,
    voters: readonly { readonly id: string; readonly lastIndex: number; readonly lastTerm: number; readonly has: boolean }[],
  ): void {
    const quorum = Math.floor(voters.length / 2) + 1;
    for (const x of voters) {
      if (x.has) continue;
      const electors = voters.filter((v) => x.lastTerm > v.lastTerm || (x.lastTerm === v.lastTerm && x.lastIndex >= v.lastIndex));
      if (electors.length >= quorum) {
        this.report(
          'commit-safety',
          `${leader} (leader of term ${leaderTerm}) committed (${commit}, term ${commitTerm}), but ${x.id}, whose log lacks it, can still win an election: ` +
            `its last entry (${x.lastIndex}, term ${x.lastTerm}) is as up to date as the logs of ${electors.map((v) => v.id).join(', ')} (quorum ${quorum} of ${voters.length})`,
        );
        return;
      }
    }
  }

  // ---- linearizable reads ---------------------------------------------------------------------

  noteCommit(commit: number): void {
    if (commit > this.maxCommitKnown) this.maxCommitKnown = commit;
  }

  issueRead(context: string, node: string): void {
    this.reads.set(context, { node, required: this.maxCommitKnown, issuedAt: this.time });
  }

  onReadState(node: string, rs: ReadState): void {
    const r = this.reads.get(rs.context);
    if (r === undefined) this.fail('read', `${node} produced a read state for unknown context ${JSON.stringify(rs.context)}`);
    if (r.node !== node) this.fail('read', `read ${rs.context} issued at ${r.node} was answered at ${node}`);
    if (rs.index < r.required) {
      this.fail(
        'linearizability',
        `read ${rs.context} at ${node} (issued t=${(r.issuedAt / 100).toFixed(2)}) got index ${rs.index}, but index ${r.required} was already committed when it was issued`,
      );
    }
    this.readsChecked++;
  }
}

export function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  return sameSet(a.voters, b.voters) && sameSet(a.learners, b.learners);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

export function fmtConfig(c: ClusterConfig): string {
  return `{voters:[${[...c.voters].sort().join(',')}] learners:[${[...c.learners].sort().join(',')}]}`;
}
