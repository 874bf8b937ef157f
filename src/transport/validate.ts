// Structural validation of a decoded peer message. Whatever a peer sends is untrusted until it passes here: the
// result is a fresh object holding only the fields of its type, each of the right type, so that nothing a
// peer adds (or leaves out) reaches the Raft core.

import type { ClusterConfig, Entry, EntryType, Message, MessageType, NodeId, SnapshotMeta } from '../raft/types.js';
import { index, nodeId, term } from '../raft/types.js';

/** Why a value is not a message (names the field), or the message rebuilt from it. */
export type ParseResult = { readonly ok: true; readonly message: Message } | { readonly ok: false; readonly reason: string };

class Invalid extends Error {}

type Fields = Readonly<Record<string, unknown>>;

const MESSAGE_TYPES: ReadonlySet<string> = new Set<MessageType>([
  'preVote',
  'preVoteResponse',
  'vote',
  'voteResponse',
  'append',
  'appendResponse',
  'heartbeat',
  'heartbeatResponse',
  'snapshot',
  'snapshotResponse',
  'timeoutNow',
  'forwardProposal',
  'readIndex',
  'readIndexResponse',
]);

const ENTRY_TYPES: ReadonlySet<string> = new Set<EntryType>(['normal', 'confChange']);

function record(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new Invalid(`${what} is not a map`);
  }
  return value as Fields;
}

function count(fields: Fields, name: string): number {
  const value = fields[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Invalid(`${name} is not a non-negative integer`);
  return value;
}

function flag(fields: Fields, name: string): boolean {
  const value = fields[name];
  if (typeof value !== 'boolean') throw new Invalid(`${name} is not a boolean`);
  return value;
}

function text(fields: Fields, name: string): string {
  const value = fields[name];
  if (typeof value !== 'string') throw new Invalid(`${name} is not a string`);
  return value;
}

function bytes(fields: Fields, name: string): Uint8Array {
  const value = fields[name];
  if (!(value instanceof Uint8Array)) throw new Invalid(`${name} is not binary`);
  return value;
}

function list(fields: Fields, name: string): readonly unknown[] {
  const value = fields[name];
  if (!Array.isArray(value)) throw new Invalid(`${name} is not an array`);
  return value;
}

function member(fields: Fields, name: string): NodeId {
  return nodeId(text(fields, name));
}

function members(fields: Fields, name: string): NodeId[] {
  return list(fields, name).map((value, i) => {
    if (typeof value !== 'string') throw new Invalid(`${name}[${i}] is not a string`);
    return nodeId(value);
  });
}

function entryType(fields: Fields): EntryType {
  const value = text(fields, 'type');
  if (!ENTRY_TYPES.has(value)) throw new Invalid(`entry type "${value.slice(0, 32)}" is unknown`);
  return value as EntryType;
}

function entry(value: unknown, i: number): Entry {
  const fields = record(value, `entries[${i}]`);
  return { term: term(count(fields, 'term')), index: index(count(fields, 'index')), type: entryType(fields), data: bytes(fields, 'data') };
}

function proposal(value: unknown, i: number): { type: EntryType; data: Uint8Array } {
  const fields = record(value, `entries[${i}]`);
  return { type: entryType(fields), data: bytes(fields, 'data') };
}

function config(value: unknown): ClusterConfig {
  const fields = record(value, 'snapshot.config');
  return { voters: members(fields, 'voters'), learners: members(fields, 'learners') };
}

function snapshotMeta(value: unknown): SnapshotMeta {
  const fields = record(value, 'snapshot');
  return { index: index(count(fields, 'index')), term: term(count(fields, 'term')), config: config(fields['config']), sizeBytes: count(fields, 'sizeBytes') };
}

function build(fields: Fields): Message {
  const type = text(fields, 'type');
  if (!MESSAGE_TYPES.has(type)) throw new Invalid(`message type "${type.slice(0, 32)}" is unknown`);
  // Object literals with the common fields spelt out (not spread from a shared base): V8 builds them several
  // times faster, which matters at tens of thousands of messages per second.
  const from = member(fields, 'from');
  const to = member(fields, 'to');
  const at = term(count(fields, 'term'));
  switch (type as MessageType) {
    case 'preVote':
    case 'vote':
      return {
        type: type as 'preVote' | 'vote',
        from,
        to,
        term: at,
        lastLogIndex: index(count(fields, 'lastLogIndex')),
        lastLogTerm: term(count(fields, 'lastLogTerm')),
        transfer: flag(fields, 'transfer'),
      };
    case 'preVoteResponse':
    case 'voteResponse':
      return { type: type as 'preVoteResponse' | 'voteResponse', from, to, term: at, granted: flag(fields, 'granted') };
    case 'append':
      return {
        type: 'append',
        from,
        to,
        term: at,
        prevLogIndex: index(count(fields, 'prevLogIndex')),
        prevLogTerm: term(count(fields, 'prevLogTerm')),
        entries: list(fields, 'entries').map(entry),
        commit: index(count(fields, 'commit')),
      };
    case 'appendResponse':
      return {
        type: 'appendResponse',
        from,
        to,
        term: at,
        success: flag(fields, 'success'),
        index: index(count(fields, 'index')),
        rejectHintIndex: index(count(fields, 'rejectHintIndex')),
        rejectHintTerm: term(count(fields, 'rejectHintTerm')),
      };
    case 'heartbeat':
      return { type: 'heartbeat', from, to, term: at, commit: index(count(fields, 'commit')), context: text(fields, 'context') };
    case 'heartbeatResponse':
      return { type: 'heartbeatResponse', from, to, term: at, context: text(fields, 'context') };
    case 'snapshot': {
      const length = count(fields, 'length');
      const data = bytes(fields, 'data');
      // The one check beyond types: a chunk whose bytes disagree with its own length is garbage, not a chunk.
      if (data.length !== length) throw new Invalid(`data holds ${data.length} bytes but length says ${length}`);
      return { type: 'snapshot', from, to, term: at, snapshot: snapshotMeta(fields['snapshot']), offset: count(fields, 'offset'), length, last: flag(fields, 'last'), data };
    }
    case 'snapshotResponse':
      return {
        type: 'snapshotResponse',
        from,
        to,
        term: at,
        snapshotIndex: index(count(fields, 'snapshotIndex')),
        receivedBytes: count(fields, 'receivedBytes'),
        installed: flag(fields, 'installed'),
      };
    case 'timeoutNow':
      return { type: 'timeoutNow', from, to, term: at };
    case 'forwardProposal':
      return { type: 'forwardProposal', from, to, term: at, entries: list(fields, 'entries').map(proposal) };
    case 'readIndex':
      return { type: 'readIndex', from, to, term: at, context: text(fields, 'context') };
    case 'readIndexResponse':
      return { type: 'readIndexResponse', from, to, term: at, context: text(fields, 'context'), index: index(count(fields, 'index')) };
  }
}

/** Rebuilds a message from a decoded value, or says which field is wrong. Never throws. */
export function parseMessage(value: unknown): ParseResult {
  try {
    return { ok: true, message: build(record(value, 'message')) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message };
    throw error;
  }
}
