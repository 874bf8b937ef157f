// Text forms that etcdctl's output takes from Go: %q quoting, %x of IDs, time.Duration's String,
// go-humanize's byte sizes, and the parsing of Go durations and hexadecimal IDs given on the command line.

const decoder = new TextDecoder();

export function bytesToText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Bytes as etcdctl's --hex shows them: every byte as \xNN. */
export function hexEscaped(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += `\\x${byte.toString(16).padStart(2, '0')}`;
  return text;
}

const SIMPLE_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 34: '\\"', 92: '\\\\' };
// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const NOT_PRINTABLE = /^[\p{C}\p{Z}]$/u;

/** Go's %q of a string or of bytes (invalid UTF-8 shows as \x escapes, as Go does for a string of bytes). */
export function goQuote(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  let out = '"';
  let at = 0;
  while (at < bytes.length) {
    const first = bytes[at] ?? 0;
    const width = first < 0x80 ? 1 : first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 0;
    const slice = bytes.subarray(at, at + Math.max(width, 1));
    const char = width === 0 || slice.length < width ? undefined : decodeStrict(slice);
    if (char === undefined) {
      out += `\\x${first.toString(16).padStart(2, '0')}`;
      at += 1;
      continue;
    }
    at += width;
    const code = char.codePointAt(0) ?? 0;
    const escape = SIMPLE_ESCAPES[code];
    if (escape !== undefined) out += escape;
    else if (code === 0x20 || !NOT_PRINTABLE.test(char)) out += char;
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true });
function decodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A 16-hex-digit ID as Go's %x prints the number: no leading zeros. */
export function hexId(id: string): string {
  return id.replace(/^0+(?=.)/, '');
}

/** A 16-hex-digit ID as Go's %16x prints it: right-aligned in 16 columns. */
export function paddedHexId(id: string): string {
  return hexId(id).padStart(16, ' ');
}

/** A 16-hex-digit ID as the decimal uint64 that etcdctl's JSON and fields printers show. */
/** A lease ID as etcdctl prints it (%016x). */
export function leaseHex(id: number): string {
  return id.toString(16).padStart(16, '0');
}

export function decimalId(id: string): bigint {
  return BigInt(`0x${id === '' ? '0' : id}`);
}

/** go-humanize's Bytes: SI units, one decimal below 10. Go rounds ties to even when formatting. */
export function humanizeBytes(size: number): string {
  if (size < 10) return `${size} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const exponent = Math.floor(Math.log(size) / Math.log(1000));
  const tenths = Math.floor((size / 1000 ** exponent) * 10 + 0.5);
  const unit = units[exponent] ?? 'EB';
  if (tenths < 100) return `${Math.floor(tenths / 10)}.${tenths % 10} ${unit}`;
  let whole = Math.floor(tenths / 10);
  const rest = tenths % 10;
  if (rest > 5 || (rest === 5 && whole % 2 === 1)) whole += 1;
  return `${whole} ${unit}`;
}

function trimFraction(integer: bigint, fraction: bigint, digits: number): string {
  const text = fraction.toString().padStart(digits, '0').replace(/0+$/, '');
  return text === '' ? integer.toString() : `${integer}.${text}`;
}

/** Go's time.Duration String of a number of nanoseconds: 2.1ms, 850µs, 1.5s, 1m2.5s, 1h0m0s. */
export function goDuration(nanoseconds: bigint): string {
  if (nanoseconds < 0n) return `-${goDuration(-nanoseconds)}`;
  if (nanoseconds === 0n) return '0s';
  if (nanoseconds < 1000n) return `${nanoseconds}ns`;
  if (nanoseconds < 1_000_000n) return `${trimFraction(nanoseconds / 1000n, nanoseconds % 1000n, 3)}µs`;
  if (nanoseconds < 1_000_000_000n) return `${trimFraction(nanoseconds / 1_000_000n, nanoseconds % 1_000_000n, 6)}ms`;
  const seconds = nanoseconds / 1_000_000_000n;
  const secondsText = `${trimFraction(seconds % 60n, nanoseconds % 1_000_000_000n, 9)}s`;
  if (seconds < 60n) return secondsText;
  const minutes = seconds / 60n;
  if (minutes < 60n) return `${minutes}m${secondsText}`;
  return `${minutes / 60n}h${minutes % 60n}m${secondsText}`;
}

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Go duration ("5s", "1m30s", "500ms", "0"), or undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const match = part.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? ''] ?? Number.NaN);
    at = part.lastIndex;
  }
  return at === 0 || !Number.isFinite(total) ? undefined : total;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const MAX_UINT64 = (1n << 64n) - 1n;

/** An ID given in hexadecimal, as 16 lowercase digits; the error reads as Go's strconv.ParseUint. */
export function parseHexId(text: string): Parsed<string> {
  if (!/^[0-9a-fA-F]+$/.test(text)) return { ok: false, error: `strconv.ParseUint: parsing ${goQuote(text)}: invalid syntax` };
  const value = BigInt(`0x${text}`);
  if (value > MAX_UINT64) return { ok: false, error: `strconv.ParseUint: parsing ${goQuote(text)}: value out of range` };
  return { ok: true, value: value.toString(16).padStart(16, '0') };
}

/** A non-negative integer in `radix` (10 or 16) that fits a JS number exactly; the error reads as Go's strconv.ParseInt. */
export function parseInteger(text: string, radix: 10 | 16): Parsed<number> {
  const digits = radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/;
  if (!digits.test(text)) return { ok: false, error: `strconv.ParseInt: parsing ${goQuote(text)}: invalid syntax` };
  const value = BigInt(radix === 16 ? `0x${text}` : text);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, error: `strconv.ParseInt: parsing ${goQuote(text)}: value out of range` };
  return { ok: true, value: Number(value) };
}
