// `conclave-jepsen soak` (npm run jepsen:soak): one run (run.ts) per workload and nemesis, one after another, each
// in its own directory under the soak's, and the matrix of what they found, rewritten after every run so that a
// soak cut short still leaves its table: matrix.json and matrix.md (workload, nemesis, operations, faults and
// their total time, verdict, problems). The verdict of the soak is the worst of its runs': invalid if any run
// found an anomaly, else unknown if any could not be carried out or checked, else valid.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NemesisKind } from './nemesis.js';
import { runWorkload, type RunOptions, type RunWorkloadName } from './run.js';

/** A run's nemesis: the kinds it takes turns with, and for some of them the only shapes it draws. */
export interface NemesisCell {
  /** As the matrix names it: the kinds and shapes joined with +, or none. */
  readonly label: string;
  readonly kinds: readonly NemesisKind[];
  readonly shapes: Partial<Record<NemesisKind, readonly string[]>>;
}

export interface SoakOptions extends Omit<RunOptions, 'workload' | 'nemesis' | 'nemesisShapes' | 'out' | 'seed'> {
  readonly workloads: readonly RunWorkloadName[];
  /** One run per workload and cell. */
  readonly cells: readonly NemesisCell[];
  readonly out: string;
  /** The first run's seed; each next run takes the next. */
  readonly seed: number;
}

export type SoakVerdict = 'valid' | 'invalid' | 'unknown';

export interface SoakRow {
  readonly workload: RunWorkloadName;
  readonly nemesis: string;
  readonly seed: number;
  readonly dir: string;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  readonly faults: number;
  readonly faultTimeS: number;
  /** valid, invalid, unknown, or error (the run could not be carried out). */
  readonly verdict: string;
  readonly problems: readonly string[];
}

export interface SoakMatrix {
  readonly target: string;
  readonly nodes: number;
  readonly concurrency: number;
  readonly timeS: number;
  readonly rows: readonly SoakRow[];
  readonly totalFaultTimeS: number;
  readonly totalOk: number;
  readonly verdict: SoakVerdict;
}

function verdictOf(rows: readonly SoakRow[]): SoakVerdict {
  if (rows.some((row) => row.verdict === 'invalid')) return 'invalid';
  return rows.every((row) => row.verdict === 'valid') ? 'valid' : 'unknown';
}

function matrixOf(options: SoakOptions, rows: readonly SoakRow[]): SoakMatrix {
  return {
    target: options.target,
    nodes: options.nodes,
    concurrency: options.concurrency,
    timeS: options.timeS,
    rows,
    totalFaultTimeS: rows.reduce((sum, row) => sum + row.faultTimeS, 0),
    totalOk: rows.reduce((sum, row) => sum + row.ok, 0),
    verdict: verdictOf(rows),
  };
}

export async function runSoak(options: SoakOptions, progress: (line: string) => void): Promise<SoakMatrix> {
  mkdirSync(options.out, { recursive: true });
  const rows: SoakRow[] = [];
  const { workloads, cells, out, seed, ...common } = options;
  const total = workloads.length * cells.length;
  for (const workload of workloads) {
    for (const cell of cells) {
      const nemesis = cell.label;
      // A nemesis named twice runs twice, each run in a directory of its own.
      const before = rows.filter((row) => row.workload === workload && row.nemesis === nemesis).length;
      const dir = join(out, before === 0 ? `${workload}-${nemesis}` : `${workload}-${nemesis}-${before + 1}`);
      const runSeed = seed + rows.length;
      progress(`soak ${rows.length + 1}/${total}: ${workload} under ${nemesis}, seed ${runSeed}, into ${dir}`);
      const report = await runWorkload({ ...common, workload, nemesis: cell.kinds, nemesisShapes: cell.shapes, out: dir, seed: runSeed }, (line) => progress(`  ${line}`)).catch((error: unknown) => ({
        results: {} as Record<string, unknown>,
        check: null,
        problems: [`the run could not be carried out: ${error instanceof Error ? error.message : String(error)}`],
      }));
      const operations = (report.results['operations'] ?? { ok: 0, fail: 0, info: 0 }) as { ok: number; fail: number; info: number };
      const faults = (report.results['faults'] ?? { total: 0, faultTimeS: 0 }) as { total: number; faultTimeS: number };
      const row: SoakRow = {
        workload,
        nemesis,
        seed: runSeed,
        dir,
        ok: operations.ok,
        fail: operations.fail,
        info: operations.info,
        faults: faults.total,
        faultTimeS: faults.faultTimeS,
        verdict: String(report.results['verdict'] ?? 'error'),
        problems: report.problems,
      };
      rows.push(row);
      progress(`soak ${rows.length}/${total}: ${workload} under ${nemesis}: ${row.verdict}; ${row.ok} ok, ${row.fail} fail, ${row.info} info; ${row.faults} faults, ${row.faultTimeS.toFixed(1)} s${row.problems.length > 0 ? `; ${row.problems.join('; ')}` : ''}`);
      const matrix = matrixOf(options, rows);
      writeFileSync(join(out, 'matrix.json'), JSON.stringify(matrix, null, 2) + '\n');
      writeFileSync(join(out, 'matrix.md'), formatMatrix(matrix));
    }
  }
  return matrixOf(options, rows);
}

/** The matrix as a Markdown table, with its totals and verdict. */
export function formatMatrix(matrix: SoakMatrix): string {
  const lines = [
    `${matrix.rows.length} runs against ${matrix.target}, ${matrix.nodes} members, ${matrix.concurrency} clients, ${matrix.timeS} s each`,
    '',
    '| workload | nemesis | seed | ok | fail | info | faults | fault time (s) | verdict | problems |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...matrix.rows.map((row) => `| ${row.workload} | ${row.nemesis} | ${row.seed} | ${row.ok} | ${row.fail} | ${row.info} | ${row.faults} | ${row.faultTimeS.toFixed(1)} | ${row.verdict} | ${row.problems.join('; ').replace(/\|/g, '\\|') || '-'} |`),
    '',
    `total: ${matrix.totalOk} ok operations, ${(matrix.totalFaultTimeS / 60).toFixed(1)} min of fault time; overall: ${matrix.verdict}`,
  ];
  return lines.join('\n') + '\n';
}
