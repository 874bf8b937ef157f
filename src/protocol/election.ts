// The leader election API's types (etcd's v3election): a candidate's key is a sequential key under `name/`, bound
// to its lease; the leader is the candidate with the lowest create revision, its value what it proclaims.

import type { KeyValue } from './kv.js';

/** Which candidacy leads (etcd's LeaderKey): its key, create revision (its term of office) and lease. */
export interface LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  /** The key's create revision: a fencing token for the term of office (strictly increasing per election). */
  readonly rev: number;
  readonly lease: number;
}

export interface CampaignRequest {
  readonly name: Uint8Array;
  readonly lease: number;
  readonly value: Uint8Array;
  /** Give up after this long waiting (0 or absent: wait until elected); the candidate's key is then deleted. */
  readonly timeoutMs?: number;
}

export interface CampaignResponse {
  readonly leader: LeaderKey;
}

export interface ProclaimRequest {
  readonly leader: LeaderKey;
  readonly value: Uint8Array;
}

export type ProclaimResponse = Record<string, never>;

export interface LeaderRequest {
  readonly name: Uint8Array;
}

export interface LeaderResponse {
  /** The leader's key and value; absent from observe's first answer when there is none yet (leader() fails then). */
  readonly kv?: KeyValue;
}

export interface ResignRequest {
  readonly leader: LeaderKey;
}

export type ResignResponse = Record<string, never>;

/**
 * Whether two answers name the same leader with the same value: a key's create revision names it (a sequential
 * put creates one key per revision), its mod revision its value.
 */
export function sameLeader(a: KeyValue | undefined, b: KeyValue | undefined): boolean {
  return a?.createRevision === b?.createRevision && a?.modRevision === b?.modRevision;
}
