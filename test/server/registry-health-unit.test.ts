// The leader's health checker on fakes (no clock, no network): thresholds counted in a row against the recorded
// status, one guarded txn per change, at most registryLimits.maxConcurrentProbes probes at once, nothing after
// demotion, and registrations followed from the applied commands (a deregistered instance is no longer probed).

import { describe, expect, it } from 'vitest';
import { registryLimits } from '../../src/limits.js';
import type { KeyValue } from '../../src/protocol/kv.js';
import { registrationPut } from '../../src/protocol/registry-record.js';
import type { HealthCheck } from '../../src/protocol/registry.js';
import type { WatchEvent } from '../../src/protocol/watch.js';
import { silentLogger } from '../../src/server/log.js';
import { HealthChecker } from '../../src/server/registry-health.js';
import type { KvCommand } from '../../src/state/index.js';

const check: HealthCheck = { type: 'tcp', intervalMs: 1000, timeoutMs: 100, unhealthyThreshold: 3, healthyThreshold: 2 };

function pair(instance: string, modRevision: number, health: 'passing' | 'critical' = 'passing'): KeyValue {
  const put = registrationPut({ service: 's', instance, address: 'h', port: 1, lease: 1, check });
  const value = health === 'passing' ? put.value : new TextEncoder().encode(new TextDecoder().decode(put.value).replace('"passing"', '"critical"'));
  return { key: put.key, value, createRevision: 2, modRevision, version: 1, lease: 1 };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function harness(kvs: KeyValue[]) {
  let now = 0;
  const proposed: KvCommand[] = [];
  const outcomes: ((passed: boolean) => void)[] = [];
  let replayed: WatchEvent[] = [];
  let revision = 10;
  const checker = new HealthChecker({
    scan: async () => ({ revision: 10, kvs }),
    replay: async () => replayed.splice(0),
    propose: async (command) => {
      proposed.push(command);
      return { revision: 11, ok: true, response: { succeeded: true, responses: [] } };
    },
    log: silentLogger,
    probe: () => new Promise<boolean>((resolve) => outcomes.push(resolve)),
    nowMs: () => now,
  });
  return {
    checker,
    proposed,
    outcomes,
    advance: (ms: number) => (now += ms),
    /** The member applied a command that wrote these events (the registry's, read back from the store). */
    push: (events: WatchEvent[], command: KvCommand) => {
      replayed = events;
      checker.applied(command, ++revision);
    },
  };
}

/** Runs one round: every due probe starts, then each is answered `passed`. */
async function round(h: ReturnType<typeof harness>, passed: boolean): Promise<void> {
  h.checker.probeDue();
  for (const answer of h.outcomes.splice(0)) answer(passed);
  await flush();
  h.advance(1000);
}

describe('health checker', () => {
  it('records critical after the unhealthy threshold of failures in a row, passing after the healthy one, each once', async () => {
    const h = harness([pair('a', 5)]);
    h.checker.promote();
    await flush();
    await round(h, false);
    await round(h, true); // the run of failures is broken
    await round(h, false);
    await round(h, false);
    expect(h.proposed).toHaveLength(0);
    await round(h, false);
    expect(h.proposed).toHaveLength(1);
    const write = h.proposed[0] as Extract<KvCommand, { type: 'registryWrite' }>;
    expect(write.type).toBe('registryWrite');
    const txn = write.request as Extract<KvCommand, { type: 'txn' }>;
    expect(txn.request.compare[0]).toMatchObject({ target: 'mod', result: 'equal', modRevision: 5 });
    const put = (txn.request.success[0] as { requestPut: { value: Uint8Array; ignoreLease: boolean } }).requestPut;
    expect(JSON.parse(new TextDecoder().decode(put.value)).health).toBe('critical');
    expect(put.ignoreLease).toBe(true);
    // The watch brings the write back; two passes in a row turn it passing.
    h.push([{ type: 'PUT', kv: pair('a', 11, 'critical') }], h.proposed[0] as KvCommand);
    await flush();
    await round(h, true);
    expect(h.proposed).toHaveLength(1);
    await round(h, true);
    expect(h.proposed).toHaveLength(2);
    h.checker.demote();
    await round(h, false);
    expect(h.outcomes).toHaveLength(0);
  });

  it('runs at most maxConcurrentProbes probes at once, and stops probing a deregistered instance', async () => {
    const kvs = Array.from({ length: registryLimits.maxConcurrentProbes + 10 }, (_, i) => pair(`i${i}`, 3));
    const h = harness(kvs);
    h.checker.promote();
    await flush();
    h.checker.probeDue();
    expect(h.outcomes).toHaveLength(registryLimits.maxConcurrentProbes);
    expect(h.checker.activeChecks).toBe(kvs.length);
    h.push([{ type: 'DELETE', kv: { ...pair('i0', 12), value: new Uint8Array(0) } }], { type: 'registryWrite', request: { type: 'deleteRange', request: { key: pair('i0', 12).key } } });
    await flush();
    // A plain write is not read back: it cannot touch the registry (the prefix is reserved).
    h.push([{ type: 'DELETE', kv: { ...pair('i1', 13), value: new Uint8Array(0) } }], { type: 'put', request: { key: new TextEncoder().encode('other'), value: new Uint8Array(0) } });
    await flush();
    expect(h.checker.activeChecks).toBe(kvs.length - 1);
    h.checker.close();
  });
});
