// The envelope every proposal travels in: the proposer's request ID and the command, read back exactly; a damaged
// envelope is refused, never misread.

import { describe, expect, it } from 'vitest';
import { decodeProposal, encodeProposal, type Command } from '../../src/server/state-machine.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('the proposal envelope', () => {
  it.each<[string, Command]>([
    ['3f2a9c01b7e4.0', { kind: 'kv', command: { type: 'put', request: { key: bytes('k'), value: bytes('v'), prevKv: true } } }],
    ['3f2a9c01b7e4.zz', { kind: 'kv', command: { type: 'compact', request: { revision: 7 } } }],
    ['n.1', { kind: 'member', command: { type: 'memberUpsert', id: '00000000000000ab', name: 'n1', clientUrls: ['http://127.0.0.1:2379'] } }],
  ])('round-trips request %s', (requestId, command) => {
    const decoded = decodeProposal(encodeProposal(requestId, command));
    expect(decoded.requestId).toBe(requestId);
    expect(decoded.command.kind).toBe(command.kind);
    expect(JSON.stringify(decoded.command, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v))).toBe(
      JSON.stringify(command, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)),
    );
  });

  it('refuses an envelope that is truncated or of an unknown kind', () => {
    const data = encodeProposal('abc.1', { kind: 'kv', command: { type: 'compact', request: { revision: 2 } } });
    expect(() => decodeProposal(data.subarray(0, 4))).toThrow(/shorter than its envelope/);
    const unknown = Uint8Array.from(data);
    unknown[0] = 9;
    expect(() => decodeProposal(unknown)).toThrow(/unknown command kind 9/);
  });
});
