// The service registry in the deterministic apply, against a simple model: registrations (registry writes of puts
// attached to a lease), re-registrations that update, deregistrations, health changes recorded by a guarded txn,
// and lease revokes that remove every instance of the lease in the revoke's one revision. Discovery (a range of the
// service's prefix, decoded and filtered) lists exactly the model's instances, at every step.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deregistrationDelete, instanceKey, listedInstances, registrationPut, serviceRange, withHealth } from '../../src/protocol/registry-record.js';
import type { HealthStatus, RegistryRegisterRequest } from '../../src/protocol/registry.js';
import { replayEvents } from '../../src/state/kv-events.js';
import { expectOk, Harness } from './helpers.js';

interface ModelInstance {
  lease: number;
  port: number;
  tags: string[];
  health: HealthStatus;
}

type Step =
  | { kind: 'grant'; lease: number }
  | { kind: 'revoke'; lease: number }
  | { kind: 'register'; service: string; instance: string; lease: number; port: number; tags: string[] }
  | { kind: 'deregister'; service: string; instance: string }
  | { kind: 'health'; service: string; instance: string; health: HealthStatus };

const service = fc.constantFrom('web', 'db');
const instance = fc.constantFrom('i1', 'i2', 'i3');
const lease = fc.integer({ min: 1, max: 3 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('grant' as const), lease }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), lease }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('register' as const), service, instance, lease, port: fc.integer({ min: 1, max: 3 }), tags: fc.subarray(['a', 'b']) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deregister' as const), service, instance }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('health' as const), service, instance, health: fc.constantFrom('passing' as const, 'critical' as const) }) },
);

const registration = (s: Extract<Step, { kind: 'register' }>): RegistryRegisterRequest => ({ service: s.service, instance: s.instance, address: 'h', port: s.port, lease: s.lease, tags: s.tags });

async function list(kv: Harness, name: string, tags: string[], includeUnhealthy: boolean) {
  const { response } = await kv.store.range(serviceRange(name), kv.backend);
  return listedInstances(response.kvs, tags, includeUnhealthy).map((i) => ({ instance: i.instance, lease: i.lease, port: i.port, tags: [...i.tags], health: i.health }));
}

describe('service registry in the state', () => {
  it('discovery lists what the model holds; a revoke deregisters every instance of its lease in one revision', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 50 }), async (steps) => {
        const kv = new Harness();
        await kv.loaded;
        const leases = new Set<number>();
        const model = new Map<string, Map<string, ModelInstance>>([['web', new Map()], ['db', new Map()]]);
        for (const s of steps) {
          switch (s.kind) {
            case 'grant': {
              const result = await kv.store.apply({ type: 'leaseGrant', request: { id: s.lease, ttl: 10 } }, kv.backend);
              expect(result.ok).toBe(!leases.has(s.lease));
              leases.add(s.lease);
              break;
            }
            case 'revoke': {
              const before = kv.store.revision;
              const result = await kv.store.apply({ type: 'leaseRevoke', request: { id: s.lease, atMs: 1 } }, kv.backend);
              expect(result.ok).toBe(leases.has(s.lease));
              leases.delete(s.lease);
              let removed = 0;
              for (const instances of model.values()) for (const [id, held] of instances) if (held.lease === s.lease && instances.delete(id)) removed++;
              // All of them in the revoke's revision, and nothing else in it.
              if (removed > 0) {
                expect(kv.store.revision).toBe(before + 1);
                let deletes = 0;
                await replayEvents(kv.backend, before + 1, before + 1, 100, (batch) => {
                  deletes += batch.events.filter(({ event }) => event.type === 'DELETE').length;
                  return true;
                });
                expect(deletes).toBe(removed);
              }
              break;
            }
            case 'register': {
              const result = await kv.store.apply({ type: 'registryWrite', request: { type: 'put', request: registrationPut(registration(s)) } }, kv.backend);
              expect(result.ok).toBe(leases.has(s.lease));
              if (result.ok) model.get(s.service)?.set(s.instance, { lease: s.lease, port: s.port, tags: [...s.tags].sort(), health: 'passing' });
              break;
            }
            case 'deregister':
              expectOk(await kv.store.apply({ type: 'registryWrite', request: { type: 'deleteRange', request: deregistrationDelete(s.service, s.instance) } }, kv.backend));
              model.get(s.service)?.delete(s.instance);
              break;
            case 'health': {
              // What the leader's checker proposes: the same record with another status, only if it is unchanged since read.
              const current = (await list(kv, s.service, [], true)).find((i) => i.instance === s.instance);
              const { response } = await kv.store.range({ key: instanceKey(s.service, s.instance) }, kv.backend);
              const kvPair = response.kvs[0];
              if (current === undefined || kvPair === undefined) break;
              const listedBefore = listedInstances([kvPair], [], true)[0];
              if (listedBefore === undefined) break;
              const txn = {
                compare: [{ key: kvPair.key, target: 'mod' as const, result: 'equal' as const, modRevision: kvPair.modRevision }],
                success: [{ requestPut: { key: kvPair.key, value: withHealth(listedBefore, s.health), ignoreLease: true } }],
                failure: [],
              };
              expectOk(await kv.store.apply({ type: 'registryWrite', request: { type: 'txn', request: txn } }, kv.backend));
              const held = model.get(s.service)?.get(s.instance);
              if (held !== undefined) held.health = s.health;
              break;
            }
          }
          for (const [name, instances] of model) {
            const expected = [...instances].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, held]) => ({ instance: id, ...held }));
            expect(await list(kv, name, [], true)).toEqual(expected);
            expect(await list(kv, name, ['a'], false)).toEqual(expected.filter((i) => i.health === 'passing' && i.tags.includes('a')));
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
