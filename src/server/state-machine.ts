// What a committed entry means to this member: the envelope every proposal travels in (the proposer's request ID and
// the command), and the dispatch of each command to the state module that applies it.

import { decodeMsgpack as decode, encodeMsgpack as encode } from '../util/msgpack.js';
import type { Entry } from '../raft/index.js';
import type { BackendWriter } from '../storage/index.js';
import { decodeKvCommand, encodeKvCommand, type KvCommand, type KvResult, type KvStore } from '../state/index.js';
import { applyMemberCommand, type MemberCommand } from '../state/members.js';
import type { StateMachine } from './raft-loop.js';
import type { ClientRequest } from '../protocol/request-id.js';
import type { DedupLimits } from '../limits.js';
import { lookupRequest, recordRequest } from '../state/dedup.js';

export type Command = { readonly kind: 'kv'; readonly command: KvCommand } | { readonly kind: 'member'; readonly command: MemberCommand };

const KIND_KV = 1;
const KIND_MEMBER = 2;
/** Flag of the kind byte: the entry carries a client request ID. */
const WITH_CLIENT = 0x80;

/**
 * The envelope: a kind byte, the request ID's length (one byte) and its ASCII bytes, then the command's own
 * encoding. The command is encoded once and read back as a view, not wrapped in a second msgpack value (every
 * member decodes every entry). A write that carries a client's request ID (for deduplication) sets WITH_CLIENT in
 * the kind byte and puts the client request after the member's ID: its ID's length and ASCII bytes, then the retry's
 * revision as 8 bytes (a float64, -1 on a first attempt).
 */
export function encodeProposal(requestId: string, command: Command, client?: ClientRequest): Uint8Array {
  if (requestId.length > 255) throw new RangeError(`request ID of ${requestId.length} characters does not fit the envelope`);
  if (client !== undefined && client.id.length > 255) throw new RangeError(`client request ID of ${client.id.length} characters does not fit the envelope`);
  const payload = command.kind === 'kv' ? encodeKvCommand(command.command) : encode(command.command);
  const clientBytes = client === undefined ? 0 : 1 + client.id.length + 8;
  const data = new Uint8Array(2 + requestId.length + clientBytes + payload.length);
  data[0] = (command.kind === 'kv' ? KIND_KV : KIND_MEMBER) | (client === undefined ? 0 : WITH_CLIENT);
  data[1] = requestId.length;
  let at = writeAscii(data, 2, requestId);
  if (client !== undefined) {
    data[at] = client.id.length;
    at = writeAscii(data, at + 1, client.id);
    new DataView(data.buffer).setFloat64(at, client.retrySinceRevision ?? -1);
    at += 8;
  }
  data.set(payload, at);
  return data;
}

function writeAscii(data: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) data[at + i] = text.charCodeAt(i) & 0x7f;
  return at + text.length;
}

export function decodeProposal(data: Uint8Array): { requestId: string; command: Command; client?: ClientRequest } {
  if (data.length < 2 || data.length < 2 + (data[1] as number)) throw new Error(`entry of ${data.length} bytes is shorter than its envelope`);
  const kind = (data[0] as number) & ~WITH_CLIENT;
  let at = 2 + (data[1] as number);
  const requestId = String.fromCharCode(...data.subarray(2, at));
  let client: ClientRequest | undefined;
  if (((data[0] as number) & WITH_CLIENT) !== 0) {
    const idEnd = at + 1 + (data[at] ?? 0);
    if (data.length < idEnd + 8) throw new Error(`entry of ${data.length} bytes is shorter than its envelope`);
    const id = String.fromCharCode(...data.subarray(at + 1, idEnd));
    const since = new DataView(data.buffer, data.byteOffset, data.length).getFloat64(idEnd);
    client = since < 0 ? { id } : { id, retrySinceRevision: since };
    at = idEnd + 8;
  }
  const payload = data.subarray(at);
  const withClient = client === undefined ? {} : { client };
  if (kind === KIND_KV) return { requestId, command: { kind: 'kv', command: decodeKvCommand(payload) }, ...withClient };
  if (kind === KIND_MEMBER) return { requestId, command: { kind: 'member', command: decode(payload) as MemberCommand }, ...withClient };
  throw new Error(`entry carries an unknown command kind ${String(kind)}`);
}

export interface Applied {
  readonly requestId: string;
  /** The KV result, or null for commands without one. */
  readonly result: KvResult | null;
  readonly command: Command;
}

export class ConclaveStateMachine implements StateMachine {
  constructor(
    private readonly kv: KvStore,
    private readonly dedup: Partial<DedupLimits> = {},
  ) {}

  async apply(entry: Entry, backend: BackendWriter): Promise<Applied | null> {
    // The leader's no-op of a new term, and configuration entries (the loop records those).
    if (entry.type !== 'normal' || entry.data.length === 0) return null;
    const { requestId, command, client } = decodeProposal(entry.data);
    if (command.kind === 'kv') return { requestId, command, result: await this.applyKv(command.command, client, backend) };
    applyMemberCommand(command.command, backend);
    return { requestId, command, result: null };
  }

  /** A write with a client request ID applies only if the deduplication table has not seen it (src/state/dedup.ts). */
  private async applyKv(command: KvCommand, client: ClientRequest | undefined, backend: BackendWriter): Promise<KvResult> {
    if (client === undefined) return this.kv.apply(command, backend);
    const seen = lookupRequest(backend, client);
    if (seen.kind === 'duplicate') return seen.result;
    if (seen.kind === 'expired') return { revision: this.kv.revision, ok: false, error: seen.error };
    const result = await this.kv.apply(command, backend);
    recordRequest(backend, client, result, this.dedup);
    return result;
  }
}
