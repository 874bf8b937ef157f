// The election recipe in the deterministic apply, against a model: candidates of one election in the order their
// keys were created, the leader the first, its value the last one it proclaimed. Campaign, proclaim and resign
// are applied as the member builds them (src/server/election-api.ts): a sequential put (one per lease), and txns
// guarded by the term's create revision. Checked after every step: the leader the store names (the lowest create
// revision under the name) and its value are the model's; proclaim and resign succeed exactly while their term
// lives; and the terms of the leaders' fenced writes that succeed never go down.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PutSequentialResponse } from '../../src/protocol/lock.js';
import type { RequestOp, TxnResponse } from '../../src/protocol/kv.js';
import type { KvCommand } from '../../src/state/index.js';
import { expectOk, Harness } from './helpers.js';
import { bytes, latin1, MemoryBackend } from './memory-backend.js';

type Step =
  | { readonly campaign: { lease: number; value: string } }
  | { readonly proclaim: { term: number; value: string } }
  | { readonly resign: number }
  | { readonly revoke: number }
  | { readonly leaderWrites: true };

const LEASES = [1, 2, 3, 4];
const value = fc.constantFrom('a', 'b', 'c', 'd');
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ campaign: fc.record({ lease: fc.constantFrom(...LEASES), value }) }) },
  { weight: 3, arbitrary: fc.record({ proclaim: fc.record({ term: fc.nat(6), value }) }) },
  { weight: 2, arbitrary: fc.record({ resign: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.record({ revoke: fc.constantFrom(...LEASES) }) },
  { weight: 2, arbitrary: fc.constant({ leaderWrites: true as const }) },
);

interface Term {
  readonly key: string;
  readonly rev: number;
  readonly lease: number;
  value: string;
}

const PREFIX = 'office/';
const guarded = (term: Term, op: RequestOp): KvCommand => ({
  type: 'txn',
  request: { compare: [{ key: bytes(term.key), target: 'create', result: 'equal', createRevision: term.rev }], success: [op], failure: [] },
});

describe('the election recipe in the state', () => {
  it('names the first candidate leader with its last proclaimed value; old terms can neither proclaim, resign nor write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const backend = new MemoryBackend();
        const kv = new Harness(backend);
        await kv.grant(...LEASES);
        const candidates: Term[] = [];
        /** Every candidacy ever created, newest last: what stale callers may still hold. */
        const terms: Term[] = [];
        let lastWrittenRev = 0;
        const apply = async (command: KvCommand) => expectOk(await kv.store.apply(command, backend)).response;
        for (const s of steps) {
          if ('campaign' in s) {
            const response = (await apply({ type: 'putSequential', request: { prefix: bytes(PREFIX), value: bytes(s.campaign.value), lease: s.campaign.lease, onePerLease: true } })) as PutSequentialResponse;
            const existing = candidates.find((c) => c.lease === s.campaign.lease);
            expect(response.created).toBe(existing === undefined);
            if (existing === undefined) {
              const term = { key: latin1(response.key), rev: response.createRevision, lease: s.campaign.lease, value: s.campaign.value };
              candidates.push(term);
              terms.push(term);
            } else {
              // Campaigning again with the lease keeps the candidacy, with the new value.
              const again = (await apply(guarded(existing, { requestPut: { key: bytes(existing.key), value: bytes(s.campaign.value), ignoreLease: true } }))) as TxnResponse;
              expect(again.succeeded).toBe(true);
              existing.value = s.campaign.value;
            }
          } else if ('proclaim' in s || 'resign' in s) {
            const index = 'proclaim' in s ? s.proclaim.term : s.resign;
            const term = terms[terms.length - 1 - (index % Math.max(1, terms.length))];
            if (term === undefined) continue;
            const op: RequestOp = 'proclaim' in s ? { requestPut: { key: bytes(term.key), value: bytes(s.proclaim.value), ignoreLease: true } } : { requestDeleteRange: { key: bytes(term.key) } };
            const result = (await apply(guarded(term, op))) as TxnResponse;
            const alive = candidates.includes(term);
            expect(result.succeeded).toBe(alive);
            if (alive && 'proclaim' in s) term.value = s.proclaim.value;
            if (alive && 'resign' in s) candidates.splice(candidates.indexOf(term), 1);
          } else if ('revoke' in s) {
            await apply({ type: 'leaseRevoke', request: { id: s.revoke } });
            await apply({ type: 'leaseGrant', request: { id: s.revoke, ttl: 60 } });
            for (let i = candidates.length - 1; i >= 0; i--) if (candidates[i]?.lease === s.revoke) candidates.splice(i, 1);
          } else {
            // Every candidacy ever made tries a fenced write, newest first: exactly those whose key lives go through
            // (a candidate holds its LeaderKey only once it leads), and the leader's terms never go back.
            const leader = candidates[0];
            for (const term of [...terms].reverse()) {
              const result = (await apply(guarded(term, { requestPut: { key: bytes('storage'), value: bytes(String(term.rev)) } }))) as TxnResponse;
              expect(result.succeeded).toBe(candidates.includes(term));
              if (result.succeeded && term === leader) {
                expect(term.rev).toBeGreaterThanOrEqual(lastWrittenRev);
                lastWrittenRev = term.rev;
              }
            }
          }
          const { response } = await kv.store.range({ key: bytes(PREFIX), rangeEnd: bytes('office0'), sortOrder: 'ascend', sortTarget: 'create', limit: 1 }, backend);
          const stored = response.kvs[0];
          const leader = candidates[0];
          expect(stored === undefined ? undefined : { key: latin1(stored.key), value: latin1(stored.value), rev: stored.createRevision }).toEqual(
            leader === undefined ? undefined : { key: leader.key, value: leader.value, rev: leader.rev },
          );
        }
      }),
      { numRuns: 150 },
    );
  });
});
