// The registryWatch stream of the WebSocket API: one RegistryWatchRequest opens it (a service, and the revision
// to start from), then each revision's registry events of that service come as one message (header and events),
// read from a watch of the service's prefix with previous values. A second request on the stream is refused.

import { ConclaveError } from '../protocol/errors.js';
import { decodeRegistryWatchRequest, encodeRegistryWatchResponse } from '../protocol/json-recipes.js';
import { responseContext } from '../protocol/json-value.js';
import { watchRegistry } from './registry-api.js';
import type { StreamContext, StreamSession } from './ws-streams.js';

export function registryWatch(context: StreamContext): StreamSession {
  const stop = new AbortController();
  let started = false;
  return {
    receive: (message) => {
      if (started) throw new ConclaveError('ErrInvalidFrame', 'a registryWatch stream takes one request');
      const batches = watchRegistry(context.member, decodeRegistryWatchRequest(message), stop.signal);
      started = true;
      void (async () => {
        try {
          for await (const { header, events } of batches) context.send(encodeRegistryWatchResponse(header, events, responseContext(context.wire)));
        } catch (error) {
          context.end(error instanceof ConclaveError ? error : new ConclaveError('ErrInternal', String(error)));
        }
      })();
    },
    close: () => stop.abort(),
  };
}
