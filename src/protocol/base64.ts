// Standard base64 (RFC 4648 section 4, with padding), as etcd's gateway reads and writes bytes fields: jsonpb
// decodes them with Go's base64.StdEncoding, so the URL-safe alphabet and unpadded text are refused there, CR
// and LF are skipped anywhere, and set bits after the last full byte are ignored. This reader accepts exactly
// that; the writer emits the canonical form.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const SEXTET = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) SEXTET[ALPHABET.charCodeAt(i)] = i;

function sextetAt(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code < 128 ? (SEXTET[code] ?? -1) : -1;
}

/** The bytes of `text`, or undefined when it is not standard padded base64 (Go's StdEncoding, not strict). */
export function decodeBase64(input: string): Uint8Array | undefined {
  const text = input.includes('\r') || input.includes('\n') ? input.replace(/[\r\n]/g, '') : input;
  if (text.length % 4 !== 0) return undefined;
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  let out = 0;
  for (let at = 0; at < text.length; at += 4) {
    const last = at + 4 === text.length;
    const a = sextetAt(text, at);
    const b = sextetAt(text, at + 1);
    const c = last && padding === 2 ? 0 : sextetAt(text, at + 2);
    const d = last && padding >= 1 ? 0 : sextetAt(text, at + 3);
    if ((a | b | c | d) < 0) return undefined;
    const quantum = (a << 18) | (b << 12) | (c << 6) | d;
    bytes[out++] = quantum >>> 16;
    if (!last || padding < 2) bytes[out++] = (quantum >>> 8) & 0xff;
    if (!last || padding < 1) bytes[out++] = quantum & 0xff;
  }
  return bytes;
}

/** Standard padded base64 without Buffer (for runtimes that lack it; the tests hold it to Buffer's output). */
export function encodeBase64Portable(bytes: Uint8Array): string {
  const char = (sextet: number) => ALPHABET.charAt(sextet & 63);
  let text = '';
  let at = 0;
  for (; at + 3 <= bytes.length; at += 3) {
    const quantum = ((bytes[at] ?? 0) << 16) | ((bytes[at + 1] ?? 0) << 8) | (bytes[at + 2] ?? 0);
    text += char(quantum >>> 18) + char(quantum >>> 12) + char(quantum >>> 6) + char(quantum);
  }
  if (bytes.length - at === 1) {
    const quantum = (bytes[at] ?? 0) << 16;
    text += `${char(quantum >>> 18)}${char(quantum >>> 12)}==`;
  } else if (bytes.length - at === 2) {
    const quantum = ((bytes[at] ?? 0) << 16) | ((bytes[at + 1] ?? 0) << 8);
    text += `${char(quantum >>> 18)}${char(quantum >>> 12)}${char(quantum >>> 6)}=`;
  }
  return text;
}

// Node's Buffer is a global there; the codec must also run where it is not (a browser client).
const nodeBuffer = typeof Buffer === 'function' ? Buffer : undefined;

export function encodeBase64(bytes: Uint8Array): string {
  if (nodeBuffer === undefined) return encodeBase64Portable(bytes);
  return nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
