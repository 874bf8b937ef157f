// Leaf-style segment allocation: named counters of the replicated state, each handing out blocks of consecutive
// integers, one block per command. A counter starts at 0; reserve(name, n) returns [next, next + n) and moves it
// on, so no two reserves ever share a number. Records: 'G' <name> -> msgpack of the counter's next value.

import { decodeMsgpack as decode, encodeMsgpack as encode } from '../util/msgpack.js';
import { snowflakeLimits } from '../limits.js';
import { ConclaveError } from '../protocol/errors.js';
import type { SegmentReserveRequest, SegmentReserveResponse } from '../protocol/snowflake.js';
import type { StateReader, StateWriter } from './backend.js';
import { successor } from './kv-layout.js';
import { checkRecipeName } from './workers.js';

const COUNTER = 0x47; // 'G'
const COUNTER_BOUNDS = { start: Uint8Array.of(COUNTER), end: Uint8Array.of(COUNTER + 1) } as const;
const encoder = new TextEncoder();

function counterKey(name: string): Uint8Array {
  const bytes = encoder.encode(name);
  const out = new Uint8Array(bytes.length + 1);
  out[0] = COUNTER;
  out.set(bytes, 1);
  return out;
}

export function checkReserve(request: SegmentReserveRequest): ConclaveError | null {
  const bad = checkRecipeName(request.name, 'counter name');
  if (bad !== null) return bad;
  if (!Number.isSafeInteger(request.count) || request.count < 1 || request.count > snowflakeLimits.maxSegmentCount) {
    return new ConclaveError('ErrInvalidField', `count must be an integer from 1 to snowflakeLimits.maxSegmentCount (${snowflakeLimits.maxSegmentCount}), got ${String(request.count)}`);
  }
  return null;
}

export class SegmentCounters {
  private counters = 0;

  async load(reader: StateReader, pageRows: number): Promise<void> {
    let counters = 0;
    let start: Uint8Array = COUNTER_BOUNDS.start;
    for (;;) {
      const rows = await reader.range({ start, end: COUNTER_BOUNDS.end, limit: pageRows });
      counters += rows.length;
      if (rows.length < pageRows) break;
      start = successor((rows[rows.length - 1] as { key: Uint8Array }).key);
    }
    this.counters = counters;
  }

  reserve(writer: StateWriter, request: SegmentReserveRequest): SegmentReserveResponse | ConclaveError {
    const key = counterKey(request.name);
    const bytes = writer.get(key);
    if (bytes === undefined && this.counters >= snowflakeLimits.maxCounters) {
      return new ConclaveError('ErrTooManyCounters', `${this.counters} counters, the limit is snowflakeLimits.maxCounters (${snowflakeLimits.maxCounters})`);
    }
    const start = bytes === undefined ? 0 : (decode(bytes) as number);
    if (start + request.count > Number.MAX_SAFE_INTEGER) return new ConclaveError('ErrCounterExhausted', `counter ${request.name} is at ${start}`);
    if (bytes === undefined) this.counters++;
    writer.put(key, encode(start + request.count));
    return { start, count: request.count };
  }
}
