// The lock and election workloads' checker: mutual exclusion as storage sees it, through fenced writes.
//
// Operations, per lock or election name (the key):
// - `acquire` (lock) or `campaign` (election): invoke value null; ok output the fencing token (an integer: the
//   waiter's or the leader's key's create revision).
// - `fenced-write`: invoke value the token the writer holds; ok output the storage revision at which the guarded
//   write was accepted; fail = the storage refused it (its token was no longer the holder's).
// - `release` / `resign`: not checked.
// - `grants`: invoke value null; ok output the create revisions of every waiter (or candidate) key the name ever
//   had, as the committed history shows them after healing (the workload reads them from revision 1).
//
// Anomalies:
// - `token-went-back`: taken in the storage's own order (its revisions), an accepted write carries a token smaller
//   than one accepted before it: a holder wrote after the lock had moved on.
// - `stale-write-after`: an accepted write whose invocation came after another accepted write with a larger token
//   had completed (real time; needs no revisions).
// - `grant-went-back`: an acquisition acknowledged with a token not larger than one acknowledged before it was
//   invoked: the lock (or office) was handed out again under an older or equal token.
// Info operations constrain nothing (their effect, if any, is unknown); failed writes are the storage doing its job.

import type { Operation } from '../history.js';
import { AnomalyList, byKey, precedes, type SafetyResult } from './anomalies.js';

const ACQUIRE = new Set(['acquire', 'campaign']);

function integer(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
}

interface Fenced {
  readonly op: Operation;
  readonly token: number;
}

export function checkFencedWrites(operations: readonly Operation[]): SafetyResult {
  const anomalies = new AnomalyList();
  const counts: Record<string, number> = { names: 0, acquisitions: 0, acquisitionsConfirmed: 0, acceptedWrites: 0, refusedWrites: 0, unknownWrites: 0 };
  for (const [key, ops] of byKey(operations)) {
    counts.names = (counts.names ?? 0) + 1;
    const grants: Fenced[] = [];
    const accepted: (Fenced & { readonly revision: number })[] = [];
    let committed: { readonly op: Operation; readonly creations: ReadonlySet<number> } | undefined;
    for (const op of ops) {
      if (ACQUIRE.has(op.f)) {
        if (op.outcome !== 'ok') continue;
        const token = integer(op.output);
        if (token === null) return malformed(`${op.f} of ${JSON.stringify(key)} (index ${op.invoke.index}) answered ${JSON.stringify(op.output)}, not an integer token`);
        grants.push({ op, token });
      } else if (op.f === 'fenced-write') {
        const token = integer(op.value);
        if (token === null) return malformed(`fenced-write of ${JSON.stringify(key)} (index ${op.invoke.index}) carries ${JSON.stringify(op.value)}, not an integer token`);
        if (op.outcome === 'fail') counts.refusedWrites = (counts.refusedWrites ?? 0) + 1;
        if (op.outcome === 'info') counts.unknownWrites = (counts.unknownWrites ?? 0) + 1;
        if (op.outcome !== 'ok') continue;
        const revision = integer(op.output);
        if (revision === null) return malformed(`fenced-write of ${JSON.stringify(key)} (index ${op.invoke.index}) answered ${JSON.stringify(op.output)}, not the revision it was accepted at`);
        accepted.push({ op, token, revision });
      } else if (op.f === 'grants' && op.outcome === 'ok') {
        const creations = Array.isArray(op.output) ? op.output.map(integer) : null;
        if (creations === null || creations.includes(null)) return malformed(`grants of ${JSON.stringify(key)} (index ${op.invoke.index}) answered ${JSON.stringify(op.output)}, not an array of create revisions`);
        if (committed === undefined || (op.complete?.index ?? 0) > (committed.op.complete?.index ?? 0)) committed = { op, creations: new Set(creations as number[]) };
      }
    }
    counts.acquisitions = (counts.acquisitions ?? 0) + grants.length;
    counts.acceptedWrites = (counts.acceptedWrites ?? 0) + accepted.length;
    const name = JSON.stringify(key);
    // In the storage's order.
    const inStorage = [...accepted].sort((a, b) => a.revision - b.revision);
    let highest: (typeof inStorage)[number] | undefined;
    for (const write of inStorage) {
      if (highest !== undefined && write.token < highest.token) {
        anomalies.add('token-went-back', `${name}: the write accepted at revision ${write.revision} carries token ${write.token}, after one with token ${highest.token} was accepted at revision ${highest.revision}`, [highest.op, write.op]);
      }
      if (highest === undefined || write.token > highest.token) highest = write;
    }
    sweep(accepted, (earlier, later) => later.token < earlier.token, (earlier, later) =>
      anomalies.add('stale-write-after', `${name}: a write with token ${later.token} was accepted although it began after a write with token ${earlier.token} had been accepted`, [earlier.op, later.op]),
    );
    if (committed !== undefined) {
      for (const grant of grants) {
        if (!precedes(grant.op, committed.op)) continue;
        if (committed.creations.has(grant.token)) counts.acquisitionsConfirmed = (counts.acquisitionsConfirmed ?? 0) + 1;
        else anomalies.add('lost-acquisition', `${name}: ${grant.op.f} was granted token ${grant.token}, but the committed history after healing created no key of ${name} at that revision`, [grant.op, committed.op]);
      }
    }
    sweep(grants, (earlier, later) => later.token <= earlier.token, (earlier, later) =>
      anomalies.add('grant-went-back', `${name}: ${later.op.f} was granted token ${later.token} although it began after a grant of token ${earlier.token}`, [earlier.op, later.op]),
    );
  }
  return anomalies.result(counts);
}

/**
 * For each operation, the one with the largest token among those that completed before it began: `bad(earlier,
 * later)` says whether that pair is an anomaly, reported with `report`. O(n log n).
 */
function sweep(items: readonly Fenced[], bad: (earlier: Fenced, later: Fenced) => boolean, report: (earlier: Fenced, later: Fenced) => void): void {
  const byCompletion = items.filter((item) => item.op.complete !== null).sort((a, b) => (a.op.complete?.time ?? 0) - (b.op.complete?.time ?? 0));
  const byInvocation = [...items].sort((a, b) => a.op.invoke.time - b.op.invoke.time);
  let done = 0;
  let largest: Fenced | undefined;
  for (const later of byInvocation) {
    while (done < byCompletion.length && precedes((byCompletion[done] as Fenced).op, later.op)) {
      const earlier = byCompletion[done++] as Fenced;
      if (largest === undefined || earlier.token > largest.token) largest = earlier;
    }
    if (largest !== undefined && bad(largest, later)) report(largest, later);
  }
}

function malformed(message: string): SafetyResult {
  return { verdict: 'unknown', anomalies: [], reason: `not a fenced-write history: ${message}`, counts: {} };
}
