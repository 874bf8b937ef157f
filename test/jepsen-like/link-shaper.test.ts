// The front doors' WebSocket frame reader and link shaper: frames are found across any split of the TCP stream,
// with 7-, 16- and 64-bit lengths, masked or not; a lossy link drops whole data messages (every fragment or none)
// and never a control frame; a delayed link hands everything on later and in order.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { LinkShaper, type LinkFault, type ShapeCounts } from '../../jepsen-like/link-shaper.js';
import { FrameReader, OPCODE, type FramePiece } from '../../jepsen-like/ws-frames.js';
import { binary, frame, splitInto } from './ws-frame-builder.js';

/** Frames of every length encoding, masked and not, with their opcodes and payload sizes. */
function mixedFrames(masked: boolean): { bytes: Buffer; expected: { opcode: number; masked: boolean; payloadBytes: number }[] } {
  const frames = [
    frame(OPCODE.binary, Buffer.alloc(5, 1), { masked }),
    frame(OPCODE.binary, Buffer.alloc(125, 2), { masked }),
    frame(OPCODE.binary, Buffer.alloc(300, 3), { masked }),
    frame(OPCODE.ping, Buffer.from('hi'), { masked }),
    frame(OPCODE.binary, Buffer.alloc(70_000, 4), { masked }),
    frame(OPCODE.binary, Buffer.alloc(0), { masked }),
    frame(OPCODE.close, Buffer.from([0x03, 0xe8]), { masked }),
  ];
  const expected = [5, 125, 300, 2, 70_000, 0, 2].map((payloadBytes, i) => ({ opcode: [2, 2, 2, 9, 2, 2, 8][i]!, masked, payloadBytes }));
  return { bytes: Buffer.concat(frames), expected };
}

function readAll(chunks: readonly Buffer[]): FramePiece[] {
  const reader = new FrameReader();
  return chunks.flatMap((chunk) => reader.push(chunk));
}

describe('FrameReader', () => {
  for (const masked of [true, false]) {
    for (const most of [1, 3, 13, 1000, 200_000]) {
      it(`finds every ${masked ? 'masked' : 'unmasked'} frame header in a stream split into pieces of up to ${most} bytes`, () => {
        const { bytes, expected } = mixedFrames(masked);
        const pieces = readAll(splitInto(bytes, most));
        expect(Buffer.concat(pieces.map((piece) => piece.bytes)).equals(bytes)).toBe(true);
        const headers = pieces.flatMap((piece) => (piece.kind === 'header' ? [piece.header] : []));
        expect(headers.map(({ opcode, masked: m, payloadBytes }) => ({ opcode, masked: m, payloadBytes }))).toEqual(expected);
        expect(pieces.some((piece) => piece.kind === 'raw')).toBe(false);
        // Each frame's payload pieces add up to its length.
        const payloadOf = new Map<unknown, number>();
        for (const piece of pieces) if (piece.kind === 'payload') payloadOf.set(piece.header, (payloadOf.get(piece.header) ?? 0) + piece.bytes.length);
        for (const header of headers) expect(payloadOf.get(header) ?? 0).toBe(header.payloadBytes);
      });
    }
  }

  it('hands on everything raw once the framing breaks (a reserved opcode), and says why', () => {
    const reader = new FrameReader();
    const good = binary('ok');
    const bad = Buffer.concat([Buffer.from([0x83, 0x01, 0x00]), binary('after')]);
    const pieces = [...reader.push(good), ...reader.push(bad)];
    expect(pieces.map((piece) => piece.kind)).toEqual(['header', 'payload', 'raw']);
    expect(pieces[2]!.bytes.equals(bad)).toBe(true);
    expect(reader.brokenBy).toBe('reserved opcode 3');
  });
});

/** A shaper writing into an array, with a link fault the test sets. */
function shaperWith(fault: LinkFault | null, options: { random?: () => number; httpHead?: boolean } = {}) {
  const written: Buffer[] = [];
  const counts: ShapeCounts = { framesDropped: 0, framesDelayed: 0 };
  const state = { fault };
  const shaper = new LinkShaper({
    write: (bytes) => written.push(bytes),
    fault: () => state.fault,
    random: options.random ?? (() => 0.5),
    counts,
    httpHead: options.httpHead ?? false,
    maxDelayedBytes: 1 << 20,
    onBacklog: () => {},
  });
  return { shaper, written: () => Buffer.concat(written), counts, state };
}

