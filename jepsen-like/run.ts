// `conclave-jepsen run`: starts a cluster, drives the workload while the nemesis injects faults, heals everything,
// waits for recovery, makes the final reads, checks the history, and writes the run's directory:
//
//   history.jsonl   every operation (history.ts)
//   nemesis.jsonl   every fault with its start and end on the history's clock (nemesis.ts), written as each ends
//   results.json    the run's parameters, counts, recovery, and the checker's verdict per key
//   report.html     timeline, latency, throughput and anomalies, self-contained (report/)
//   logs/NAME.log   each member's output; data/NAME its data directory

import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SafetyResult } from './checkers/anomalies.js';
import { checkRegisterLinearizable, type CheckResult } from './checkers/linearizable.js';
import { checkFencedWrites } from './checkers/fenced.js';
import { checkRegistry } from './checkers/registry.js';
import { checkSet } from './checkers/set.js';
import { checkUniqueIds } from './checkers/unique-ids.js';
import { checkWatch } from './checkers/watch.js';
import { JepsenCluster, type Target } from './cluster.js';
import { formatHistory, HistoryRecorder, monotonicNs, pairOperations } from './history.js';
import { CLUSTER_READY_TIMEOUT_MS, FINAL_READS_TIMEOUT_MS, RECOVERY_TIMEOUT_MS } from './limits.js';
import { Nemesis, NEMESIS_KINDS, type FaultRecord, type NemesisKind } from './nemesis.js';
import { writeReport } from './report/index.js';
import type { ClientWorkloadOptions, Workload } from './workloads/clients.js';
import { ElectionWorkload } from './workloads/election.js';
import { LockWorkload } from './workloads/lock.js';
import { RegisterWorkload } from './workloads/register.js';
import { RegistryWorkload } from './workloads/registry.js';
import { SetWorkload } from './workloads/set.js';
import { SnowflakeWorkload } from './workloads/snowflake.js';
import { WatchWorkload } from './workloads/watch.js';

/** The workloads `run` drives, each with its clients and its checker. */
export const RUN_WORKLOADS = {
  register: { start: (options: ClientWorkloadOptions): Workload => new RegisterWorkload(options), check: checkRegisterLinearizable },
  set: { start: (options: ClientWorkloadOptions): Workload => new SetWorkload(options), check: checkSet },
  lock: { start: (options: ClientWorkloadOptions): Workload => new LockWorkload(options), check: checkFencedWrites },
  election: { start: (options: ClientWorkloadOptions): Workload => new ElectionWorkload(options), check: checkFencedWrites },
  snowflake: { start: (options: ClientWorkloadOptions): Workload => new SnowflakeWorkload(options), check: checkUniqueIds },
  watch: { start: (options: ClientWorkloadOptions): Workload => new WatchWorkload(options), check: checkWatch },
  registry: { start: (options: ClientWorkloadOptions): Workload => new RegistryWorkload(options), check: checkRegistry },
} as const;
export type RunWorkloadName = keyof typeof RUN_WORKLOADS;

/**
 * The nemeses a target can be given. etcd is a Go binary with its own peer protocol: signals and cutting whole
 * connections work on it as on Conclave. The rest do not: delay and loss read Conclave's WebSocket peer frames, a
 * one-way cut relies on a Conclave member writing messages only on the connections it dials (etcd's streams carry
 * the listener's messages back), the clock preload is Node's and the fsync shim interposes libc, which Go bypasses,
 * and the membership fault drives Conclave's own ways of adding a member back.
 */
const ETCD_NEMESES: ReadonlySet<NemesisKind> = new Set<NemesisKind>(['partition', 'kill', 'pause']);

export function supportedNemeses(target: Target): NemesisKind[] {
  return NEMESIS_KINDS.filter((kind) => target === 'conclave' || ETCD_NEMESES.has(kind));
}

/** A run's check: the register's per-key linearizability, or a safety checker's anomalies. */
export type RunCheck = { readonly kind: 'linearizable'; readonly result: CheckResult } | { readonly kind: 'safety'; readonly result: SafetyResult };

