// What a committed entry means to this member: the envelope every proposal travels in (the proposer's request ID and
// the command), and the dispatch of each command to the state module that applies it.

import { decodeMsgpack as decode, encodeMsgpack as encode } from '../util/msgpack.js';
import type { Entry } from '../raft/index.js';
import type { BackendWriter } from '../storage/index.js';
import { decodeKvCommand, encodeKvCommand, type KvCommand, type KvResult, type KvStore } from '../state/index.js';
import { applyMemberCommand, type MemberCommand } from '../state/members.js';
import type { StateMachine } from './raft-loop.js';

export type Command = { readonly kind: 'kv'; readonly command: KvCommand } | { readonly kind: 'member'; readonly command: MemberCommand };

const KIND_KV = 1;
const KIND_MEMBER = 2;

/**
 * The envelope: a kind byte, the request ID's length (one byte) and its ASCII bytes, then the command's own
 * encoding. The command is encoded once and read back as a view, not wrapped in a second msgpack value (every
 * member decodes every entry).
 */
export function encodeProposal(requestId: string, command: Command): Uint8Array {
  if (requestId.length > 255) throw new RangeError(`request ID of ${requestId.length} characters does not fit the envelope`);
  const payload = command.kind === 'kv' ? encodeKvCommand(command.command) : encode(command.command);
  const data = new Uint8Array(2 + requestId.length + payload.length);
  data[0] = command.kind === 'kv' ? KIND_KV : KIND_MEMBER;
  data[1] = requestId.length;
  for (let i = 0; i < requestId.length; i++) data[2 + i] = requestId.charCodeAt(i) & 0x7f;
  data.set(payload, 2 + requestId.length);
  return data;
}

export function decodeProposal(data: Uint8Array): { requestId: string; command: Command } {
  if (data.length < 2 || data.length < 2 + (data[1] as number)) throw new Error(`entry of ${data.length} bytes is shorter than its envelope`);
  const kind = data[0];
  const idEnd = 2 + (data[1] as number);
  const requestId = String.fromCharCode(...data.subarray(2, idEnd));
  const payload = data.subarray(idEnd);
  if (kind === KIND_KV) return { requestId, command: { kind: 'kv', command: decodeKvCommand(payload) } };
  if (kind === KIND_MEMBER) return { requestId, command: { kind: 'member', command: decode(payload) as MemberCommand } };
  throw new Error(`entry carries an unknown command kind ${String(kind)}`);
}

export interface Applied {
  readonly requestId: string;
  /** The KV result, or null for commands without one. */
  readonly result: KvResult | null;
  readonly command: Command;
}

export class ConclaveStateMachine implements StateMachine {
  constructor(private readonly kv: KvStore) {}

  async apply(entry: Entry, backend: BackendWriter): Promise<Applied | null> {
    // The leader's no-op of a new term, and configuration entries (the loop records those).
    if (entry.type !== 'normal' || entry.data.length === 0) return null;
    const { requestId, command } = decodeProposal(entry.data);
    if (command.kind === 'kv') return { requestId, command, result: await this.kv.apply(command.command, backend) };
    applyMemberCommand(command.command, backend);
    return { requestId, command, result: null };
  }
}
