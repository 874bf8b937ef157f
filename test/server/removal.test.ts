// When a member that hears from no leader may conclude it was removed (src/server/removal.ts). The bug this guards:
// at bootstrap a member asked a peer that had started a moment earlier and applied nothing yet; the peer's empty
// membership read as "not counted in", and the member stopped itself (seen in a jepsen-like run under load).

import { describe, expect, it } from 'vitest';
import type { DiscoveryAnswer } from '../../src/server/identity.js';
import { removalVerdict } from '../../src/server/removal.js';

const asker = { clusterId: 'c1', id: 'aaaaaaaaaaaaaaaa', appliedIndex: 40 };
const other = { id: 'bbbbbbbbbbbbbbbb', peerUrls: ['http://127.0.0.1:1'] };
const me = { id: asker.id, peerUrls: ['http://127.0.0.1:2'] };
const answer = (members: DiscoveryAnswer['members'], appliedIndex?: number): DiscoveryAnswer => ({ clusterId: 'c1', members, ...(appliedIndex === undefined ? {} : { appliedIndex }) });

describe('removalVerdict', () => {
  it('a peer that has applied nothing yet (no members, index 0) does not say the asker was removed', () => {
    expect(removalVerdict(answer([], 0), asker)).toBe('unknown');
    expect(removalVerdict(answer([]), asker)).toBe('unknown');
  });

  it('a peer behind the asker, which has not applied the entry that added it, does not say it was removed', () => {
    expect(removalVerdict(answer([other], 12), asker)).toBe('unknown');
    expect(removalVerdict(answer([other], 40), asker)).toBe('unknown');
  });

  it('a peer that applied past the asker and does not count it in says it was removed', () => {
    expect(removalVerdict(answer([other], 41), asker)).toBe('removed');
  });

  it('a peer that counts the asker in says so, whatever its index', () => {
    expect(removalVerdict(answer([other, me], 3), asker)).toBe('member');
  });

  it('no answer, or an answer from another cluster, says nothing', () => {
    expect(removalVerdict(null, asker)).toBe('unknown');
    expect(removalVerdict({ clusterId: 'c2', members: [other], appliedIndex: 99 }, asker)).toBe('unknown');
  });
});
