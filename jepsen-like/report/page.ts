// report.html as one self-contained page: inline CSS, the verdict and the run's parameters as escaped HTML, the
// plots' data as JSON in a script element, and the script that draws them (draw.ts). Nothing is fetched.

import type { JsonValue, Operation } from '../history.js';
import type { FaultRecord } from '../nemesis.js';
import type { RunCheck } from '../run.js';
import { DRAW_SCRIPT } from './draw.js';
import { escapeHtml, jsonForScript, shortJson } from './escape.js';
import type { ReportData, ReportLimits } from './model.js';

/** Characters of a parameter's value shown in the run's table. */
const PARAMETER_CHARS = 200;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; } h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; vertical-align: top; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff; font-weight: bold; }
.verdict.valid { background: #2e9b4f; } .verdict.invalid { background: #d64541; } .verdict.unknown, .verdict.error { background: #888; }
.note { color: #666; } code { background: #f4f4f4; padding: 0 3px; }
.plot { display: block; border: 1px solid #eee; }
.plot .label, .plot .tick, .plot .lane { font-size: 10px; fill: #555; } .plot .fault-label { font-size: 10px; fill: #7a4bbd; }
.plot .op-label { font-size: 11px; fill: #111; }
.plot .grid { stroke: #eee; } .plot .fault { fill: #7a4bbd; fill-opacity: 0.12; } .plot .fault-strip { fill: #7a4bbd; }
.plot .fault-veil { fill: #7a4bbd; fill-opacity: 0.18; pointer-events: none; }
.plot .ok { fill: #2e9b4f; stroke: #2e9b4f; } .plot .fail { fill: #d64541; stroke: #d64541; } .plot .info { fill: #e8a33d; stroke: #e8a33d; }
.plot .op, .plot .aop { stroke: none; } .plot .aop { fill-opacity: 0.45; } .plot .aop.culprit { stroke: #000; stroke-width: 2; }
.plot .lat { stroke: none; fill-opacity: 0.6; } .plot path.tput { fill: none; stroke-width: 1.5; }
.key.ok { color: #2e9b4f; } .key.fail { color: #d64541; } .key.info { color: #e8a33d; } .key.fault { color: #7a4bbd; }
#render-error { color: #d64541; white-space: pre-wrap; }
`;

const LEGEND = '<p class="note"><span class="key ok">■ ok</span> <span class="key fail">■ fail</span> <span class="key info">■ info</span> <span class="key fault">■ fault</span></p>';

export interface PageInput {
  readonly title: string;
  readonly operations: readonly Operation[];
  readonly faults: readonly FaultRecord[];
  readonly check: RunCheck;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly data: ReportData;
  readonly limits: ReportLimits;
}

export function verdictOf(check: RunCheck): string {
  if (check.kind === 'safety') return check.result.verdict;
  return check.result.ok ? check.result.verdict : 'error';
}

function row(cells: readonly string[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((cell) => `<${tag}>${escapeHtml(cell)}</${tag}>`).join('')}</tr>`;
}

function summary(input: PageInput): string {
  const outcomes = { ok: 0, fail: 0, info: 0 };
  for (const op of input.operations) outcomes[op.outcome]++;
  const kinds = new Map<string, number>();
  for (const fault of input.faults) kinds.set(fault.kind, (kinds.get(fault.kind) ?? 0) + 1);
  const faults = [...kinds].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'none';
  return `<p>${input.operations.length} operations: ${outcomes.ok} ok, ${outcomes.fail} fail, ${outcomes.info} info; faults: ${escapeHtml(faults)}.</p>`;
}

function checkDetails(check: RunCheck): string {
  if (check.kind === 'safety') {
    const counts = Object.entries(check.result.counts).map(([name, n]) => row([name, String(n)])).join('');
    const reason = check.result.reason === undefined ? '' : `<p>Unknown: ${escapeHtml(check.result.reason)}</p>`;
    return `<table>${row(['checked', 'count'], true)}${counts}</table>${reason}`;
  }
  if (!check.result.ok) return `<p>The history could not be checked: ${escapeHtml(check.result.message)}</p>`;
  const keys = check.result.keys.map((key) =>
    row([JSON.stringify(key.key), key.verdict, String(key.operations), String(key.info), String(key.dropped), String(key.steps), `${Math.round(key.elapsedMs)}`, key.reason ?? '']),
  );
  return `<table>${row(['key', 'verdict', 'operations', 'info', 'dropped', 'steps', 'ms', 'why unknown'], true)}${keys.join('')}</table>`;
}

function parameterTable(parameters: Readonly<Record<string, unknown>>): string {
  // The check has its own section; listed here it would only be cut short.
  const rows = Object.entries(parameters)
    .filter(([name, value]) => name !== 'check' && value !== undefined)
    .map(([name, value]) => row([name, typeof value === 'string' ? value : shortJson(value as JsonValue, PARAMETER_CHARS)]));
  return rows.length === 0 ? '' : `<h3>Parameters</h3><table>${rows.join('')}</table>`;
}

function anomalySections(data: ReportData): string {
  if (data.anomalies.length === 0) return '<p>None: the checker found no anomaly.</p>';
  return data.anomalies
    .map((anomaly, i) => {
      const omitted = anomaly.omitted > 0 ? `<p class="note">${anomaly.omitted} more operations of it are not drawn (REPORT_MAX_ANOMALY_OPS).</p>` : '';
      return `<div class="anomaly"><h3>${escapeHtml(anomaly.title)}</h3><p>${escapeHtml(anomaly.message)}</p>${omitted}<div id="anomaly-${i}"></div></div>`;
    })
    .join('\n');
}

export function renderPage(input: PageInput): string {
  const { data, limits } = input;
  const verdict = verdictOf(input.check);
  const sampled =
    data.ops.length < data.totalOps
      ? `${data.ops.length} of ${data.totalOps} operations drawn (the limit REPORT_MAX_DRAWN_OPS, ${limits.maxDrawnOps}: fail and info ones first, the rest sampled evenly); throughput counts all.`
      : `All ${data.totalOps} operations drawn.`;
  const folded = data.lanes.some((lane) => lane.length > 1) ? ` More processes than REPORT_MAX_LANES (${limits.maxLanes}): they share lanes.` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(input.title)} <span class="verdict ${escapeHtml(verdict)}" id="verdict">${escapeHtml(verdict)}</span></h1>
<section id="run"><h2>Verdict and run</h2>${summary(input)}${checkDetails(input.check)}${parameterTable(input.parameters)}</section>
<section><h2>Timeline of operations per process</h2><p class="note">${sampled}${folded} A bar runs from invocation to completion; info runs to the end, since it may still take effect. Shaded: faults. Hover for details.</p>${LEGEND}<div id="timeline"></div></section>
<section><h2>Latency</h2><p class="note">Each completed operation drawn at its invocation; log scale.</p>${LEGEND}<div id="latency"></div></section>
<section><h2>Throughput</h2><p class="note">Completions per second by outcome, in buckets of ${data.throughput.bucketMs >= 1000 ? `${data.throughput.bucketMs / 1000} s` : `${data.throughput.bucketMs} ms`}.</p>${LEGEND}<div id="throughput"></div></section>
<section id="anomalies"><h2>Anomalies</h2>${anomalySections(data)}</section>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${DRAW_SCRIPT}</script>
</body></html>
`;
}
