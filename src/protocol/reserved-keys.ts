// The reserved prefixes of the key space: ranges of keys that one of the cluster's recipes keeps its state in and
// writes through commands of its own. A plain key-value write (a put, a delete, a txn's put or delete in either
// branch, a sequential put, so also a lock, an unlock or a campaign) whose key or range meets one is refused with
// ErrReservedKey, from any API, before it is proposed and again when it applies (src/state/reserved-keys.ts).
// Reads are not refused: discovery is a range of the registry's prefix, and a watch of it is how a client
// follows a service.
//
// Only the registry keeps its state among the keys. The other recipes' records sit beside the key space in the
// backend, under first bytes that no key-value request reaches (a key K is stored as 'k' K, 'h' K, 'r' ...):
// Snowflake workers 'W' (workers.ts), segment counters 'G' (segments.ts), sequence hints 'S', leases 'L' and
// attachments 'A' (kv-layout.ts), the deduplication table 'q' (dedup.ts), the member list 'M' (members.ts). Lock
// and election keys are the caller's own keys, under names the caller picks, so they are not reserved.

import { prefixEnd } from './kv.js';

export interface ReservedPrefix {
  readonly prefix: string;
  /** Who owns it and how to write there, for the refusal's message. */
  readonly owner: string;
}

/** The service registry's instances, "\0registry/<service>/<instance>" (registry-record.ts). */
export const REGISTRY_PREFIX = '\0registry/';

export const RESERVED_PREFIXES: readonly ReservedPrefix[] = [
  { prefix: REGISTRY_PREFIX, owner: 'the service registry, written by /v3/registry/register and /v3/registry/deregister (and a lease revoke)' },
];

const encoder = new TextEncoder();

/** The range of every key under a prefix, as a key range. */
export function reservedRange(prefix: string): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = encoder.encode(prefix);
  return { key, rangeEnd: prefixEnd(key) };
}
