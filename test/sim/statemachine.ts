// The simulated state machine: the sequence of applied entries, summarised by a hash chain, plus the
// set of applied proposal ids (to prove exactly-once application). Its snapshot is a JSON
// serialisation, so an installed snapshot can be verified against the global history.

import type { Entry } from '../../src/raft/types.js';
import { hashBytes, mix } from './prng.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Proposal payload: `p<id>|<filler>`. The id is unique per client request. */
export function encodeProposal(id: number, fillerBytes: number): Uint8Array {
  return encoder.encode(`p${id}|${'x'.repeat(fillerBytes)}`);
}

const P = 'p'.charCodeAt(0);
const BAR = '|'.charCodeAt(0);

/** The proposal id carried by a normal entry, or -1 (leader no-op, or not a proposal). */
export function proposalId(e: Entry): number {
  if (e.type !== 'normal') return -1;
  const d = e.data;
  if (d.length < 2 || d[0] !== P) return -1;
  let id = 0;
  for (let i = 1; i < d.length; i++) {
    const c = d[i] as number;
    if (c === BAR) return id;
    if (c < 48 || c > 57) return -1;
    id = id * 10 + (c - 48);
  }
  return -1;
}

const contentCache = new WeakMap<Entry, number>();

/** Identity of an entry (term, type, data) as a 32-bit hash; the index is implied by position. */
export function contentHash(e: Entry): number {
  let h = contentCache.get(e);
  if (h === undefined) {
    h = mix(hashBytes(e.type === 'normal' ? 1 : 2, e.data), e.term);
    contentCache.set(e, h);
  }
  return h;
}

export const EMPTY_CHAIN = 0x2545f491;

export function chainNext(chain: number, content: number): number {
  return mix(chain, content);
}

interface SnapshotBody {
  i: number;
  c: number;
  ids: number[];
}

export class StateMachine {
  applied = 0;
  chain = EMPTY_CHAIN;
  readonly ids = new Set<number>();

  serialize(): Uint8Array {
    const ids = [...this.ids].sort((a, b) => a - b);
    const body: SnapshotBody = { i: this.applied, c: this.chain, ids };
    return encoder.encode(JSON.stringify(body));
  }

  /** Throws when the bytes are not a well-formed snapshot. */
  static fromBytes(bytes: Uint8Array): StateMachine {
    const body = JSON.parse(decoder.decode(bytes)) as SnapshotBody;
    if (typeof body.i !== 'number' || typeof body.c !== 'number' || !Array.isArray(body.ids)) {
      throw new Error('malformed snapshot body');
    }
    const sm = new StateMachine();
    sm.applied = body.i;
    sm.chain = body.c;
    for (const id of body.ids) sm.ids.add(id);
    if (sm.ids.size !== body.ids.length) throw new Error('snapshot lists a proposal id twice');
    return sm;
  }
}
