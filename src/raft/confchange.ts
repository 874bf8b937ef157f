// Membership changes: one server at a time. A configuration entry carries both the change and the whole
// resulting configuration, so a node that joins late learns the full membership from the log alone.

import { RaftError } from './errors.js';
import type { ClusterConfig, ConfChange, NodeId } from './types.js';

/** The first entry of a new cluster's log records its initial membership, identically on every initial member. */
export interface BootstrapChange {
  readonly type: 'bootstrap';
}

export interface ConfChangeRecord {
  readonly change: ConfChange | BootstrapChange;
  readonly config: ClusterConfig;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(record: ConfChangeRecord): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}

export function decodeConfChange(data: Uint8Array): ConfChangeRecord {
  return JSON.parse(decoder.decode(data)) as ConfChangeRecord;
}

export function isMember(config: ClusterConfig, node: NodeId): boolean {
  return config.voters.includes(node) || config.learners.includes(node);
}

export function members(config: ClusterConfig): NodeId[] {
  return [...config.voters, ...config.learners];
}

/** The configuration that results from applying `change`, or an ErrInvalidConfChange naming the reason. */
export function applyConfChange(config: ClusterConfig, change: ConfChange): ClusterConfig | RaftError {
  const { node } = change;
  const isVoter = config.voters.includes(node);
  const isLearner = config.learners.includes(node);
  const sorted = (ids: NodeId[]) => [...ids].sort();
  switch (change.type) {
    case 'addLearner':
      if (isVoter) return new RaftError('ErrInvalidConfChange', `${node} is a voter; demotion to learner is not supported`);
      if (isLearner) return new RaftError('ErrInvalidConfChange', `${node} is already a learner`);
      return { voters: config.voters, learners: sorted([...config.learners, node]) };
    case 'addVoter':
      if (isVoter) return new RaftError('ErrInvalidConfChange', `${node} is already a voter`);
      return {
        voters: sorted([...config.voters, node]),
        learners: config.learners.filter((id) => id !== node),
      };
    case 'removeNode':
      if (!isVoter && !isLearner) return new RaftError('ErrInvalidConfChange', `${node} is not a member`);
      if (isVoter && config.voters.length === 1) return new RaftError('ErrInvalidConfChange', `${node} is the last voter`);
      return {
        voters: config.voters.filter((id) => id !== node),
        learners: config.learners.filter((id) => id !== node),
      };
  }
}
