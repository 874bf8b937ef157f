// /debug/peer-faults on the client URLs, for tests that partition real processes. Only a member started with
// --unsafe-peer-fault-injection=true serves it (for any other the path does not exist). GET shows the cut;
// POST {"cut":["<member ID>",...]} cuts this member off from exactly those peers, both ways (Raft messages to and
// from them are dropped); {"cut":[]} heals. A body that is not that shape is refused and changes nothing.

import { ConclaveError } from '../protocol/errors.js';
import type { NodeId } from '../raft/types.js';
import type { PeerFaults } from '../transport/index.js';

export const PEER_FAULTS_PATH = '/debug/peer-faults';

const MEMBER_ID = /^[0-9a-f]{16}$/;

export function peerFaultsOf(faults: PeerFaults): { cut: readonly string[]; dropped_messages: number } {
  return { cut: faults.cutPeers, dropped_messages: faults.droppedMessages };
}

/** Applies a POSTed body (parsed JSON); throws ErrInvalidField, changing nothing, for anything but {"cut":[IDs]}. */
export function setPeerFaults(faults: PeerFaults, body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ConclaveError('ErrInvalidField', 'body: expected {"cut":["<member ID>",...]}');
  const extra = Object.keys(body).filter((name) => name !== 'cut');
  if (extra.length > 0) throw new ConclaveError('ErrInvalidField', `${extra[0]}: unknown field (only "cut")`);
  const cut = (body as { cut?: unknown }).cut;
  if (!Array.isArray(cut)) throw new ConclaveError('ErrInvalidField', 'cut: expected a list of member IDs');
  const bad = cut.find((id) => typeof id !== 'string' || !MEMBER_ID.test(id));
  if (bad !== undefined) throw new ConclaveError('ErrInvalidField', `cut: ${JSON.stringify(bad)} is not a member ID (16 lowercase hex digits)`);
  faults.cutOff(cut as NodeId[]);
}
