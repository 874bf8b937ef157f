// Single-server membership changes: the resulting configuration, or ErrInvalidConfChange with a reason.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyConfChange, decodeConfChange, encodeConfChange, isMember, members } from '../../src/raft/confchange.js';
import { RaftError } from '../../src/raft/errors.js';
import { nodeId, type ClusterConfig, type ConfChange } from '../../src/raft/types.js';

const [n1, n2, n3, n4, n5] = ['n1', 'n2', 'n3', 'n4', 'n5'].map(nodeId) as [ReturnType<typeof nodeId>, ReturnType<typeof nodeId>, ReturnType<typeof nodeId>, ReturnType<typeof nodeId>, ReturnType<typeof nodeId>];
const base: ClusterConfig = { voters: [n1, n2, n3], learners: [n4] };

function expectError(result: ClusterConfig | RaftError, reason: RegExp): void {
  expect(result).toBeInstanceOf(RaftError);
  const error = result as RaftError;
  expect(error.code).toBe('ErrInvalidConfChange');
  expect(error.message).toMatch(reason);
}

describe('applyConfChange', () => {
  it('adds a learner, keeping the learner list sorted', () => {
    expect(applyConfChange(base, { type: 'addLearner', node: n5 })).toEqual({ voters: [n1, n2, n3], learners: [n4, n5] });
    expect(applyConfChange({ voters: [n1], learners: [n5] }, { type: 'addLearner', node: n4 })).toEqual({ voters: [n1], learners: [n4, n5] });
  });

  it('refuses to add a learner that is already a member, or to demote a voter', () => {
    expectError(applyConfChange(base, { type: 'addLearner', node: n4 }), /already a learner/);
    expectError(applyConfChange(base, { type: 'addLearner', node: n2 }), /is a voter/);
  });

  it('adds a voter, or promotes a learner (which stops being a learner)', () => {
    expect(applyConfChange(base, { type: 'addVoter', node: n5 })).toEqual({ voters: [n1, n2, n3, n5], learners: [n4] });
    expect(applyConfChange(base, { type: 'addVoter', node: n4 })).toEqual({ voters: [n1, n2, n3, n4], learners: [] });
    expectError(applyConfChange(base, { type: 'addVoter', node: n3 }), /already a voter/);
  });

  it('removes a voter or a learner, but never the last voter or a stranger', () => {
    expect(applyConfChange(base, { type: 'removeNode', node: n2 })).toEqual({ voters: [n1, n3], learners: [n4] });
    expect(applyConfChange(base, { type: 'removeNode', node: n4 })).toEqual({ voters: [n1, n2, n3], learners: [] });
    expectError(applyConfChange(base, { type: 'removeNode', node: n5 }), /not a member/);
    expectError(applyConfChange({ voters: [n1], learners: [n2] }, { type: 'removeNode', node: n1 }), /last voter/);
  });

  it('does not modify its input', () => {
    const frozen: ClusterConfig = { voters: Object.freeze([n1, n2]) as ClusterConfig['voters'], learners: Object.freeze([n3]) as ClusterConfig['learners'] };
    applyConfChange(frozen, { type: 'addVoter', node: n3 });
    applyConfChange(frozen, { type: 'removeNode', node: n1 });
    expect(frozen).toEqual({ voters: [n1, n2], learners: [n3] });
  });

  it('property: any sequence of changes keeps voters and learners disjoint, duplicate-free and at least one voter', () => {
    const ids = [n1, n2, n3, n4, n5];
    const change: fc.Arbitrary<ConfChange> = fc.record({
      type: fc.constantFrom('addLearner' as const, 'addVoter' as const, 'removeNode' as const),
      node: fc.constantFrom(...ids),
    });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 40 }), (changes) => {
        let config: ClusterConfig = { voters: [n1], learners: [] };
        for (const next of changes) {
          const result = applyConfChange(config, next);
          if (result instanceof RaftError) {
            expect(result.code).toBe('ErrInvalidConfChange');
            continue;
          }
          // A valid change moves exactly the named member and nothing else.
          const others = (c: ClusterConfig) => ({ voters: c.voters.filter((id) => id !== next.node), learners: c.learners.filter((id) => id !== next.node) });
          expect(others(result)).toEqual(others(config));
          config = result;
          expect(config.voters.length).toBeGreaterThan(0);
          expect(new Set(members(config)).size).toBe(members(config).length);
          expect(config.voters.some((id) => config.learners.includes(id))).toBe(false);
          expect(isMember(config, next.node)).toBe(next.type !== 'removeNode');
        }
      }),
    );
  });
});

describe('encoding', () => {
  it('round-trips the change and the whole resulting configuration', () => {
    const record = { change: { type: 'addVoter' as const, node: n5 }, config: { voters: [n1, n5], learners: [n4] } };
    const data = encodeConfChange(record);
    expect(data).toBeInstanceOf(Uint8Array);
    expect(decodeConfChange(data)).toEqual(record);
  });
});

describe('membership helpers', () => {
  it('members lists voters then learners; isMember covers both', () => {
    expect(members(base)).toEqual([n1, n2, n3, n4]);
    expect([isMember(base, n1), isMember(base, n4), isMember(base, n5)]).toEqual([true, true, false]);
  });
});
