// report.html opened in headless Chromium, as a person would open it (file://, no server): its script must
// draw every plot. The dumped DOM must hold the SVG the script makes (a bar per operation, a latency point per
// completed one, the throughput lines, the faults, the anomaly's operations with their values), with no markup
// from the history's values; a screenshot must show the plots' colours. Needs chromium on PATH
// (apt-get install chromium); without it the test fails, saying so.

import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../jepsen-like/report/index.js';
import type { ReportData } from '../../jepsen-like/report/model.js';
import { countColour, decodePng } from './png.js';
import { invalidRegisterReport } from './report-fixtures.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'conclave-jepsen-chromium-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Generous for a loaded machine; Chromium takes a second or two. */
const CHROMIUM_TIMEOUT_MS = 40_000;

function onPath(names: readonly string[]): string | null {
  for (const folder of (process.env['PATH'] ?? '').split(delimiter)) {
    for (const name of names) {
      try {
        accessSync(join(folder, name), constants.X_OK);
        return join(folder, name);
      } catch {
        // not here
      }
    }
  }
  return null;
}

async function chromium(args: readonly string[]): Promise<string> {
  const binary = onPath(['chromium', 'chromium-browser']);
  if (binary === null) throw new Error('chromium is not on PATH: install chromium: apt-get install chromium');
  const { stdout } = await run(binary, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, ...args], {
    timeout: CHROMIUM_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** The serialized DOM between two markers. */
function between(dom: string, from: string, to: string): string {
  const start = dom.indexOf(from);
  const end = dom.indexOf(to, start);
  expect(start, `the page has ${from}`).toBeGreaterThanOrEqual(0);
  return dom.slice(start, end < 0 ? undefined : end);
}

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;

describe('report.html in headless Chromium', () => {
  const input = invalidRegisterReport();
  const html = buildReport(input);
  const data = JSON.parse(/id="report-data">([^<]*)</.exec(html)![1]!) as ReportData;
  const path = join(dir, 'report.html');
  writeFileSync(path, html);
  const url = pathToFileURL(path).href;
  const shot = join(dir, 'shot.png');
  // One browser for both tests: the DOM after the script ran, and a screenshot of the first 2000 pixels. Each test
  // awaits it, so a missing chromium fails both.
  let opened: Promise<string> | undefined;
  const open = () => (opened ??= chromium(['--hide-scrollbars', '--window-size=1240,2000', `--screenshot=${shot}`, '--dump-dom', url]));

  it('draws the timeline, latency, throughput and the anomaly as SVG, with the values as text only', async () => {
    const dom = await open();
    expect(dom, 'the script ran to the end').toContain('data-rendered="true"');
    expect(dom).not.toContain('id="render-error"');

    const timeline = between(dom, '<div id="timeline">', '<div id="latency">');
    const outcomes = { ok: 0, fail: 0, info: 0 };
    for (const op of input.operations) outcomes[op.outcome]++;
    expect(outcomes.fail).toBeGreaterThan(0);
    expect(outcomes.info).toBeGreaterThan(0);
    for (const outcome of ['ok', 'fail', 'info'] as const) {
      expect(count(timeline, new RegExp(`<rect [^>]*class="op ${outcome}"`, 'g')), `${outcome} bars`).toBe(outcomes[outcome]);
    }
    for (const bar of timeline.matchAll(/<rect x="([^"]+)" y="[^"]+" width="([^"]+)"[^>]*class="op /g)) {
      const [x, width] = [Number(bar[1]), Number(bar[2])];
      expect(x).toBeGreaterThanOrEqual(70);
      expect(width).toBeGreaterThanOrEqual(1);
      expect(x + width).toBeLessThanOrEqual(1100);
    }
    expect(count(timeline, /<rect [^>]*class="fault"/g)).toBe(input.faults.length);
    expect(count(timeline, /<rect [^>]*class="fault-veil"/g)).toBe(input.faults.length);
    expect(timeline).toMatch(/<text [^>]*class="fault-label"[^>]*>kill-leader &lt;b&gt;n2&lt;\/b&gt;</);

    const latency = between(dom, '<div id="latency">', '<div id="throughput">');
    const completed = input.operations.filter((op) => op.complete !== null).length;
    expect(count(latency, /<circle [^>]*class="lat (ok|fail|info)"/g)).toBe(completed);

    const throughput = between(dom, '<div id="throughput">', '<section id="anomalies">');
    const paths = [...throughput.matchAll(/<path d="M([^"]+)" class="tput (ok|fail|info)"/g)];
    expect(paths.map((p) => p[2])).toEqual(['ok', 'fail', 'info']);
    for (const p of paths) expect(p[1]!.split(' L')).toHaveLength(data.throughput.ok.length);

    const anomaly = between(dom, '<div id="anomaly-0">', '</section>');
    const panel = data.anomalies[0]!;
    expect(count(anomaly, /<rect [^>]*class="aop /g)).toBe(panel.ops.length);
    expect(count(anomaly, /<rect [^>]*class="aop ok culprit"/g)).toBe(1);
    expect(anomaly).toContain('>write "later"</text>');
    expect(anomaly).toContain('>read → "&lt;/script&gt;&lt;script&gt;window.injected=1&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"  ✗</text>');

    // Nothing from the values became an element.
    expect(dom).not.toMatch(/<img|<b>n2|<i>fixture/);
    expect(count(dom, /<script/g)).toBe(2);
  }, 60_000);

  it('paints the plots: bars, faults and points in their colours on a screenshot', async () => {
    await open();
    const image = decodePng(readFileSync(shot));
    expect(image.width).toBe(1240);
    // The colours of ok, fail and info bars outside faults, and of a fault's shading over white: far more of each
    // than the legend's few hundred pixels (drawn, about 3,300 green, 3,100 red, 6,200 orange, 440,000 shaded).
    expect(countColour(image, [46, 155, 79]), 'ok green').toBeGreaterThan(1_500);
    expect(countColour(image, [214, 69, 65]), 'fail red').toBeGreaterThan(1_500);
    expect(countColour(image, [232, 163, 61]), 'info orange').toBeGreaterThan(3_000);
    // The band (0.12) and the veil over it (0.18) of #7a4bbd, over white.
    expect(countColour(image, [218, 205, 237], 4), 'fault shading').toBeGreaterThan(50_000);
  }, 60_000);
});
