// The pieces without sockets: frame encoding and validation, the bounded queue, the backoff.

import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { index, term, type Message } from '../../src/raft/types.js';
import { Backoff } from '../../src/transport/backoff.js';
import { FrameCodec, PEER_PROTOCOL_VERSION } from '../../src/transport/frame.js';
import { PeerQueue } from '../../src/transport/queue.js';
import { parseMessage } from '../../src/transport/validate.js';
import { A, B, C, append, heartbeat } from './helpers.js';

const base = { from: A, to: B, term: term(7) };
const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);

/** One message of every type, with every field set. */
const SAMPLES: readonly Message[] = [
  { ...base, type: 'preVote', lastLogIndex: index(4), lastLogTerm: term(6), transfer: false },
  { ...base, type: 'vote', lastLogIndex: index(4), lastLogTerm: term(6), transfer: true },
  { ...base, type: 'preVoteResponse', granted: true },
  { ...base, type: 'voteResponse', granted: false },
  { ...base, type: 'append', prevLogIndex: index(3), prevLogTerm: term(2), commit: index(3), entries: [{ term: term(7), index: index(4), type: 'confChange', data: bytes(5) }] },
  { ...base, type: 'appendResponse', success: true, index: index(9), rejectHintIndex: index(0), rejectHintTerm: term(0) },
  heartbeat(A, B, 12, 'ctx'),
  { ...base, type: 'heartbeatResponse', context: 'ctx' },
  { ...base, type: 'snapshot', snapshot: { index: index(100), term: term(5), config: { voters: [A, B], learners: [C] }, sizeBytes: 8 }, offset: 4, length: 4, last: true, data: bytes(4) },
  { ...base, type: 'snapshotResponse', snapshotIndex: index(100), receivedBytes: 8, installed: false },
  { ...base, type: 'timeoutNow' },
  { ...base, type: 'forwardProposal', entries: [{ type: 'normal', data: bytes(3) }] },
  { ...base, type: 'readIndex', context: 'r' },
  { ...base, type: 'readIndexResponse', context: 'r', index: index(44) },
];

const codec = new FrameCodec(1024 * 1024);

/** A frame built by hand from arbitrary values, as a faulty or hostile peer could send. */
function frameOf(values: readonly unknown[]): Uint8Array {
  return Buffer.concat([Buffer.of(PEER_PROTOCOL_VERSION), ...values.map((value) => encode(value))]);
}

/** What the sender does: each message a one-message frame, all joined into one. */
function joined(messages: readonly Message[]): Uint8Array {
  const queue = new PeerQueue(messages.length, 1 << 30);
  for (const message of messages) queue.push(codec.encodeMessage(message));
  const { records, frameBytes } = queue.take(1 << 30);
  expect(records).toHaveLength(messages.length);
  return FrameCodec.join(records, frameBytes);
}

/** Paths to every field of a message, nested ones included (arrays through their first element). */
function fieldPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value instanceof Uint8Array || typeof value !== 'object' || value === null) return [];
  const children: [string | number, unknown][] = Array.isArray(value) ? (value.length > 0 ? [[0, value[0]]] : []) : Object.entries(value);
  return children.flatMap(([key, child]) => [[...prefix, key], ...fieldPaths(child, [...prefix, key])]);
}

function withChange(message: Message, path: (string | number)[], change: (old: unknown) => unknown): unknown {
  const copy = structuredClone(message) as unknown as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const next = change(parent[last]);
  if (next === REMOVE) delete parent[last];
  else parent[last] = next;
  return copy;
}

/** A value of another type than `old`. */
function wrongType(old: unknown): unknown {
  if (old instanceof Uint8Array) return Array.from(old);
  if (Array.isArray(old)) return 'not an array';
  switch (typeof old) {
    case 'number':
      return String(old);
    case 'string':
      return 7;
    case 'boolean':
      return 1;
    default:
      return 'not a map';
  }
}

const REMOVE = Symbol('remove');

