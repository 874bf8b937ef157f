// The values of the key-value store's records (the keys are in kv-layout.ts). Each is a msgpack array of
// non-negative integers and byte strings, written and read here directly: these run several times per put and
// once per key a range walks, and a general msgpack encoder costs several times more than the bytes themselves.
//
//   current ('k'):  [createRevision, modRevision, sub, version, lease]
//   event ('r'):    put [key, value, createRevision, version, lease, prevRevision, prevSub] | tombstone [key, prevRevision, prevSub]
//   history ('h'):  put [createRevision, version, lease] | tombstone: empty
//   meta ('v'):     [revision, compactRevision]

const TWO_32 = 4294967296;

/** A key's version as the index knows it: everything but the value, which its event record holds. */
export interface VersionRef {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly sub: number;
  readonly version: number;
  readonly lease: number;
}

// ---- writing ----

const uintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < TWO_32 ? 5 : 9);
const binSize = (bytes: Uint8Array): number => bytes.length + (bytes.length < 0x100 ? 2 : bytes.length < 0x10000 ? 3 : 5);

class Writer {
  readonly out: Uint8Array;
  private at = 1;

  constructor(size: number, fields: number) {
    this.out = new Uint8Array(size + 1);
    this.out[0] = 0x90 | fields;
  }

  uint(n: number): this {
    const out = this.out;
    if (n < 0x80) {
      out[this.at++] = n;
    } else if (n < 0x100) {
      out[this.at++] = 0xcc;
      out[this.at++] = n;
    } else if (n < 0x10000) {
      out[this.at++] = 0xcd;
      out[this.at++] = n >>> 8;
      out[this.at++] = n & 0xff;
    } else if (n < TWO_32) {
      out[this.at++] = 0xce;
      this.u32(n);
    } else {
      out[this.at++] = 0xcf;
      this.u32(Math.floor(n / TWO_32));
      this.u32(n >>> 0);
    }
    return this;
  }

  bin(bytes: Uint8Array): this {
    const out = this.out;
    const n = bytes.length;
    if (n < 0x100) {
      out[this.at++] = 0xc4;
      out[this.at++] = n;
    } else if (n < 0x10000) {
      out[this.at++] = 0xc5;
      out[this.at++] = n >>> 8;
      out[this.at++] = n & 0xff;
    } else {
      out[this.at++] = 0xc6;
      this.u32(n);
    }
    out.set(bytes, this.at);
    this.at += n;
    return this;
  }

  private u32(n: number): void {
    const out = this.out;
    out[this.at++] = n >>> 24;
    out[this.at++] = (n >>> 16) & 0xff;
    out[this.at++] = (n >>> 8) & 0xff;
    out[this.at++] = n & 0xff;
  }
}

// ---- reading ----

class Reader {
  private at = 1;
  readonly fields: number;

  constructor(
    private readonly bytes: Uint8Array,
    what: string,
  ) {
    const head = bytes[0];
    if (head === undefined || (head & 0xf0) !== 0x90) throw new RangeError(`malformed ${what} record`);
    this.fields = head & 0x0f;
  }

  uint(): number {
    const bytes = this.bytes;
    const head = bytes[this.at++] as number;
    if (head < 0x80) return head;
    switch (head) {
      case 0xcc:
        return bytes[this.at++] as number;
      case 0xcd:
        return ((bytes[this.at++] as number) << 8) | (bytes[this.at++] as number);
      case 0xce:
        return this.u32();
      case 0xcf:
        return this.u32() * TWO_32 + this.u32();
      default:
        throw new RangeError(`malformed record: 0x${head.toString(16)} where a count should be`);
    }
  }

