// Compact, stable text for the values of the Raft core, as printed in the transcripts of test/raft/testdata.
// Every position is written term/index (the etcd convention): `prev=1/3` is the entry at index 3, of term 1.

import { decodeConfChange } from '../../../src/raft/confchange.js';
import type { ClusterConfig, Entry, HardState, Message, ReadState, SnapshotMeta, SoftState } from '../../../src/raft/types.js';

const decoder = new TextDecoder();

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

export function fmtConfig(config: ClusterConfig): string {
  return `voters=[${config.voters.join(' ')}] learners=[${config.learners.join(' ')}]`;
}

export function fmtEntry(entry: Entry): string {
  const at = `${entry.term}/${entry.index}`;
  if (entry.type === 'confChange') {
    const { change, config } = decodeConfChange(entry.data);
    return `${at} conf ${change.type}${'node' in change ? ` ${change.node}` : ''} => ${fmtConfig(config)}`;
  }
  return entry.data.length === 0 ? `${at} noop` : `${at} ${JSON.stringify(text(entry.data))}`;
}

export function fmtSnapshotMeta(meta: SnapshotMeta): string {
  return `${meta.term}/${meta.index} size=${meta.sizeBytes} ${fmtConfig(meta.config)}`;
}

export function fmtHardState(hard: HardState): string {
  return `term=${hard.term} vote=${hard.vote || 'none'} commit=${hard.commit}`;
}

export function fmtSoftState(soft: SoftState): string {
  return `role=${soft.role} leader=${soft.leader || 'none'}`;
}

export function fmtReadState(read: ReadState): string {
  return `ctx=${read.context} index=${read.index}`;
}

export function fmtMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${message.type} term=${message.term}`;
  switch (message.type) {
    case 'preVote':
    case 'vote':
      return `${head} last=${message.lastLogTerm}/${message.lastLogIndex}${message.transfer ? ' transfer' : ''}`;
    case 'preVoteResponse':
    case 'voteResponse':
      return `${head} ${message.granted ? 'granted' : 'rejected'}`;
    case 'append': {
      const entries = message.entries.map((entry) => `${entry.term}/${entry.index}`).join(' ');
      return `${head} prev=${message.prevLogTerm}/${message.prevLogIndex} entries=[${entries}] commit=${message.commit}`;
    }
    case 'appendResponse':
      return message.success
        ? `${head} ok index=${message.index}`
        : `${head} reject index=${message.index} hint=${message.rejectHintTerm}/${message.rejectHintIndex}`;
    case 'heartbeat':
      return `${head} commit=${message.commit}${message.context ? ` ctx=${message.context}` : ''}`;
    case 'heartbeatResponse':
      return `${head}${message.context ? ` ctx=${message.context}` : ''}`;
    case 'snapshot':
      return `${head} snap=${message.snapshot.term}/${message.snapshot.index} bytes=${message.offset}+${message.length}/${message.snapshot.sizeBytes}${message.last ? ' last' : ''}`;
    case 'snapshotResponse':
      return `${head} snap=${message.snapshotIndex} received=${message.receivedBytes}${message.installed ? ' installed' : ''}`;
    case 'timeoutNow':
      return head;
    case 'forwardProposal':
      return `${head} entries=[${message.entries.map((entry) => JSON.stringify(text(entry.data))).join(' ')}]`;
    case 'readIndex':
      return `${head} ctx=${message.context}`;
    case 'readIndexResponse':
      return `${head} ctx=${message.context} index=${message.index}`;
  }
}
