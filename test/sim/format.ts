// Human-readable one-liners for traces.

import type { Message, Ready } from '../../src/raft/types.js';

export function fmtMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return `${head} last=${m.lastLogIndex}/t${m.lastLogTerm}${m.transfer ? ' transfer' : ''}`;
    case 'preVoteResponse':
    case 'voteResponse':
      return `${head} ${m.granted ? 'granted' : 'rejected'}`;
    case 'append':
      return `${head} prev=${m.prevLogIndex}/t${m.prevLogTerm} entries=${m.entries.length === 0 ? 0 : `[${m.entries[0]?.index}..${m.entries[m.entries.length - 1]?.index}]`} commit=${m.commit}`;
    case 'appendResponse':
      return `${head} ${m.success ? 'ok' : 'reject'} index=${m.index}${m.success ? '' : ` hint=${m.rejectHintIndex}/t${m.rejectHintTerm}`}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}${m.context ? ` ctx=${m.context}` : ''}`;
    case 'heartbeatResponse':
      return `${head}${m.context ? ` ctx=${m.context}` : ''}`;
    case 'snapshot':
      return `${head} snap=${m.snapshot.index}/t${m.snapshot.term} [${m.offset},${m.offset + m.length})/${m.snapshot.sizeBytes}${m.last ? ' last' : ''}`;
    case 'snapshotResponse':
      return `${head} snap=${m.snapshotIndex} received=${m.receivedBytes}${m.installed ? ' installed' : ''}`;
    case 'forwardProposal':
      return `${head} entries=${m.entries.length}`;
    case 'readIndex':
      return `${head} ctx=${m.context}`;
    case 'readIndexResponse':
      return `${head} ctx=${m.context} index=${m.index}`;
    case 'timeoutNow':
      return head;
  }
}

export function describeReady(rd: Ready): string {
  const parts: string[] = [];
  if (rd.softState) parts.push(`soft(${rd.softState.role},leader=${rd.softState.leader || '-'})`);
  if (rd.hardState) parts.push(`hard(t${rd.hardState.term},v=${rd.hardState.vote || '-'},c${rd.hardState.commit})`);
  if (rd.snapshotChunks.length) parts.push(`chunks=${rd.snapshotChunks.length}`);
  if (rd.snapshot) parts.push(`install(${rd.snapshot.index},t${rd.snapshot.term})`);
  const e = rd.entries;
  if (e.length) parts.push(`entries[${e[0]?.index}..${e[e.length - 1]?.index}]t${e[e.length - 1]?.term}`);
  if (rd.messages.length) parts.push(`msgs=${rd.messages.length}`);
  if (rd.persistedMessages.length) parts.push(`pmsgs=${rd.persistedMessages.length}`);
  const a = rd.committedEntries;
  if (a.length) parts.push(`apply[${a[0]?.index}..${a[a.length - 1]?.index}]`);
  if (rd.readStates.length) parts.push(`reads=${rd.readStates.map((r) => `${r.context}@${r.index}`).join(',')}`);
  return parts.join(' ');
}
