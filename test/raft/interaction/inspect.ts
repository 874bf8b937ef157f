// What the `status`, `raft-log`, `storage` and `check` commands of the interaction environment show.

import type { RaftNode } from '../../../src/raft/node.js';
import { index } from '../../../src/raft/types.js';
import type { EnvNode } from './env.js';
import { fmtConfig, fmtEntry, fmtHardState, fmtSnapshotMeta } from './format.js';
import { decodeValues } from './storage.js';

/** The facts `check` compares, by name. */
export function facts(node: EnvNode): Map<string, string> {
  const result = new Map<string, string>([
    ['values', node.values.join(',')],
    ['reads', node.servedReads.join(',')],
    ['applied', String(node.applied)],
    ['up', String(node.raft !== null)],
  ]);
  if (node.raft === null) return result;
  const status = node.raft.status();
  const more: [string, string | number][] = [
    ['role', status.role],
    ['term', status.term],
    ['leader', status.leader || 'none'],
    ['vote', status.vote || 'none'],
    ['commit', status.commit],
    ['stable', status.stable],
    ['first', status.firstIndex],
    ['last', status.lastIndex],
    ['voters', status.config.voters.join(',')],
    ['learners', status.config.learners.join(',')],
    ['transferee', status.leadTransferee || 'none'],
    ['snapshot', status.snapshot ? `${status.snapshot.term}/${status.snapshot.index}` : 'none'],
  ];
  for (const [key, value] of more) result.set(key, String(value));
  for (const [peer, progress] of status.progress) {
    result.set(`match-${peer}`, String(progress.match));
    result.set(`next-${peer}`, String(progress.next));
    result.set(`state-${peer}`, progress.state);
  }
  return result;
}

export function statusLines(node: EnvNode): string[] {
  if (node.raft === null) return [`${node.id} is down`];
  const s = node.raft.status();
  const lines = [
    `${s.id} ${s.role} term=${s.term} leader=${s.leader || 'none'} vote=${s.vote || 'none'} commit=${s.commit} applied=${node.applied} stable=${s.stable} log=${s.firstIndex}..${s.lastIndex}`,
    `  config ${fmtConfig(s.config)}${s.leadTransferee ? ` transferring to ${s.leadTransferee}` : ''}`,
  ];
  if (s.snapshot !== null) lines.push(`  snapshot ${fmtSnapshotMeta(s.snapshot)}`);
  for (const peer of [...s.progress.keys()].sort()) {
    const progress = s.progress.get(peer);
    if (progress) lines.push(`  progress ${peer} ${progress.state} match=${progress.match} next=${progress.next}`);
  }
  return lines;
}

export function raftLogLines(raft: RaftNode): string[] {
  const status = raft.status();
  const lines: string[] = [];
  if (status.firstIndex > 1) lines.push(`(compacted up to ${status.firstIndex - 1})`);
  if (status.lastIndex < status.firstIndex) lines.push('(empty)');
  for (let at = status.firstIndex; at <= status.lastIndex; at++) {
    const entry = raft.entryAt(index(at));
    if (entry) lines.push(`${fmtEntry(entry)}${at <= status.commit ? '' : ' (uncommitted)'}`);
  }
  return lines;
}

export function storageLines(node: EnvNode): string[] {
  const { storage } = node;
  const lines = [`hard ${fmtHardState(storage.hardState)}`];
  if (storage.snapshot) lines.push(`snapshot ${fmtSnapshotMeta(storage.snapshot.meta)} values=${JSON.stringify(decodeValues(storage.snapshot.data))}`);
  if (storage.partial) lines.push(`partial snapshot ${storage.partial.meta.term}/${storage.partial.meta.index} ${storage.partial.data.length}/${storage.partial.meta.sizeBytes} bytes`);
  for (const entry of storage.entries) lines.push(fmtEntry(entry));
  lines.push(`state machine${node.raft === null ? ' (lost: down)' : ''} applied=${node.applied} values=${JSON.stringify(node.values)}`);
  return lines;
}
