// Small pure helpers for assembling a Ready.

import type { AppendResponse, HardState, Message, NodeId, SoftState } from './types.js';

export function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

/** Several acknowledgements of appends to the same leader collapse into the highest one. */
export function coalesceAppendAcks(messages: Message[]): Message[] {
  const highest = new Map<NodeId, AppendResponse>();
  for (const message of messages) {
    if (message.type !== 'appendResponse' || !message.success) continue;
    const seen = highest.get(message.to);
    if (!seen || message.term > seen.term || (message.term === seen.term && message.index >= seen.index)) highest.set(message.to, message);
  }
  if (highest.size === 0) return messages;
  return messages.filter((message) => message.type !== 'appendResponse' || !message.success || highest.get(message.to) === message);
}
