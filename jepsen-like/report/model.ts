// The data report.html's script draws, made from the history, the faults and the check: operations as compact
// rows (times in ms from the history's first event), sampled to a bound; the faults; throughput per bucket from
// every operation; and for each invalid key or anomaly the operations that show it.

import type { OpSummary } from '../checkers/linearizable.js';
import type { JsonValue, Operation, Outcome } from '../history.js';
import {
  REPORT_MAX_ANOMALY_OPS,
  REPORT_MAX_DRAWN_OPS,
  REPORT_MAX_LANES,
  REPORT_MAX_THROUGHPUT_BUCKETS,
  REPORT_MAX_VALUE_CHARS,
} from '../limits.js';
import type { FaultRecord } from '../nemesis.js';
import type { RunCheck } from '../run.js';
import { shortJson } from './escape.js';

export interface ReportLimits {
  readonly maxDrawnOps: number;
  readonly maxLanes: number;
  readonly maxThroughputBuckets: number;
  readonly maxAnomalyOps: number;
  readonly maxValueChars: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = {
  maxDrawnOps: REPORT_MAX_DRAWN_OPS,
  maxLanes: REPORT_MAX_LANES,
  maxThroughputBuckets: REPORT_MAX_THROUGHPUT_BUCKETS,
  maxAnomalyOps: REPORT_MAX_ANOMALY_OPS,
  maxValueChars: REPORT_MAX_VALUE_CHARS,
};

const OUTCOME_CODE: Record<Outcome, number> = { ok: 0, fail: 1, info: 2 };

/**
 * An operation as drawn: [lane, startMs, endMs (null: never completed), outcome (0 ok, 1 fail, 2 info), label].
 * An info operation's endMs is its completion (its latency point); the timeline draws it to the end.
 */
export type DrawnOp = [lane: number, startMs: number, endMs: number | null, outcome: number, label: string];

/** An anomaly's operation: a DrawnOp whose lane is the process itself, and whether it is the one that failed. */
export type AnomalyOp = [process: number, startMs: number, endMs: number | null, outcome: number, label: string, culprit: 0 | 1];

export interface AnomalyPanel {
  readonly title: string;
  readonly message: string;
  readonly ops: AnomalyOp[];
  /** Operations of the anomaly left out by maxAnomalyOps. */
  readonly omitted: number;
}

export interface ReportData {
  readonly spanMs: number;
  readonly totalOps: number;
  readonly ops: DrawnOp[];
  /** Each lane's processes, for its label. */
  readonly lanes: number[][];
  readonly faults: [startMs: number, endMs: number, label: string][];
  readonly throughput: { readonly bucketMs: number; readonly ok: number[]; readonly fail: number[]; readonly info: number[] };
  readonly anomalies: AnomalyPanel[];
}

/** Milliseconds from `zeroNs`, to the microsecond. */
const msFrom = (zeroNs: number) => (ns: number) => Math.round((ns - zeroNs) / 1_000) / 1_000;

/** `count` items spread evenly over `items`, in their order. */
function evenly<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(items[Math.floor((i * items.length) / count)]!);
  return out;
}

/** At most `limit` operations in invocation order: fail and info ones first (up to half), then ok ones evenly. */
export function sampleOperations(operations: readonly Operation[], limit: number): readonly Operation[] {
  if (operations.length <= limit) return operations;
  const unusual = operations.filter((op) => op.outcome !== 'ok');
  const keptUnusual = evenly(unusual, Math.min(unusual.length, Math.floor(limit / 2)));
  const keptOk = evenly(operations.filter((op) => op.outcome === 'ok'), limit - keptUnusual.length);
  return [...keptUnusual, ...keptOk].sort((a, b) => a.invoke.index - b.invoke.index);
}

/** `write 3`, `read → 1`, `cas [1,2]`: the f, the argument unless null, and an ok output that says more. */
export function opLabel(op: { f: string; outcome: Outcome; value: JsonValue; output: JsonValue }, maxChars: number): string {
  const argument = op.value === null ? '' : ` ${shortJson(op.value, maxChars)}`;
  const output = op.outcome === 'ok' && op.output !== null && JSON.stringify(op.output) !== JSON.stringify(op.value) ? ` → ${shortJson(op.output, maxChars)}` : '';
  return `${op.f}${argument}${output}`;
}

function lanesOf(drawn: readonly Operation[], maxLanes: number): { laneOf: Map<number, number>; lanes: number[][] } {
  const processes = [...new Set(drawn.map((op) => op.process))].sort((a, b) => a - b);
  const laneCount = Math.min(processes.length, maxLanes);
  const lanes: number[][] = Array.from({ length: laneCount }, () => []);
  const laneOf = new Map<number, number>();
  processes.forEach((process, rank) => {
    laneOf.set(process, rank % maxLanes);
    lanes[rank % maxLanes]!.push(process);
  });
  return { laneOf, lanes };
}

