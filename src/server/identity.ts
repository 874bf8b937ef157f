// Who this member is and which cluster it belongs to. A new cluster's members derive every ID from the flags (the
// same on every member); a member joining an existing cluster asks the members it was given for the cluster's ID and
// the ID the cluster assigned to its peer URLs (`conclavectl member add` made it); a restarting member reads both from
// its data directory, where they were written durably before anything else.

import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeId, type ClusterConfig } from '../raft/index.js';
import type { ServerConfig } from './config.js';
import { clusterIdOf, memberIdOf } from './ids.js';
import type { Logger } from './log.js';

export interface Identity {
  readonly memberId: string;
  readonly clusterId: string;
  /** The membership a brand-new cluster starts with (empty for a member joining an existing cluster). */
  readonly initialConfig: ClusterConfig;
  /** Peer URLs of the initial members by ID, until the replicated membership says otherwise. */
  readonly initialPeers: readonly (readonly [string, readonly string[]])[];
}

interface StoredIdentity {
  readonly memberId: string;
  readonly clusterId: string;
}

const IDENTITY_FILE = 'identity.json';
/** What a member answers on its peer port to GET DISCOVERY_PATH: the cluster and its applied membership. */
export const DISCOVERY_PATH = '/conclave/members';
export interface DiscoveryAnswer {
  readonly clusterId: string;
  readonly members: readonly { readonly id: string; readonly peerUrls: readonly string[] }[];
  /** The index of the answerer's applied state the membership is from (removal.ts: how far it can be trusted). */
  readonly appliedIndex?: number;
}

export async function resolveIdentity(config: ServerConfig, hasDurableState: boolean, log: Logger): Promise<Identity> {
  const initialPeers = config.initialCluster.map((m) => [memberIdOf(m.peerUrls, config.initialClusterToken), m.peerUrls] as const);
  const stored = await readIdentity(config.dataDir);
  if (stored !== null) {
    // Joined, but stopped before it had anything of the log: it still knows its peers only as the cluster says.
    if (config.initialClusterState === 'existing' && !hasDurableState) {
      const joined = await joinIdentity(config, initialPeers, log);
      if (joined.memberId !== stored.memberId || joined.clusterId !== stored.clusterId) {
        throw new Error(`the cluster now gives this member's peer URLs the identity ${joined.memberId} in ${joined.clusterId}, not ${stored.memberId} in ${stored.clusterId} as recorded in ${join(config.dataDir, 'member', IDENTITY_FILE)}`);
      }
      return joined;
    }
    return { ...stored, initialConfig: initialConfigOf(config, initialPeers), initialPeers };
  }
  if (hasDurableState) throw new Error(`${join(config.dataDir, 'member', IDENTITY_FILE)} is missing but the data directory holds a log: refusing to guess this member's identity`);
  const identity = config.initialClusterState === 'new' ? newClusterIdentity(config, initialPeers) : await joinIdentity(config, initialPeers, log);
  await writeIdentity(config.dataDir, { memberId: identity.memberId, clusterId: identity.clusterId });
  return identity;
}

function initialConfigOf(config: ServerConfig, initialPeers: Identity['initialPeers']): ClusterConfig {
  if (config.initialClusterState !== 'new') return { voters: [], learners: [] };
  return { voters: initialPeers.map(([id]) => nodeId(id)), learners: [] };
}

function newClusterIdentity(config: ServerConfig, initialPeers: Identity['initialPeers']): Identity {
  const memberId = memberIdOf(config.initialAdvertisePeerUrls, config.initialClusterToken);
  const ids = initialPeers.map(([id]) => id);
  if (!ids.includes(memberId)) {
    throw new Error(`--initial-cluster has no member named "${config.name}" with the URLs of --initial-advertise-peer-urls (${config.initialAdvertisePeerUrls.join(',')})`);
  }
  return { memberId, clusterId: clusterIdOf(ids, config.initialClusterToken), initialConfig: initialConfigOf(config, initialPeers), initialPeers };
}

/**
 * A member joining an existing cluster: its identity, and its first peers as the cluster answered them. Not the
 * IDs derived from --initial-cluster's URLs: a member added at run time has an ID of its own (member add), so a
 * joiner that took derived IDs refused the leader's connections as from no peer of its, and never got the log (a
 * member removed and added back in a jepsen-like run, after others had been).
 */
async function joinIdentity(config: ServerConfig, initialPeers: Identity['initialPeers'], log: Logger): Promise<Identity> {
  const { memberId, clusterId, members } = await discoverIdentity(config, initialPeers, log);
  return { memberId, clusterId, initialConfig: { voters: [], learners: [] }, initialPeers: members.map((m) => [m.id, m.peerUrls] as const) };
}

/** Asks the other initial members for the cluster's ID, the ID given to our peer URLs, and the members. */
async function discoverIdentity(config: ServerConfig, initialPeers: Identity['initialPeers'], log: Logger): Promise<StoredIdentity & Pick<DiscoveryAnswer, 'members'>> {
  const ours = new Set(config.initialAdvertisePeerUrls);
  const problems: string[] = [];
  for (const [, urls] of initialPeers) {
    if (urls.some((url) => ours.has(url))) continue;
    for (const url of urls) {
      try {
        const response = await fetch(new URL(DISCOVERY_PATH, url), { signal: AbortSignal.timeout(2000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const body = (await response.json()) as DiscoveryAnswer;
        const self = body.members.find((m) => m.peerUrls.some((u) => ours.has(u)));
        if (self === undefined) {
          throw new Error(`the cluster has no member with peer URLs ${[...ours].join(',')}: add it first (conclavectl member add)`);
        }
        log.info('joined an existing cluster', { cluster: body.clusterId, member: self.id, via: url });
        return { memberId: self.id, clusterId: body.clusterId, members: body.members };
      } catch (error) {
        problems.push(`${url}: ${(error as Error).message}`);
      }
    }
  }
  throw new Error(`--initial-cluster-state existing: no member of --initial-cluster could tell this member its identity (${problems.join('; ') || 'no other member listed'})`);
}

async function readIdentity(dataDir: string): Promise<StoredIdentity | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, 'member', IDENTITY_FILE), 'utf8')) as Partial<StoredIdentity>;
    if (typeof parsed.memberId !== 'string' || typeof parsed.clusterId !== 'string') throw new Error('malformed');
    return { memberId: parsed.memberId, clusterId: parsed.clusterId };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${join(dataDir, 'member', IDENTITY_FILE)} is unreadable: ${(error as Error).message}`);
  }
}

/** Written to a temporary file, fsynced, renamed and the directory fsynced: it exists whole or not at all. */
async function writeIdentity(dataDir: string, identity: StoredIdentity): Promise<void> {
  const dir = join(dataDir, 'member');
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${IDENTITY_FILE}.tmp`);
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(JSON.stringify(identity) + '\n');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, join(dir, IDENTITY_FILE));
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
