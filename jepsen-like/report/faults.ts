// Reads nemesis.jsonl back (one FaultRecord a line, as run.ts writes them), for `check --report --nemesis FILE`.

import type { HistoryError, HistoryResult } from '../history.js';
import { NEMESIS_KINDS, type FaultRecord } from '../nemesis.js';

function faultOf(decoded: unknown): FaultRecord | string {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) return 'a fault is a JSON object';
  const { index, kind, shape, nodes, groups, start, end } = decoded as Record<string, unknown>;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) return '"index" must be a non-negative integer';
  if (typeof kind !== 'string' || !(NEMESIS_KINDS as readonly string[]).includes(kind)) return `"kind" must be one of ${NEMESIS_KINDS.join(', ')}`;
  if (typeof shape !== 'string') return '"shape" must be a string';
  if (!Array.isArray(nodes) || !nodes.every((n) => typeof n === 'string')) return '"nodes" must be an array of member names';
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((g) => Array.isArray(g) && g.every((n) => typeof n === 'string')))) return '"groups" must be arrays of member names';
  if (typeof start !== 'number' || !Number.isFinite(start) || start < 0) return '"start" must be a non-negative number of nanoseconds';
  if (typeof end !== 'number' || !Number.isFinite(end) || end < start) return '"end" must be a number of nanoseconds, not before "start"';
  const record = { index, kind: kind as FaultRecord['kind'], shape, nodes: nodes as string[], start, end };
  return groups === undefined ? record : { ...record, groups: groups as string[][] };
}

/** nemesis.jsonl text as fault records; blank lines are skipped; an error names the line. */
export function parseFaults(text: string): HistoryResult<FaultRecord[]> {
  const faults: FaultRecord[] = [];
  const rows = text.split('\n');
  for (let row = 0; row < rows.length; row++) {
    const line = rows[row]!.trim();
    if (line === '') continue;
    const error = (message: string): { ok: false; error: HistoryError } => ({ ok: false, error: { line: row + 1, message } });
    let decoded: unknown;
    try {
      decoded = JSON.parse(line);
    } catch (cause) {
      return error(`not JSON (${(cause as Error).message})`);
    }
    const fault = faultOf(decoded);
    if (typeof fault === 'string') return error(fault);
    faults.push(fault);
  }
  return { ok: true, value: faults };
}
