// report.html: one self-contained page (no server, no network) with the verdict and the run's parameters, a
// timeline of the operations per process with the faults shaded, latency and throughput over time, and each
// anomaly's operations on a timeline of their own. See docs/jepsen-like.md, "Reports".

import { writeFileSync } from 'node:fs';
import type { Operation } from '../history.js';
import type { FaultRecord } from '../nemesis.js';
import type { RunCheck } from '../run.js';
import { DEFAULT_REPORT_LIMITS, reportData, type ReportLimits } from './model.js';
import { renderPage } from './page.js';

export interface ReportInput {
  readonly title: string;
  /** Paired, in invocation order (history.ts). */
  readonly operations: readonly Operation[];
  /** nemesis.jsonl's records, times on the history's clock; none for a history checked without them. */
  readonly faults: readonly FaultRecord[];
  readonly check: RunCheck;
  /** Shown as a table (results.json's fields for a run); a "check" field is left out, as the check has its own section. */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly limits?: Partial<ReportLimits>;
}

export function buildReport(input: ReportInput): string {
  const limits = { ...DEFAULT_REPORT_LIMITS, ...input.limits };
  const data = reportData(input.operations, input.faults, input.check, limits);
  return renderPage({ ...input, data, limits });
}

/** Writes the report; returns its size and the time it took to build and write. */
export function writeReport(path: string, input: ReportInput): { bytes: number; ms: number } {
  const started = performance.now();
  const html = buildReport(input);
  writeFileSync(path, html);
  return { bytes: Buffer.byteLength(html), ms: performance.now() - started };
}
