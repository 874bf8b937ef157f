// A streaming reader of WebSocket frames (RFC 6455 section 5.2), for the front doors' lossy links: it cuts a TCP
// byte stream into frame headers and payload pieces as they arrive, so that a door can drop whole frames (a Raft
// message batch is one binary frame, src/transport/frame.ts) without buffering payloads and without ever passing
// on part of a frame. It reads frames in either direction: masked (dialer to listener) or not (listener to dialer);
// the mask is left as it is, since the door never looks inside a payload.
//
// A stream that breaks the framing (a reserved opcode, a fragmented control frame) is not second-guessed: the
// reader says so once and hands on everything after as raw bytes, which a door then relays untouched.

/** The longest header: 2 bytes, an 8-byte extended length, a 4-byte masking key. */
const MAX_HEADER_BYTES = 14;

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface FrameHeader {
  readonly fin: boolean;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payloadBytes: number;
}

/** Control frames (close, ping, pong) may come between the fragments of a message and are never fragmented. */
export function isControl(opcode: number): boolean {
  return opcode >= 0x8;
}

export type FramePiece =
  /** A whole frame header (its bytes as they came). */
  | { readonly kind: 'header'; readonly header: FrameHeader; readonly bytes: Buffer }
  /** Part of the payload of the frame whose header came last. */
  | { readonly kind: 'payload'; readonly header: FrameHeader; readonly bytes: Buffer }
  /** Bytes after the framing broke, or after `passRaw()`. */
  | { readonly kind: 'raw'; readonly bytes: Buffer };

/** The header at the start of `bytes`, with its length; null when `bytes` do not hold all of it yet. */
export function readHeader(bytes: Buffer): { header: FrameHeader; headerBytes: number } | null {
  if (bytes.length < 2) return null;
  const fin = (bytes[0]! & 0x80) !== 0;
  const opcode = bytes[0]! & 0x0f;
  const masked = (bytes[1]! & 0x80) !== 0;
  const shortLength = bytes[1]! & 0x7f;
  const lengthBytes = shortLength === 126 ? 2 : shortLength === 127 ? 8 : 0;
  const headerBytes = 2 + lengthBytes + (masked ? 4 : 0);
  if (bytes.length < headerBytes) return null;
  let payloadBytes = shortLength;
  if (shortLength === 126) payloadBytes = bytes.readUInt16BE(2);
  if (shortLength === 127) payloadBytes = Number(bytes.readBigUInt64BE(2));
  return { header: { fin, opcode, masked, payloadBytes }, headerBytes };
}

/** Why a header cannot start a well-formed frame, or null. */
function malformed(header: FrameHeader): string | null {
  const { opcode } = header;
  if (!(opcode <= OPCODE.binary || (opcode >= OPCODE.close && opcode <= OPCODE.pong))) return `reserved opcode ${opcode}`;
  if (isControl(opcode) && (!header.fin || header.payloadBytes > 125)) return `control frame ${opcode} fragmented or over 125 bytes`;
  if (!Number.isSafeInteger(header.payloadBytes)) return 'payload length beyond 2^53';
  return null;
}

export class FrameReader {
  /** Bytes of a header not yet whole. */
  private pending: Buffer = Buffer.alloc(0);
  /** The frame whose payload is being read, and how much of it is left. */
  private current: FrameHeader | null = null;
  private payloadLeft = 0;
  private raw = false;
  /** Why the framing broke, once it has. */
  brokenBy: string | null = null;

  /** From now on every byte is handed on raw (the stream is not, or is no longer, WebSocket frames). */
  passRaw(): void {
    this.raw = true;
  }

  /** The pieces `chunk` completes, in stream order; their bytes together are exactly what was pushed. */
  push(chunk: Buffer): FramePiece[] {
    const pieces: FramePiece[] = [];
    let rest = chunk;
    while (rest.length > 0) {
      if (this.raw) {
        pieces.push({ kind: 'raw', bytes: Buffer.concat([this.pending, rest]) });
        this.pending = Buffer.alloc(0);
        return pieces;
      }
      if (this.current !== null && this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, rest.length);
        pieces.push({ kind: 'payload', header: this.current, bytes: rest.subarray(0, take) });
        this.payloadLeft -= take;
        rest = rest.subarray(take);
        continue;
      }
      const joined = this.pending.length === 0 ? rest : Buffer.concat([this.pending, rest.subarray(0, MAX_HEADER_BYTES)]);
      const read = readHeader(joined);
      if (read === null) {
        this.pending = Buffer.concat([this.pending, rest]);
        return pieces;
      }
      const reason = malformed(read.header);
      if (reason !== null) {
        this.brokenBy = reason;
        this.raw = true;
        continue; // `pending` and `rest` go out raw on the next turn
      }
      // Of the header's bytes, those that were pending came before `rest`.
      const fromRest = read.headerBytes - this.pending.length;
      pieces.push({ kind: 'header', header: read.header, bytes: joined.subarray(0, read.headerBytes) });
      this.pending = Buffer.alloc(0);
      this.current = read.header;
      this.payloadLeft = read.header.payloadBytes;
      rest = rest.subarray(fromRest);
    }
    return pieces;
  }
}