export interface RunOptions {
  readonly workload: RunWorkloadName;
  readonly nemesis: readonly NemesisKind[];
  /** Per kind, the only shapes the nemesis draws from (all of a kind not listed). */
  readonly nemesisShapes?: Partial<Record<NemesisKind, readonly string[]>>;
  readonly timeS: number;
  readonly nodes: number;
  readonly concurrency: number;
  readonly out: string;
  readonly seed: number;
  readonly keys: number;
  readonly opTimeoutMs: number;
  readonly faultMs: readonly [number, number];
  readonly quietMs: readonly [number, number];
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly progressIntervalMs: number;
  readonly target: Target;
  /** The etcd binary, for target etcd. */
  readonly etcdBinary: string;
  readonly serializableReads: boolean;
  readonly unfencedWrites: boolean;
}

export interface RunReport {
  /** What results.json holds. */
  readonly results: Record<string, unknown>;
  /** The checker's answer; null when the run could not be carried out. */
  readonly check: RunCheck | null;
  /** What went wrong around the check: the run that could not be carried out, a member that did not recover. */
  readonly problems: readonly string[];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)}s`;

export async function runWorkload(options: RunOptions, progress: (line: string) => void): Promise<RunReport> {
  const { out } = options;
  if (existsSync(join(out, 'history.jsonl'))) {
    return { results: {}, check: null, problems: [`${out} already holds a run (history.jsonl); give another --out`] };
  }
  const unsupported = options.nemesis.filter((kind) => !supportedNemeses(options.target).includes(kind));
  if (unsupported.length > 0) return { results: {}, check: null, problems: [`--target ${options.target} cannot be given the nemesis ${unsupported.join(', ')} (it supports ${supportedNemeses(options.target).join(', ')})`] };
  mkdirSync(out, { recursive: true });
  const nemesisFile = join(out, 'nemesis.jsonl');
  writeFileSync(nemesisFile, '');
  const clock = monotonicNs();
  const recorder = new HistoryRecorder(clock);
  const startedAt = new Date().toISOString();
  const wallStart = Date.now();
  const parameters = { ...options, startedAt };
  let cluster: JepsenCluster;
  try {
    cluster = await JepsenCluster.start({
      nodes: options.nodes,
      dir: out,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      electionTimeoutMs: options.electionTimeoutMs,
      readyTimeoutMs: CLUSTER_READY_TIMEOUT_MS,
      target: options.target,
      etcdBinary: options.etcdBinary,
      clock: options.nemesis.includes('clock'),
      fsyncStall: options.nemesis.includes('fsync-stall'),
    });
  } catch (error) {
    return failed(out, parameters, `the cluster did not start: ${(error as Error).message}`);
  }

  const problems: string[] = [];
  const nemesis = new Nemesis(cluster, {
    kinds: options.nemesis,
    shapes: options.nemesisShapes,
    seed: options.seed,
    quietMs: options.quietMs,
    faultMs: options.faultMs,
    nowNs: clock,
    onFault: (record: FaultRecord) => appendFileSync(nemesisFile, JSON.stringify(record) + '\n'),
  });
  const workload = RUN_WORKLOADS[options.workload].start({
    endpoints: cluster.endpoints,
    concurrency: options.concurrency,
    keys: options.keys,
    opTimeoutMs: options.opTimeoutMs,
    electionTimeoutMs: options.electionTimeoutMs,
    seed: options.seed,
    recorder,
    target: options.target,
    serializableReads: options.serializableReads,
    unfencedWrites: options.unfencedWrites,
  });
  let notServing: string[] = [];
  let keysRead = 0;
  let exited: string[] = [];
  let network: ReturnType<JepsenCluster['network']['stats']> = {};
  const runStart = Date.now();
  try {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), options.timeS * 1000);
    let lastCompleted = 0;
    let lastAt = runStart;
    const ticker = setInterval(() => {
      const { ok, fail, info } = workload.counts;
      const completed = ok + fail + info;
      const now = Date.now();
      const rate = ((completed - lastCompleted) * 1000) / Math.max(1, now - lastAt);
      [lastCompleted, lastAt] = [completed, now];
      progress(`[${seconds(now - runStart)}/${options.timeS}s] ${rate.toFixed(0)} ops/s; ok ${ok}, fail ${fail}, info ${info}; faults ${nemesis.records.length} done, now: ${nemesis.describeActive()}`);
    }, options.progressIntervalMs);
    // A nemesis that cannot carry on (a member that will not start) stops the clients too.
    const stopping = <T>(promise: Promise<T>) =>
      promise.catch((error: unknown) => {
        stop.abort();
        throw error;
      });
    let settled: PromiseSettledResult<void>[];
    try {
      settled = await Promise.allSettled([stopping(workload.run(stop.signal)), stopping(nemesis.run(stop.signal))]);
    } finally {
      clearTimeout(timer);
      clearInterval(ticker);
      problems.push(...(await nemesis.healAll()));
    }
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
    progress(`healed; waiting for every member to serve`);
    notServing = await cluster.waitServing(RECOVERY_TIMEOUT_MS);
    if (notServing.length > 0) problems.push(`not serving ${seconds(RECOVERY_TIMEOUT_MS)} after healing: ${notServing.join(', ')}`);
    keysRead = await workload.finalReads(FINAL_READS_TIMEOUT_MS);
    const toRead = workload.keys.length;
    if (keysRead < toRead) problems.push(`final reads: only ${keysRead} of ${toRead} keys could be read`);
    exited = cluster.exited;
    if (exited.length > 0) problems.push(`exited on their own: ${exited.join(', ')} (see logs/)`);
  } catch (error) {
    writeFileSync(join(out, 'history.jsonl'), formatHistory(recorder.events));
    return failed(out, parameters, `the run could not be carried out: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    workload.close();
    network = cluster.network.stats();
    await cluster.stop();
  }

  writeFileSync(join(out, 'history.jsonl'), formatHistory(recorder.events));
  const paired = pairOperations(recorder.events);
  if (!paired.ok) return failed(out, parameters, `the recorded history breaks its format at event ${paired.error.line}: ${paired.error.message}`);
  const check: RunCheck =
    options.workload === 'register' ? { kind: 'linearizable', result: checkRegisterLinearizable(paired.value) } : { kind: 'safety', result: RUN_WORKLOADS[options.workload].check(paired.value) };
  const verdict = check.kind === 'safety' ? check.result.verdict : check.result.ok ? check.result.verdict : 'unknown';
  const elapsedS = (Date.now() - runStart) / 1000;
  const { ok, fail, info } = workload.counts;
  const byKind: Record<string, number> = {};
  const byShape: Record<string, number> = {};
  for (const record of nemesis.records) {
    byKind[record.kind] = (byKind[record.kind] ?? 0) + 1;
    byShape[record.shape] = (byShape[record.shape] ?? 0) + 1;
  }
  const results = {
    ...parameters,
    verdict,
    elapsedS,
    wallS: (Date.now() - wallStart) / 1000,
    operations: { ok, fail, info, okPerSecond: ok / options.timeS },
    faults: { total: nemesis.records.length, byKind, byShape, faultTimeS: nemesis.records.reduce((sum, record) => sum + (record.end - record.start) / 1e9, 0) },
    // Per member's front door: connections relayed, refused by a cut, ended by one; data frames a lossy link
    // dropped and frames a delayed one held back.
    network,
    recovery: { notServing, keysRead, exited },
    problems,
    check: check.kind === 'safety' ? check.result : check.result.ok ? { verdict: check.result.verdict, keys: check.result.keys } : { error: check.result.message },
  };
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const report = writeReport(join(out, 'report.html'), { title: `${options.workload} run: ${out}`, operations: paired.value, faults: nemesis.records, check, parameters: results });
  progress(`report.html: ${Math.round(report.bytes / 1024)} KB, built in ${Math.round(report.ms)} ms`);
  return { results, check, problems };
}

/** A run that could not be carried out: results.json says why. */
function failed(out: string, parameters: Record<string, unknown>, problem: string): RunReport {
  const results = { ...parameters, verdict: 'error', problems: [problem] };
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  return { results, check: null, problems: [problem] };
}
