// report.html's builder: what it embeds and how it escapes, its bounds on long histories, and the anomaly
// sections (present for an invalid history, absent for a valid one). report-chromium.test.ts draws it.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRegisterLinearizable } from '../../jepsen-like/checkers/linearizable.js';
import { checkSet } from '../../jepsen-like/checkers/set.js';
import { EXIT_INVALID, EXIT_UNKNOWN, runJepsen } from '../../jepsen-like/command.js';
import { formatHistory, pairOperations } from '../../jepsen-like/history.js';
import { REPORT_MAX_DRAWN_OPS } from '../../jepsen-like/limits.js';
import { escapeHtml, jsonForScript } from '../../jepsen-like/report/escape.js';
import { buildReport, type ReportInput } from '../../jepsen-like/report/index.js';
import type { ReportData } from '../../jepsen-like/report/model.js';
import { HistoryBuilder } from './build-history.js';
import { FAULTS, INJECTED, invalidRegisterReport } from './report-fixtures.js';
import { generateRegisterHistory } from './register-histories.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function embedded(html: string): ReportData {
  const match = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  expect(match, 'the page embeds its data').not.toBeNull();
  return JSON.parse(match![1]!) as ReportData;
}

function validReport(operations: number, limits?: ReportInput['limits']): ReportInput {
  const paired = pairOperations(generateRegisterHistory({ seed: 4, clients: 8, operations, keys: 4, infoRate: 0.05, failRate: 0.05 }));
  if (!paired.ok) throw new Error(paired.error.message);
  const result = checkRegisterLinearizable(paired.value);
  expect(result.ok && result.verdict).toBe('valid');
  return { title: 'valid', operations: paired.value, faults: [], check: { kind: 'linearizable', result }, parameters: {}, ...(limits ? { limits } : {}) };
}

