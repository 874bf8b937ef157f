// The peer wire format. One WebSocket binary message (a frame) is:
//
//   byte 0     PEER_PROTOCOL_VERSION
//   bytes 1..  one or more msgpack maps back to back (a msgpack stream), one per Raft message, in send order
//
// Messages are encoded one by one when they are queued, each as a complete one-message frame (the version byte,
// then the map), so that a peer's queue is bounded by the exact bytes it will put on the wire, and a lone message
// (typically a large append or snapshot chunk) goes out as it was encoded, without another copy. Frames of several
// messages (what one turn sends, coalesced) are the version byte followed by each one's map. Decoding reads binary
// fields as views into the received frame: entry and snapshot data are not copied on the way in.

import { Decoder, Encoder } from '@msgpack/msgpack';
import type { Message } from '../raft/types.js';
import { parseMessage } from './validate.js';

/** Version of the frame layout and of the handshake; a peer speaking another one is refused. */
export const PEER_PROTOCOL_VERSION = 1;

/** Bytes a frame adds to the messages it carries. */
export const FRAME_OVERHEAD_BYTES = 1;

export type DecodedFrame = { readonly ok: true; readonly messages: readonly Message[] } | { readonly ok: false; readonly reason: string };

export class FrameCodec {
  private readonly encoder = new Encoder({ ignoreUndefined: true });
  private readonly decoder: Decoder;

  constructor(maxFrameBytes: number) {
    // A length prefix larger than the frame can only be a lie; refusing it early avoids allocating for it.
    this.decoder = new Decoder({ maxStrLength: maxFrameBytes, maxBinLength: maxFrameBytes, maxArrayLength: maxFrameBytes, maxMapLength: maxFrameBytes, maxExtLength: 0 });
  }

  /** One message as a frame of its own. The caller must not modify it. */
  encodeMessage(message: Message): Buffer {
    const encoded = this.encoder.encodeSharedRef(message);
    const frame = Buffer.allocUnsafe(FRAME_OVERHEAD_BYTES + encoded.length);
    frame[0] = PEER_PROTOCOL_VERSION;
    frame.set(encoded, FRAME_OVERHEAD_BYTES);
    return frame;
  }

  /** Joins one-message frames from encodeMessage into one frame of `frameBytes` (see PeerQueue.take). */
  static join(frames: readonly Uint8Array[], frameBytes: number): Uint8Array {
    if (frames.length === 1) return frames[0]!;
    const joined = Buffer.allocUnsafe(frameBytes);
    joined[0] = PEER_PROTOCOL_VERSION;
    let offset = FRAME_OVERHEAD_BYTES;
    for (const frame of frames) {
      joined.set(frame.subarray(FRAME_OVERHEAD_BYTES), offset);
      offset += frame.length - FRAME_OVERHEAD_BYTES;
    }
    return joined;
  }

  /** Decodes and validates a whole frame; any fault rejects all of it, so that a frame is delivered entirely or not at all. Never throws. */
  decodeFrame(frame: Uint8Array): DecodedFrame {
    if (frame.length <= FRAME_OVERHEAD_BYTES) return { ok: false, reason: 'empty frame' };
    if (frame[0] !== PEER_PROTOCOL_VERSION) return { ok: false, reason: `frame version ${frame[0]} (this member speaks ${PEER_PROTOCOL_VERSION})` };
    // A plain Uint8Array view, not the Buffer ws hands over: binary fields come out as views into it, and a
    // Buffer's slice() would be a view too where a Uint8Array's is the copy its users expect.
    const body = new Uint8Array(frame.buffer, frame.byteOffset + FRAME_OVERHEAD_BYTES, frame.byteLength - FRAME_OVERHEAD_BYTES);
    const values: unknown[] = [];
    try {
      for (const value of this.decoder.decodeMulti(body)) values.push(value);
    } catch (error) {
      return { ok: false, reason: `not msgpack: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200) };
    }
    const messages: Message[] = [];
    for (const [i, value] of values.entries()) {
      const parsed = parseMessage(value);
      if (!parsed.ok) return { ok: false, reason: `message ${i}: ${parsed.reason}` };
      messages.push(parsed.message);
    }
    return { ok: true, messages };
  }
}
