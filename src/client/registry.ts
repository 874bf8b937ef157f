// The registry's watch, as the client sees it: a watch of the service's prefix (with previous values) whose
// events are read as registrations, updates, health changes and deregistrations (registry-record.ts). Over HTTP
// it resumes across members as every watch does (watch.ts); over the WebSocket API it is the registryWatch stream.

import { decodeRegistryWatchResponse, encodeRegistryWatchRequest } from '../protocol/json-recipes.js';
import { requestContext } from '../protocol/json-value.js';
import type { ResponseHeader } from '../protocol/kv.js';
import { registryEventOf } from '../protocol/registry-record.js';
import type { RegistryEvent } from '../protocol/registry.js';
import type { WatchBatch } from './watch.js';
import type { WsConnection } from './ws-connection.js';

export type { RegistryEvent, RegistryEventType } from '../protocol/registry.js';

export interface RegistryBatch {
  readonly header: ResponseHeader;
  readonly events: readonly RegistryEvent[];
}

/** The registry events of one watch batch; pairs under the prefix that are not instances are skipped. */
export function registryEventsOf(batch: WatchBatch): RegistryBatch {
  const events: RegistryEvent[] = [];
  for (const event of batch.events) {
    const registryEvent = registryEventOf(event);
    if (registryEvent !== null) events.push(registryEvent);
  }
  return { header: batch.header, events };
}

/** A service's registry events on a WebSocket API connection (its registryWatch stream), until `signal` aborts. */
export async function* wsRegistryWatch(connection: WsConnection, service: string, options: { startRevision?: number; signal?: AbortSignal } = {}): AsyncGenerator<RegistryBatch> {
  const request = encodeRegistryWatchRequest({ service, ...(options.startRevision === undefined ? {} : { startRevision: options.startRevision }) }, '', requestContext(connection.wire));
  const stream = connection.openStream('registryWatch', decodeRegistryWatchResponse, request);
  const onAbort = (): void => stream.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    yield* stream;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    stream.close();
  }
}