const lossy = (lossProbability: number): LinkFault => ({ delayMs: 0, jitterMs: 0, lossProbability });

describe('LinkShaper', () => {
  afterEach(() => vi.useRealTimers());

  it('at loss 1 drops every data frame, fragments of a message included, and passes every control frame', () => {
    const { shaper, written, counts } = shaperWith(lossy(1));
    const ping = frame(OPCODE.ping, Buffer.from('p'), { masked: true });
    const close = frame(OPCODE.close, Buffer.from([0x03, 0xe8]), { masked: true });
    const stream = Buffer.concat([
      binary('one', { masked: true }),
      frame(OPCODE.binary, Buffer.from('frag-'), { masked: true, fin: false }),
      ping,
      frame(OPCODE.continuation, Buffer.alloc(400, 7), { masked: true, fin: true }),
      binary('x'.repeat(70_000), { masked: true }),
      close,
    ]);
    for (const piece of splitInto(stream, 5)) shaper.push(piece);
    expect(written().equals(Buffer.concat([ping, close]))).toBe(true);
    expect(counts.framesDropped).toBe(4);
  });

  it('at loss 0 passes every byte as it came', () => {
    const { shaper, written, counts } = shaperWith(lossy(0));
    const { bytes } = mixedFrames(true);
    for (const piece of splitInto(bytes, 1000)) shaper.push(piece);
    expect(written().equals(bytes)).toBe(true);
    expect(counts.framesDropped).toBe(0);
  });

  it('drops a fragmented message whole or not at all, by one draw at its first fragment', () => {
    const draws = [0.9, 0.1, 0.9]; // keep, drop, keep (loss 0.5)
    const { shaper, written } = shaperWith(lossy(0.5), { random: () => draws.shift() ?? 0.9 });
    const first = Buffer.concat([frame(OPCODE.binary, Buffer.from('a1'), { fin: false }), frame(OPCODE.continuation, Buffer.from('a2'))]);
    const second = Buffer.concat([frame(OPCODE.binary, Buffer.from('b1'), { fin: false }), frame(OPCODE.continuation, Buffer.from('b2'), { fin: false }), frame(OPCODE.continuation, Buffer.from('b3'))]);
    const third = binary('c');
    shaper.push(Buffer.concat([first, second, third]));
    expect(written().equals(Buffer.concat([first, third]))).toBe(true);
  });

  it("reads the listener's side after its 101 response head, unmasked, and leaves a stream that is no upgrade alone", () => {
    const head = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    const pong = frame(OPCODE.pong, Buffer.from('p'));
    const upgraded = shaperWith(lossy(1), { httpHead: true });
    for (const piece of splitInto(Buffer.concat([head, binary('data'), pong]), 4)) upgraded.shaper.push(piece);
    expect(upgraded.written().equals(Buffer.concat([head, pong]))).toBe(true);

    const refusal = Buffer.concat([Buffer.from('HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\n'), binary('data')]);
    const refused = shaperWith(lossy(1), { httpHead: true });
    refused.shaper.push(refusal);
    expect(refused.written().equals(refusal)).toBe(true);
  });

  it('delays every piece by the latency plus its jitter, releasing them in order even when a later one draws less', () => {
    vi.useFakeTimers();
    const draws = [1, 0, 0.5, 0];
    const { shaper, written, counts, state } = shaperWith({ delayMs: 100, jitterMs: 50, lossProbability: 0 }, { random: () => draws.shift() ?? 0 });
    const frames = [binary('1'), binary('2'), binary('3')];
    for (const f of frames) shaper.push(f);
    vi.advanceTimersByTime(99);
    expect(written().length).toBe(0);
    vi.advanceTimersByTime(51); // the first drew the most jitter (150 ms); the others wait behind it
    expect(written().equals(Buffer.concat(frames))).toBe(true);
    expect(counts.framesDelayed).toBe(3);

    // Healed while bytes are held back: what comes after waits behind them, then flows straight through.
    shaper.push(binary('4'));
    state.fault = null;
    shaper.push(binary('5'));
    expect(written().length).toBe(Buffer.concat(frames).length);
    vi.advanceTimersByTime(100);
    expect(written().equals(Buffer.concat([...frames, binary('4'), binary('5')]))).toBe(true);
    shaper.push(binary('6'));
    expect(written().subarray(-binary('6').length).equals(binary('6'))).toBe(true);
  });
});