describe('frames', () => {
  it('round-trips one message of every type, all in one frame', () => {
    const frame = joined(SAMPLES);
    expect(frame[0]).toBe(PEER_PROTOCOL_VERSION);
    expect(codec.decodeFrame(frame)).toEqual({ ok: true, messages: SAMPLES });
  });

  it('encodes a message as a frame of its own, which a lone message is sent as', () => {
    const message = heartbeat(A, B, 9);
    const frame = codec.encodeMessage(message);
    expect(frame[0]).toBe(PEER_PROTOCOL_VERSION);
    expect(FrameCodec.join([frame], frame.length)).toBe(frame);
    expect(codec.decodeFrame(frame)).toEqual({ ok: true, messages: [message] });
  });

  it('hands out entry and snapshot data as views into the received frame (no copy)', () => {
    const message = append(A, B, 0, 4096, 3);
    const frame = codec.encodeMessage(message);
    const decoded = codec.decodeFrame(frame);
    if (!decoded.ok) throw new Error(decoded.reason);
    const entries = (decoded.messages[0] as typeof message).entries;
    for (const entry of entries) {
      expect(entry.data.constructor).toBe(Uint8Array);
      expect(entry.data.buffer).toBe(frame.buffer);
    }
    expect(entries.map((e) => Array.from(e.data))).toEqual(message.entries.map((e) => Array.from(e.data)));
  });

  it('keeps only the fields of the type: extra fields a peer adds do not reach the core', () => {
    const decoded = codec.decodeFrame(frameOf([{ ...heartbeat(A, B, 1), extra: 'x', __defineGetter__: 1 }]));
    expect(decoded).toEqual({ ok: true, messages: [heartbeat(A, B, 1)] });
  });

  it.each(SAMPLES.map((m) => [m.type, m] as const))('refuses a %s with any field missing', (_type, message) => {
    const fields = fieldPaths(message).filter((path) => typeof path[path.length - 1] === 'string');
    expect(fields.length).toBeGreaterThanOrEqual(4);
    for (const path of fields) {
      expect(parseMessage(withChange(message, path, () => REMOVE)).ok, `without ${path.join('.')}`).toBe(false);
    }
  });

  it.each(SAMPLES.map((m) => [m.type, m] as const))('refuses a %s with any field of the wrong type', (_type, message) => {
    expect(parseMessage(message).ok).toBe(true);
    for (const path of fieldPaths(message)) {
      expect(parseMessage(withChange(message, path, wrongType)).ok, `${path.join('.')} of the wrong type`).toBe(false);
    }
  });

  it.each([
    ['a negative term', { ...heartbeat(A, B, 1), term: -1 }],
    ['a fractional index', { ...heartbeat(A, B, 1), commit: 1.5 }],
    ['an unsafe integer', { ...heartbeat(A, B, 1), commit: 2 ** 60 }],
    ['an unknown message type', { ...heartbeat(A, B, 1), type: 'gossip' }],
    ['an unknown entry type', { ...append(A, B, 0, 4), entries: [{ term: 1, index: 1, type: 'weird', data: new Uint8Array(1) }] }],
    ['a snapshot chunk whose data disagrees with its length', { ...SAMPLES[8]!, length: 3 }],
    ['an array instead of a map', [1, 2, 3]],
    ['a bare number', 42],
    ['entries that are not an array', { ...append(A, B, 0, 4), entries: { 0: 1 } }],
  ])('refuses %s', (_what, value) => {
    const decoded = codec.decodeFrame(frameOf([value]));
    expect(decoded.ok).toBe(false);
  });

  it('refuses the whole frame when any message in it is bad', () => {
    const decoded = codec.decodeFrame(frameOf([heartbeat(A, B, 1), { type: 'heartbeat' }, heartbeat(A, B, 2)]));
    expect(decoded).toEqual({ ok: false, reason: expect.stringContaining('message 1:') });
  });

  it.each([
    ['an empty frame', new Uint8Array(0)],
    ['a version byte alone', Uint8Array.of(PEER_PROTOCOL_VERSION)],
    ['another version', Uint8Array.of(2, ...encode(heartbeat(A, B, 1)))],
    ['truncated msgpack', frameOf([heartbeat(A, B, 1)]).subarray(0, 20)],
    ['a msgpack extension (a timestamp)', Uint8Array.of(PEER_PROTOCOL_VERSION, ...encode(new Date(0)))],
    ['a length prefix far beyond the frame', Uint8Array.of(PEER_PROTOCOL_VERSION, 0xdd, 0x7f, 0xff, 0xff, 0xff)],
    ['a __proto__ key', Uint8Array.of(PEER_PROTOCOL_VERSION, 0x81, 0xa9, ...new TextEncoder().encode('__proto__'), 0x01)],
  ])('refuses %s without throwing', (_what, frame) => {
    expect(codec.decodeFrame(frame).ok).toBe(false);
  });

  it('never throws on random bytes', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 2000; i++) {
      const frame = Uint8Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      frame[0] = PEER_PROTOCOL_VERSION;
      expect(() => codec.decodeFrame(frame)).not.toThrow();
    }
  });
});