/** Operations completed per second by outcome, in buckets of a second (wider for a long run, finer for a short one). */
function throughputOf(operations: readonly Operation[], zeroNs: number, spanMs: number, maxBuckets: number): ReportData['throughput'] {
  const SHORT_MS = 5_000;
  let bucketMs = 1_000;
  if (spanMs < SHORT_MS) bucketMs = Math.max(spanMs / 20, 0.001);
  else if (spanMs / 1_000 > maxBuckets) bucketMs = Math.ceil(spanMs / maxBuckets / 1_000) * 1_000;
  const count = Math.max(1, Math.min(maxBuckets, Math.ceil(spanMs / bucketMs)));
  const series = { ok: new Array<number>(count).fill(0), fail: new Array<number>(count).fill(0), info: new Array<number>(count).fill(0) };
  const at = msFrom(zeroNs);
  for (const op of operations) {
    if (op.complete === null) continue;
    series[op.outcome][Math.min(count - 1, Math.floor(at(op.complete.time) / bucketMs))]! += 1;
  }
  const perSecond = (n: number) => Math.round((n * 1_000_000) / bucketMs) / 1_000;
  return { bucketMs, ok: series.ok.map(perSecond), fail: series.fail.map(perSecond), info: series.info.map(perSecond) };
}

function anomalyPanels(check: RunCheck, operations: readonly Operation[], at: (ns: number) => number, limits: ReportLimits): AnomalyPanel[] {
  let byInvoke: Map<number, Operation> | undefined;
  const panel = (title: string, message: string, culprit: OpSummary | null, summaries: readonly OpSummary[]): AnomalyPanel => {
    const seen = new Set<number>();
    const found: Operation[] = [];
    byInvoke ??= new Map(operations.map((op) => [op.invoke.index, op]));
    for (const summary of culprit === null ? summaries : [culprit, ...summaries]) {
      const op = byInvoke.get(summary.invokeIndex);
      if (op === undefined || seen.has(summary.invokeIndex)) continue;
      seen.add(summary.invokeIndex);
      found.push(op);
    }
    // The culprit comes first, so the cut never loses it.
    const kept = found.slice(0, limits.maxAnomalyOps).sort((a, b) => a.invoke.index - b.invoke.index);
    const ops = kept.map((op): AnomalyOp => [
      op.process,
      at(op.invoke.time),
      op.complete === null ? null : at(op.complete.time),
      OUTCOME_CODE[op.outcome],
      opLabel(op, limits.maxValueChars),
      culprit !== null && op.invoke.index === culprit.invokeIndex ? 1 : 0,
    ]);
    return { title, message, ops, omitted: found.length - kept.length };
  };
  if (check.kind === 'safety') return check.result.anomalies.map((anomaly) => panel(anomaly.kind, anomaly.message, null, anomaly.ops));
  if (!check.result.ok) return [];
  const panels: AnomalyPanel[] = [];
  for (const key of check.result.keys) {
    const explanation = key.explanation;
    if (key.verdict !== 'invalid' || explanation === undefined) continue;
    panels.push(panel(`key ${JSON.stringify(key.key)}: not linearizable`, explanation.reason, explanation.failedOp, [...(explanation.prefix?.tail ?? []), ...explanation.concurrent]));
  }
  return panels;
}

export function reportData(operations: readonly Operation[], faults: readonly FaultRecord[], check: RunCheck, limits: ReportLimits): ReportData {
  const zeroNs = operations[0]?.invoke.time ?? faults[0]?.start ?? 0;
  const at = msFrom(zeroNs);
  let lastNs = zeroNs;
  for (const op of operations) lastNs = Math.max(lastNs, op.complete?.time ?? op.invoke.time);
  for (const fault of faults) lastNs = Math.max(lastNs, fault.end);
  const spanMs = Math.max(at(lastNs), 0.001);
  const drawn = sampleOperations(operations, limits.maxDrawnOps);
  const { laneOf, lanes } = lanesOf(drawn, limits.maxLanes);
  return {
    spanMs,
    totalOps: operations.length,
    ops: drawn.map((op): DrawnOp => [
      laneOf.get(op.process)!,
      at(op.invoke.time),
      op.complete === null ? null : at(op.complete.time),
      OUTCOME_CODE[op.outcome],
      `p${op.process} ${shortJson(op.key, limits.maxValueChars)} ${opLabel(op, limits.maxValueChars)}`,
    ]),
    lanes,
    faults: faults.map((fault) => [Math.max(0, at(fault.start)), Math.max(0, at(fault.end)), `${fault.shape} ${fault.nodes.join(',')}`]),
    throughput: throughputOf(operations, zeroNs, spanMs, limits.maxThroughputBuckets),
    anomalies: anomalyPanels(check, operations, at, limits),
  };
}
