// Fault injection for tests that partition real processes: the peers this member neither sends Raft messages to
// nor takes them from, as if the network between them were cut both ways (the connections stay up, so healing is
// immediate; Raft resends what was lost). A member has one only when started with
// --unsafe-peer-fault-injection=true, and a test sets it through the client port's /debug/peer-faults.

import type { NodeId } from '../raft/types.js';

export class PeerFaults {
  private cut: ReadonlySet<NodeId> = new Set();
  /** Messages dropped because of a cut, both ways. */
  droppedMessages = 0;

  /** The peers cut off now, sorted. */
  get cutPeers(): readonly NodeId[] {
    return [...this.cut].sort();
  }

  /** Cuts this member off from exactly these peers (none heals every cut). */
  cutOff(peers: Iterable<NodeId>): void {
    this.cut = new Set(peers);
  }

  /** Whether `count` messages to or from `peer` are dropped now (they are then counted). */
  drops(peer: NodeId, count = 1): boolean {
    if (!this.cut.has(peer)) return false;
    this.droppedMessages += count;
    return true;
  }
}
