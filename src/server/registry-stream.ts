// The registryWatch stream of the WebSocket API: one RegistryWatchRequest opens it (a service, and the revision
// to start from), then each revision's registry events of that service come as one message (header and events),
// read from a watch of the service's prefix with previous values. A second request on the stream is refused.

import { ConclaveError } from '../protocol/errors.js';
import { decodeRegistryWatchRequest, encodeRegistryWatchResponse } from '../protocol/json-recipes.js';
import { responseContext } from '../protocol/json-value.js';
import { checkServiceName, registryEventOf, serviceRange } from '../protocol/registry-record.js';
import type { RegistryEvent } from '../protocol/registry.js';
import { localWatch } from './local-watch.js';
import type { StreamContext, StreamSession } from './ws-streams.js';

export function registryWatch(context: StreamContext): StreamSession {
  const stop = new AbortController();
  let started = false;
  return {
    receive: (message) => {
      if (started) throw new ConclaveError('ErrInvalidFrame', 'a registryWatch stream takes one request');
      const request = decodeRegistryWatchRequest(message);
      const invalid = checkServiceName(request.service);
      if (invalid !== null) throw invalid;
      started = true;
      const range = serviceRange(request.service);
      const create = { ...range, prevKv: true, ...(request.startRevision === undefined ? {} : { startRevision: request.startRevision }) };
      void (async () => {
        try {
          for await (const batch of localWatch(context.member, create, stop.signal)) {
            const events = batch.events.map(registryEventOf).filter((event): event is RegistryEvent => event !== null);
            if (events.length > 0) context.send(encodeRegistryWatchResponse(batch.header, events, responseContext(context.wire)));
          }
        } catch (error) {
          context.end(error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error)));
        }
      })();
    },
    close: () => stop.abort(),
  };
}
