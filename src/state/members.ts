// What the cluster knows about each member besides its Raft identity: its name and URLs. Raft's configuration says
// who votes and who learns; this says where to reach them. Kept in the replicated state (keys 'M' + member ID) so
// that every member, and a snapshot, agrees on it.

import { decodeMsgpack as decode, encodeMsgpack as encode } from '../util/msgpack.js';

export interface MemberAttributes {
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

/** The reads and writes this module needs (a subset of the state machine's backend). */
export interface MemberBackend {
  get(key: Uint8Array): Uint8Array | undefined;
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
}

export type MemberCommand =
  /** Sets the given attributes of a member, keeping the others (a member added with peer URLs publishes its name later). */
  | { readonly type: 'memberUpsert'; readonly id: string; readonly name?: string; readonly peerUrls?: readonly string[]; readonly clientUrls?: readonly string[] }
  | { readonly type: 'memberForget'; readonly id: string };

const PREFIX = 0x4d; // 'M'

function keyOf(id: string): Uint8Array {
  const key = new Uint8Array(1 + id.length);
  key[0] = PREFIX;
  for (let i = 0; i < id.length; i++) key[i + 1] = id.charCodeAt(i) & 0xff;
  return key;
}

export function readMember(backend: Pick<MemberBackend, 'get'>, id: string): MemberAttributes | undefined {
  const bytes = backend.get(keyOf(id));
  if (bytes === undefined) return undefined;
  const [name, peerUrls, clientUrls] = decode(bytes) as [string, string[], string[]];
  return { name, peerUrls, clientUrls };
}

export function applyMemberCommand(command: MemberCommand, backend: MemberBackend): void {
  if (command.type === 'memberForget') {
    backend.delete(keyOf(command.id));
    return;
  }
  const current = readMember(backend, command.id) ?? { name: '', peerUrls: [], clientUrls: [] };
  const next = [command.name ?? current.name, command.peerUrls ?? current.peerUrls, command.clientUrls ?? current.clientUrls];
  backend.put(keyOf(command.id), encode(next));
}
