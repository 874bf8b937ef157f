// The rows etcdctl shows for members and endpoints, shared by the simple printer (one comma-separated line per
// row) and the table printer.

import type { MemberListResponse, StatusResponse } from '../../src/protocol/cluster.js';
import type { ResponseHeader } from '../../src/protocol/kv.js';
import { hexId, humanizeBytes } from './format.js';

export interface EndpointStatus {
  readonly endpoint: string;
  readonly header: ResponseHeader;
  readonly status: StatusResponse;
}

export interface EndpointHealth {
  readonly endpoint: string;
  readonly health: boolean;
  /** Go duration text of the check's round trip. */
  readonly took: string;
  /** Empty when healthy. */
  readonly error: string;
}

export interface Rows {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export function memberRows(response: Pick<MemberListResponse, 'members'>): Rows {
  return {
    headers: ['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'],
    rows: response.members.map((member) => [
      hexId(member.id),
      // A member publishes its name when it starts, so an empty one means it has not yet.
      member.name === '' ? 'unstarted' : 'started',
      member.name,
      member.peerUrls.join(','),
      member.clientUrls.join(','),
      String(member.isLearner),
    ]),
  };
}

export function endpointStatusRows(list: readonly EndpointStatus[]): Rows {
  return {
    headers: ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'],
    rows: list.map(({ endpoint, header, status }) => [
      endpoint,
      hexId(header.memberId),
      status.version,
      humanizeBytes(status.dbSize),
      String(status.leader === header.memberId),
      String(status.isLearner),
      String(status.raftTerm),
      String(status.raftIndex),
      String(status.raftAppliedIndex),
      status.errors.join(', '),
    ]),
  };
}

export function endpointHealthRows(list: readonly EndpointHealth[]): Rows {
  return {
    headers: ['endpoint', 'health', 'took', 'error'],
    rows: list.map((entry) => [entry.endpoint, String(entry.health), entry.took, entry.error]),
  };
}
