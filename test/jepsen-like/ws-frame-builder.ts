// WebSocket frames built by hand for the tests of the front doors' frame reader and link shaper.

import { OPCODE } from '../../jepsen-like/ws-frames.js';

export { OPCODE };

/** One frame: `masked` as a dialer sends them (with a non-zero key, so a reader that unmasked would be caught). */
export function frame(opcode: number, payload: Buffer, { masked = false, fin = true } = {}): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = (masked ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(length, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (!masked) return Buffer.concat([header, payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  key.copy(header, 2 + lengthBytes);
  return Buffer.concat([header, Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!))]);
}

export const binary = (text: string, options?: { masked?: boolean; fin?: boolean }) => frame(OPCODE.binary, Buffer.from(text), options);

/** `bytes` cut into pieces of 1 to `most` bytes, in a fixed pattern. */
export function splitInto(bytes: Buffer, most: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = 1 + ((i * 7) % most);
    pieces.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}
