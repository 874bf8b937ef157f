// Every method's requests and responses survive JSON and back (through JSON text, as on the wire), in the
// snake_case names the codec writes and in the lowerCamelCase names jsonpb also accepts; and writing is stable.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Method } from '../../src/protocol/api.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, type Json } from '../../src/protocol/json.js';
import { header, METHODS, requests, responses } from './arbitraries.js';

const wire = (json: Json): unknown => JSON.parse(JSON.stringify(json));

/** The same JSON with every field named as protoc's JSON name (`range_end` as `rangeEnd`). */
function camelCased(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelCased);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), camelCased(inner)]));
}

function roundTripsRequests<M extends Method>(method: M): void {
  fc.assert(
    fc.property(requests[method], (request) => {
      const json = encodeRequest(method, request);
      expect(decodeRequest(method, wire(json))).toEqual(request);
      expect(decodeRequest(method, camelCased(wire(json)))).toEqual(request);
      expect(encodeRequest(method, decodeRequest(method, wire(json)))).toEqual(json);
    }),
    { numRuns: 300 },
  );
}

function roundTripsResponses<M extends Method>(method: M): void {
  fc.assert(
    fc.property(header, responses[method], (responseHeader, response) => {
      const json = encodeResponse(method, responseHeader, response);
      expect(decodeResponse(method, wire(json))).toEqual({ header: responseHeader, response });
      expect(decodeResponse(method, camelCased(wire(json)))).toEqual({ header: responseHeader, response });
    }),
    { numRuns: 300 },
  );
}

describe.each(METHODS)('%s', (method) => {
  it('request -> JSON -> request gives the request back', () => roundTripsRequests(method));
  it('response -> JSON -> response gives the response and its header back', () => roundTripsResponses(method));
});

describe('what is written', () => {
  it('leaves out every field equal to its default, so the empty request is {}', () => {
    expect(encodeRequest('range', { key: new Uint8Array(0), limit: 0, revision: 0, sortOrder: 'none', sortTarget: 'key', serializable: false })).toEqual({});
    expect(encodeRequest('put', { key: new Uint8Array(0), value: new Uint8Array(0), lease: 0, prevKv: false })).toEqual({});
    expect(encodeRequest('compact', { revision: 0 })).toEqual({});
    expect(encodeRequest('memberAdd', { peerUrls: [], isLearner: false })).toEqual({});
    expect(encodeRequest('memberRemove', { id: '0000000000000000' })).toEqual({});
  });

  it('decodes explicit defaults to the canonical request, without the optional fields', () => {
    const body = { key: 'Zm9v', range_end: '', limit: '0', revision: 0, sort_order: 'NONE', sort_target: 0, serializable: false, keys_only: null };
    expect(decodeRequest('range', body)).toEqual({ key: new TextEncoder().encode('foo') });
  });

  it('writes integers as decimal strings and IDs in decimal, whatever the value', () => {
    fc.assert(
      fc.property(header, (responseHeader) => {
        const json = encodeResponse('compact', responseHeader, {}) as { header: Record<string, string> };
        const expected: Record<string, string> = {};
        if (responseHeader.clusterId !== '0000000000000000') expected['cluster_id'] = BigInt(`0x${responseHeader.clusterId}`).toString();
        if (responseHeader.memberId !== '0000000000000000') expected['member_id'] = BigInt(`0x${responseHeader.memberId}`).toString();
        if (responseHeader.revision !== 0) expected['revision'] = String(responseHeader.revision);
        if (responseHeader.raftTerm !== 0) expected['raft_term'] = String(responseHeader.raftTerm);
        expect(json.header).toEqual(expected);
      }),
    );
  });
});