  bin(): Uint8Array {
    const bytes = this.bytes;
    const head = bytes[this.at++];
    let n: number;
    if (head === 0xc4) n = bytes[this.at++] as number;
    else if (head === 0xc5) n = ((bytes[this.at++] as number) << 8) | (bytes[this.at++] as number);
    else if (head === 0xc6) n = this.u32();
    else throw new RangeError('malformed record: no bytes where bytes should be');
    const start = this.at;
    this.at += n;
    if (this.at > bytes.length) throw new RangeError('malformed record: truncated bytes');
    return bytes.subarray(start, this.at);
  }

  private u32(): number {
    const bytes = this.bytes;
    const n = (((bytes[this.at] as number) << 24) >>> 0) + ((bytes[this.at + 1] as number) << 16) + ((bytes[this.at + 2] as number) << 8) + (bytes[this.at + 3] as number);
    this.at += 4;
    return n;
  }
}

// ---- the records ----

export function encodeCurrent(createRevision: number, modRevision: number, sub: number, version: number, lease: number): Uint8Array {
  const size = uintSize(createRevision) + uintSize(modRevision) + uintSize(sub) + uintSize(version) + uintSize(lease);
  return new Writer(size, 5).uint(createRevision).uint(modRevision).uint(sub).uint(version).uint(lease).out;
}

export function decodeCurrent(key: Uint8Array, bytes: Uint8Array): VersionRef {
  const r = new Reader(bytes, 'current');
  return { key, createRevision: r.uint(), modRevision: r.uint(), sub: r.uint(), version: r.uint(), lease: r.uint() };
}

export function encodePutEvent(key: Uint8Array, value: Uint8Array, createRevision: number, version: number, lease: number, prevRevision: number, prevSub: number): Uint8Array {
  const size = binSize(key) + binSize(value) + uintSize(createRevision) + uintSize(version) + uintSize(lease) + uintSize(prevRevision) + uintSize(prevSub);
  return new Writer(size, 7).bin(key).bin(value).uint(createRevision).uint(version).uint(lease).uint(prevRevision).uint(prevSub).out;
}

export function encodeTombstoneEvent(key: Uint8Array, prevRevision: number, prevSub: number): Uint8Array {
  return new Writer(binSize(key) + uintSize(prevRevision) + uintSize(prevSub), 3).bin(key).uint(prevRevision).uint(prevSub).out;
}

export type EventRecord =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array; readonly createRevision: number; readonly version: number; readonly lease: number; readonly prevRevision: number; readonly prevSub: number }
  | { readonly type: 'delete'; readonly key: Uint8Array; readonly prevRevision: number; readonly prevSub: number };

export function decodeEvent(bytes: Uint8Array): EventRecord {
  const r = new Reader(bytes, 'event');
  const key = r.bin();
  if (r.fields === 3) return { type: 'delete', key, prevRevision: r.uint(), prevSub: r.uint() };
  return { type: 'put', key, value: r.bin(), createRevision: r.uint(), version: r.uint(), lease: r.uint(), prevRevision: r.uint(), prevSub: r.uint() };
}

export function encodeHistoryPut(createRevision: number, version: number, lease: number): Uint8Array {
  return new Writer(uintSize(createRevision) + uintSize(version) + uintSize(lease), 3).uint(createRevision).uint(version).uint(lease).out;
}

/** Null for a tombstone. */
export function decodeHistory(bytes: Uint8Array): { createRevision: number; version: number; lease: number } | null {
  if (bytes.length === 0) return null;
  const r = new Reader(bytes, 'history');
  return { createRevision: r.uint(), version: r.uint(), lease: r.uint() };
}

export interface StoreMeta {
  readonly revision: number;
  readonly compactRevision: number;
}

export function encodeMeta(meta: StoreMeta): Uint8Array {
  return new Writer(uintSize(meta.revision) + uintSize(meta.compactRevision), 2).uint(meta.revision).uint(meta.compactRevision).out;
}

export function decodeMeta(bytes: Uint8Array): StoreMeta {
  const r = new Reader(bytes, 'meta');
  return { revision: r.uint(), compactRevision: r.uint() };
}
