// Member and cluster IDs, derived as etcd derives them so that every member computes the same ones from the same
// flags: a member's ID hashes its peer URLs and the cluster token; the cluster's ID hashes its initial members' IDs.

import { createHash } from 'node:crypto';

const hash64 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** A member's ID (16 hex digits). `salt` distinguishes members added at run time that reuse earlier URLs. */
export function memberIdOf(peerUrls: readonly string[], token: string, salt = ''): string {
  return hash64(`member\0${[...peerUrls].sort().join(',')}\0${token}\0${salt}`);
}

export function clusterIdOf(memberIds: readonly string[], token: string): string {
  return hash64(`cluster\0${[...memberIds].sort().join(',')}\0${token}`);
}

/** A 64-bit ID as the JSON gateway shows it (decimal) and etcdctl prints it (hex). */
export const decimalOf = (hexId: string): string => BigInt(`0x${hexId}`).toString(10);