describe('PeerQueue', () => {
  const record = (n: number) => new Uint8Array(n);

  it('refuses the newest record beyond its message bound', () => {
    const queue = new PeerQueue(3, 1000);
    expect([1, 2, 3, 4].map((n) => queue.push(record(n)))).toEqual([true, true, true, false]);
    expect([queue.length, queue.byteLength]).toEqual([3, 6]);
  });

  it('refuses the newest record beyond its byte bound, and takes smaller ones that still fit', () => {
    const queue = new PeerQueue(100, 10);
    expect([6, 5, 4].map((n) => queue.push(record(n)))).toEqual([true, false, true]);
    expect(queue.byteLength).toBe(10);
  });

  it('takes the oldest records that fit in a frame, at least one, in order', () => {
    const queue = new PeerQueue(100, 1000);
    const sizes = [10, 20, 30, 100, 5];
    for (const n of sizes) queue.push(record(n).fill(n));
    // Each record carries a version byte of its own; joined, the frame keeps one: 1 + 9 + 19 + 29 = 58 bytes.
    const first = queue.take(61);
    expect(first.records.map((r) => r[0])).toEqual([10, 20, 30]);
    expect(first.frameBytes).toBe(58);
    expect(queue.take(61)).toMatchObject({ records: [expect.objectContaining({ length: 100 })], frameBytes: 100 });
    expect(queue.take(61).records.map((r) => r[0])).toEqual([5]);
    expect([queue.length, queue.byteLength]).toEqual([0, 0]);
  });

  it('stays correct across many pushes and takes (its consumed prefix is cut off)', () => {
    const queue = new PeerQueue(5000, 1 << 30);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) queue.push(new Uint8Array(Uint32Array.of(next++).buffer));
      const { records } = queue.take(1 + 4 * 70);
      for (const r of records) expect(new Uint32Array(r.buffer)[0]).toBe(expected++);
    }
    expect(queue.length).toBe(next - expected);
  });
});

describe('Backoff', () => {
  it('doubles from the minimum to the maximum with equal jitter, and starts over after reset', () => {
    const fixed = new Backoff(50, 2000, () => 0.999999);
    expect(Array.from({ length: 8 }, () => fixed.next())).toEqual([50, 100, 200, 400, 800, 1600, 2000, 2000]);
    fixed.reset();
    expect(fixed.next()).toBe(50);
    const low = new Backoff(50, 2000, () => 0);
    expect(Array.from({ length: 8 }, () => low.next())).toEqual([50, 50, 100, 200, 400, 800, 1000, 1000]);
  });

  it('stays within [min, max] for any jitter', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const backoff = new Backoff(20, 500, random);
    for (let i = 0; i < 1000; i++) {
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(20);
      expect(delay).toBeLessThanOrEqual(500);
    }
  });
});
