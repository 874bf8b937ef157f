// News of a new commit index for followers (appends without entries), held for a moment: an append that follows
// soon carries a commit index at least as new, and replaces it. Under a steady stream of proposals most of the
// news then costs no frame of its own, no Ready on the follower and no acknowledgement back. Dropping it is safe:
// the core treats any message as one the network may lose, and heartbeats carry the commit index too.

import type { AppendRequest, Message, NodeId } from '../raft/index.js';

export class CommitNewsHold {
  private readonly held = new Map<NodeId, AppendRequest>();
  private timer: NodeJS.Timeout | null = null;

  /** `release` sends what was held (holdMs elapsed); with holdMs 0 news is released at once. */
  constructor(
    private readonly holdMs: number,
    private readonly release: (messages: readonly Message[]) => void,
  ) {}

  get heldCount(): number {
    return this.held.size;
  }

  hold(news: readonly AppendRequest[]): void {
    if (this.holdMs <= 0) {
      this.release(news);
      return;
    }
    // A newer piece of news for a follower replaces an older one: its commit index is at least as new.
    for (const message of news) this.held.set(message.to, message);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.releaseAll();
    }, this.holdMs);
  }

  /** Messages about to be sent: held news that one of them supersedes (an append to the same follower) is dropped. */
  supersede(messages: readonly Message[]): void {
    if (this.held.size === 0) return;
    for (const message of messages) {
      if (message.type !== 'append') continue;
      const held = this.held.get(message.to);
      if (held !== undefined && message.term >= held.term && message.commit >= held.commit) this.held.delete(message.to);
    }
    if (this.held.size === 0) this.cancelTimer();
  }

  releaseAll(): void {
    this.cancelTimer();
    if (this.held.size === 0) return;
    const news = [...this.held.values()];
    this.held.clear();
    this.release(news);
  }

  /** Forgets what is held (the loop stopped). */
  clear(): void {
    this.cancelTimer();
    this.held.clear();
  }

  private cancelTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
