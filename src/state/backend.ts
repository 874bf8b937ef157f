// What the state machine needs of the backend it is applied to: an ordered map of bytes. Structurally a subset of
// storage's Backend, so the server hands that one in; tests use an in-memory map. Reads see every write staged
// before them (an apply reads its own writes).

export interface StateEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface StateRangeOptions {
  /** First key (inclusive). */
  readonly start: Uint8Array;
  /** End (exclusive); absent: to the end of the key space. */
  readonly end?: Uint8Array;
  /** At most this many entries. */
  readonly limit?: number;
  /** Descending key order. */
  readonly reverse?: boolean;
}

export interface StateReader {
  /** Synchronous, so that an apply that needs only point reads never yields. */
  get(key: Uint8Array): Uint8Array | undefined;
  /** One consistent view, taken when the call is made (writes made while it is pending are not in it). */
  range(options: StateRangeOptions): Promise<StateEntry[]>;
}

export interface StateWriter extends StateReader {
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
}
