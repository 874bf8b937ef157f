// The registry's watch, as the client sees it: a watch of the service's prefix (with previous values) whose
// events are read as registrations, updates, health changes and deregistrations. It resumes across members as
// every watch does (watch.ts), so no event is missed or repeated.

import type { ResponseHeader } from '../protocol/kv.js';
import { decodeInstance } from '../protocol/registry-record.js';
import type { ServiceInstance } from '../protocol/registry.js';
import type { WatchBatch } from './watch.js';

export type RegistryEventType = 'registered' | 'updated' | 'health' | 'deregistered';

export interface RegistryEvent {
  readonly type: RegistryEventType;
  /** The instance after the event; for a deregistration, as it was last registered. */
  readonly instance: ServiceInstance;
  readonly revision: number;
}

export interface RegistryBatch {
  readonly header: ResponseHeader;
  readonly events: readonly RegistryEvent[];
}

/** The registry events of one watch batch; pairs under the prefix that are not instances are skipped. */
export function registryEventsOf(batch: WatchBatch): RegistryBatch {
  const events: RegistryEvent[] = [];
  for (const event of batch.events) {
    const revision = event.kv.modRevision;
    const before = event.prevKv === undefined ? null : decodeInstance(event.prevKv);
    if (event.type === 'DELETE') {
      if (before !== null) events.push({ type: 'deregistered', instance: before, revision });
      continue;
    }
    const after = decodeInstance(event.kv);
    if (after === null) continue;
    const type: RegistryEventType = before === null || event.kv.version === 1 ? 'registered' : before.health !== after.health ? 'health' : 'updated';
    events.push({ type, instance: after, revision });
  }
  return { header: batch.header, events };
}