describe('escaping', () => {
  it('escapes markup in text and keeps JSON inside a script element from closing it', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const json = jsonForScript({ v: '</script><!-- \u2028 &' });
    expect(json).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(json)).toEqual({ v: '</script><!-- \u2028 &' });
  });

  it('lets no value, key, parameter, title or fault of the history into the page as markup', () => {
    const html = buildReport(invalidRegisterReport());
    // Only the page's own two script elements, and no element from user data.
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<i>fixture');
    expect(html).not.toContain('<b>n2');
    expect(html).toContain('register &lt;i&gt;fixture&lt;/i&gt;');
    expect(html).toContain(escapeHtml(INJECTED));
    // The values still reach the plots intact, as data.
    const data = embedded(html);
    expect(data.anomalies[0]!.ops.some((op) => op[4].includes('</script><script>window.injected=1'))).toBe(true);
    expect(data.faults.map((fault) => fault[2])).toEqual(['isolate-one n1', 'kill-leader <b>n2</b>']);
  });

  it('fetches nothing: no external URL, stylesheet or script source', () => {
    const html = buildReport(invalidRegisterReport());
    expect(html).not.toMatch(/<[a-z]+[^>]*\s(src|href)=/i);
    expect(html).not.toMatch(/<link|@import|url\(/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});

describe('what the report draws', () => {
  it('embeds every operation of a short history with its lane, times and outcome, the faults and the throughput', () => {
    const input = invalidRegisterReport();
    const data = embedded(buildReport(input));
    expect(data.totalOps).toBe(input.operations.length);
    expect(data.ops).toHaveLength(input.operations.length);
    expect(data.ops.map((op) => op[3]).sort()).toEqual(input.operations.map((op) => ({ ok: 0, fail: 1, info: 2 })[op.outcome]).sort());
    // Ops are in invocation order; the first starts at 0 and ends 1 µs later (HistoryBuilder's clock).
    expect(data.ops[0]).toEqual([0, 0, 0.001, 0, 'p0 "x" write 1']);
    // Process 5's write never completed: no end.
    expect(data.ops.find((op) => op[4].startsWith('p5'))![2]).toBeNull();
    expect(data.faults).toEqual([[0.002, 0.009, 'isolate-one n1'], [0.014, 0.019, 'kill-leader <b>n2</b>']]);
    const completed = input.operations.filter((op) => op.complete !== null);
    const perSecond = (series: number[]) => series.reduce((sum, rate) => sum + (rate * data.throughput.bucketMs) / 1000, 0);
    expect(perSecond(data.throughput.ok) + perSecond(data.throughput.fail) + perSecond(data.throughput.info)).toBeCloseTo(completed.length, 6);
  });

  it('samples a long history down to the limit, fail and info first, and says so on the page', () => {
    const input = validReport(5000, { maxDrawnOps: 1000 });
    const html = buildReport(input);
    const data = embedded(html);
    expect(data.totalOps).toBe(5000);
    expect(data.ops).toHaveLength(1000);
    const unusual = input.operations.filter((op) => op.outcome !== 'ok').length;
    expect(data.ops.filter((op) => op[3] !== 0)).toHaveLength(Math.min(unusual, 500));
    expect(html).toContain('1000 of 5000 operations drawn (the limit REPORT_MAX_DRAWN_OPS, 1000');
    // Throughput still counts all of them.
    const okCount = input.operations.filter((op) => op.outcome === 'ok').length;
    expect(data.throughput.ok.reduce((sum, rate) => sum + (rate * data.throughput.bucketMs) / 1000, 0)).toBeCloseTo(okCount, 3);
  });

  it('stays a few MB for 60,000 operations with the default limits', () => {
    const html = buildReport(validReport(60_000));
    expect(embedded(html).ops).toHaveLength(REPORT_MAX_DRAWN_OPS);
    expect(Buffer.byteLength(html)).toBeLessThan(4_000_000);
  }, 30_000);

  it('makes a page of an empty history too', () => {
    const result = checkRegisterLinearizable([]);
    const html = buildReport({ title: 'empty', operations: [], faults: FAULTS, check: { kind: 'linearizable', result }, parameters: {} });
    const data = embedded(html);
    expect(data.ops).toEqual([]);
    expect(data.faults).toHaveLength(2);
    expect(html).toContain('All 0 operations drawn.');
  });

  it('folds processes beyond the lane limit into shared lanes and says so', () => {
    const h = new HistoryBuilder();
    for (let p = 0; p < 5; p++) h.op(p, 'write', 'x', p);
    const operations = h.operations();
    const result = checkRegisterLinearizable(operations);
    const html = buildReport({ title: 't', operations, faults: [], check: { kind: 'linearizable', result }, parameters: {}, limits: { maxLanes: 2 } });
    expect(embedded(html).lanes).toEqual([[0, 2, 4], [1, 3]]);
    expect(html).toContain('More processes than REPORT_MAX_LANES (2)');
  });
});

describe('anomaly sections', () => {
  it('draws the invalid key with the read that could not be linearized and the operations around it', () => {
    const html = buildReport(invalidRegisterReport());
    expect(html).toContain('<span class="verdict invalid" id="verdict">invalid</span>');
    const data = embedded(html);
    expect(data.anomalies).toHaveLength(1);
    const [panel] = data.anomalies;
    expect(panel!.title).toBe('key "y": not linearizable');
    const culprits = panel!.ops.filter((op) => op[5] === 1);
    expect(culprits).toHaveLength(1);
    expect(culprits[0]![4]).toBe(`read → ${JSON.stringify(INJECTED)}`);
    expect(panel!.ops.map((op) => op[4])).toContain('write "later"');
    expect(html).toContain('<div class="anomaly"><h3>key &quot;y&quot;: not linearizable</h3>');
    expect(html).toContain('<div id="anomaly-0"></div>');
  });

  it('has none for a valid history', () => {
    const html = buildReport(validReport(300));
    expect(embedded(html).anomalies).toEqual([]);
    expect(html).not.toContain('class="anomaly"');
    expect(html).not.toContain('id="anomaly-');
    expect(html).toContain('None: the checker found no anomaly.');
  });

  it("draws a safety checker's anomalies with their operations", () => {
    const h = new HistoryBuilder().op(1, 'add', 's', 1).op(1, 'add', 's', 2).op(2, 'read', 's', null, [1]);
    const operations = h.operations();
    const result = checkSet(operations);
    expect(result.verdict).toBe('invalid');
    const data = embedded(buildReport({ title: 'set', operations, faults: [], check: { kind: 'safety', result }, parameters: {} }));
    expect(data.anomalies.map((panel) => panel.title)).toEqual(['lost']);
    expect(data.anomalies[0]!.ops.map((op) => op[4])).toEqual(['add 2', 'read → [1]']);
  });
});

describe('conclave-jepsen check --report', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t) } };
  };
  const historyPath = join(dir, 'history.jsonl');
  const nemesisPath = join(dir, 'nemesis.jsonl');
  writeFileSync(historyPath, formatHistory(invalidRegisterReport().operations.flatMap((op) => (op.complete ? [op.invoke, op.complete] : [op.invoke])).sort((a, b) => a.index - b.index)));
  writeFileSync(nemesisPath, FAULTS.map((fault) => JSON.stringify(fault) + '\n').join(''));

  it('writes the report with the faults of --nemesis, and keeps the verdict as exit code', async () => {
    const reportPath = join(dir, 'report.html');
    const { out, io: sink } = io();
    const code = await runJepsen(['check', '--workload', 'register', '--report', reportPath, '--nemesis', nemesisPath, historyPath], sink);
    expect(code).toBe(EXIT_INVALID);
    expect(out.stderr).toContain(`wrote ${reportPath}`);
    const data = embedded(readFileSync(reportPath, 'utf8'));
    expect(data.faults).toHaveLength(2);
    expect(data.anomalies[0]!.title).toBe('key "y": not linearizable');
  });

  it('refuses --nemesis without --report, and a bad nemesis line, naming them and writing nothing', async () => {
    const alone = io();
    expect(await runJepsen(['check', '--workload', 'register', '--nemesis', nemesisPath, historyPath], alone.io)).toBe(EXIT_UNKNOWN);
    expect(alone.out.stderr).toContain('--nemesis FILE is read only for --report FILE');
    const bad = join(dir, 'bad-nemesis.jsonl');
    writeFileSync(bad, JSON.stringify(FAULTS[0]) + '\n' + JSON.stringify({ ...FAULTS[1], end: 1 }) + '\n');
    const reportPath = join(dir, 'not-written.html');
    const wrong = io();
    expect(await runJepsen(['check', '--workload', 'register', '--report', reportPath, '--nemesis', bad, historyPath], wrong.io)).toBe(EXIT_UNKNOWN);
    expect(wrong.out.stderr).toContain(`${bad} line 2: "end" must be a number of nanoseconds, not before "start"`);
    expect(wrong.out.stdout).toBe('');
    expect(() => readFileSync(reportPath)).toThrow();
  });
});
