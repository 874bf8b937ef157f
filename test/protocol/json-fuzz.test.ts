// Whatever arrives, the decoders either return a value or throw a ConclaveError: never a TypeError, a
// RangeError or a crash. Inputs are arbitrary JSON values, and valid messages mutated one step at a time
// (a field dropped, renamed, retyped, or given a hostile value), which reach much deeper than random JSON.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Method } from '../../src/protocol/api.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import { decodeHealth, decodeRequest, decodeResponse, encodeRequest, encodeResponse, type Json } from '../../src/protocol/json.js';
import { header, METHODS, requests, responses } from './arbitraries.js';

type Outcome = 'decoded' | 'refused';

/** Runs a decoder; anything thrown that is not a ConclaveError fails the property. */
function outcome(decode: () => unknown): Outcome {
  try {
    decode();
    return 'decoded';
  } catch (error) {
    if (error instanceof ConclaveError) return 'refused';
    throw error;
  }
}

const HOSTILE: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 53,
  -(2 ** 63),
  1e308,
  '',
  '0',
  '-0',
  '18446744073709551616',
  'Zm9v',
  'AA==',
  '!!!!',
  'NONE',
  'VALUE',
  '__proto__',
  [],
  [null],
  [{}],
  {},
  { __proto__: 1 },
  { constructor: 'x' },
];

/** One path into a JSON value: the list of keys and indexes to follow. */
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const paths: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => paths.push(...pathsOf(item, [...prefix, index])));
  else if (typeof value === 'object' && value !== null) for (const [name, item] of Object.entries(value)) paths.push(...pathsOf(item, [...prefix, name]));
  return paths;
}

type Mutation = { kind: 'replace'; with: Json } | { kind: 'drop' } | { kind: 'rename'; to: string } | { kind: 'add'; name: string; value: Json };

function mutate(value: Json, path: readonly (string | number)[], mutation: Mutation): Json {
  if (path.length === 0) {
    if (mutation.kind === 'replace') return mutation.with;
    if (mutation.kind === 'add' && typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) return { ...value, [mutation.name]: mutation.value };
    return value;
  }
  const [step, ...rest] = path;
  if (Array.isArray(value) && typeof step === 'number') {
    if (rest.length === 0 && mutation.kind === 'drop') return value.filter((_, index) => index !== step);
    return value.map((item, index) => (index === step ? mutate(item, rest, mutation) : item));
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) && typeof step === 'string') {
    const copy: { [key: string]: Json } = { ...value };
    const inner = copy[step];
    if (inner === undefined) return value;
    if (rest.length === 0 && mutation.kind === 'drop') delete copy[step];
    else if (rest.length === 0 && mutation.kind === 'rename') {
      delete copy[step];
      copy[mutation.to] = inner;
    } else copy[step] = mutate(inner, rest, mutation);
    return copy;
  }
  return value;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), with: fc.oneof(fc.constantFrom(...HOSTILE), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>) }),
  fc.constant({ kind: 'drop' as const }),
  fc.record({ kind: fc.constant('rename' as const), to: fc.constantFrom('key', 'rangeEnd', 'Key', 'request_txn', 'requestTxn', 'ID', 'id', 'header', '') }),
  fc.record({ kind: fc.constant('add' as const), name: fc.constantFrom('key', 'range_end', 'rangeEnd', 'extra', 'value', 'version', 'request_put'), value: fc.constantFrom(...HOSTILE) }),
);

/** A valid message's JSON with one to three mutations applied at random places. */
function mutated(valid: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(), mutation), { minLength: 1, maxLength: 3 }))
    .map(([json, mutations]) =>
      mutations.reduce((current, [at, change]) => {
        const paths = pathsOf(current);
        return mutate(current, paths[at % paths.length] ?? [], change);
      }, json),
    );
}

describe.each(METHODS)('%s', (method: Method) => {
  it('decodeRequest of arbitrary JSON returns or throws a ConclaveError', () => {
    fc.assert(fc.property(fc.jsonValue(), (body) => void outcome(() => decodeRequest(method, body))), { numRuns: 300 });
  });

  it('decodeRequest of a mutated request returns or throws a ConclaveError, and what it returns encodes', () => {
    fc.assert(
      fc.property(mutated(requests[method].map((request) => encodeRequest(method, request))), (body) => {
        let decoded: unknown;
        if (outcome(() => (decoded = decodeRequest(method, body))) === 'decoded') {
          // A request the server accepted is one the client could have sent.
          expect(decodeRequest(method, encodeRequest(method, decoded as never))).toEqual(decoded);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('decodeResponse of arbitrary JSON and of mutated responses returns or throws a ConclaveError', () => {
    fc.assert(fc.property(fc.jsonValue(), (body) => void outcome(() => decodeResponse(method, body))));
    fc.assert(
      fc.property(mutated(fc.tuple(header, responses[method]).map(([h, response]) => encodeResponse(method, h, response))), (body) => {
        void outcome(() => decodeResponse(method, body));
      }),
      { numRuns: 400 },
    );
  });
});

it('decodeHealth of arbitrary JSON returns or throws a ConclaveError', () => {
  fc.assert(fc.property(fc.jsonValue(), (body) => void outcome(() => decodeHealth(body))));
});

it('the mutations reach deep enough to be refused for many reasons (the fuzzing is not vacuous)', () => {
  const details = new Set<string>();
  const samples = fc.sample(mutated(requests.txn.map((request) => encodeRequest('txn', request))), { numRuns: 2000, seed: 42 });
  for (const body of samples) {
    try {
      decodeRequest('txn', body);
    } catch (error) {
      if (error instanceof ConclaveError) details.add(`${error.code} ${(error.detail ?? '').replace(/^.*: /, '').replace(/\(.*\)/, '()')}`);
    }
  }
  expect(details.size).toBeGreaterThan(15);
});
