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

export function encodeProposal(requestId: string, command: Command): Uint8Array {
  return command.kind === 'kv'
    ? encode([requestId, KIND_KV, encodeKvCommand(command.command)])
    : encode([requestId, KIND_MEMBER, command.command]);
}

export function decodeProposal(data: Uint8Array): { requestId: string; command: Command } {
  const [requestId, kind, payload] = decode(data) as [string, number, unknown];
  if (kind === KIND_KV) return { requestId, command: { kind: 'kv', command: decodeKvCommand(payload as Uint8Array) } };
  if (kind === KIND_MEMBER) return { requestId, command: { kind: 'member', command: payload as MemberCommand } };
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
