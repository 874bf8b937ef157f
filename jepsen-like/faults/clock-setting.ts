// What a member's clock control file holds, shared by the harness that writes it (clock-control.ts) and the
// preload that reads it (clock-preload.ts): one JSON object.

export interface ClockSetting {
  /** Added to the wall clock (Date) when the setting is read, in ms. */
  readonly wallOffsetMs: number;
  /** Added to the monotonic clocks (performance.now, hrtime) when the setting is read, in ms. */
  readonly monotonicOffsetMs: number;
  /** Member's seconds per real second from then on (1: no skew). */
  readonly rate: number;
}

export const NO_CLOCK_SHIFT: ClockSetting = { wallOffsetMs: 0, monotonicOffsetMs: 0, rate: 1 };

/** The setting in `text`, or null when it is not one (the preload then keeps the real clock). */
export function parseClockSetting(text: string): ClockSetting | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { wallOffsetMs, monotonicOffsetMs, rate } = value as Record<string, unknown>;
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (!finite(wallOffsetMs) || !finite(monotonicOffsetMs) || !finite(rate) || rate <= 0) return null;
  return { wallOffsetMs, monotonicOffsetMs, rate };
}
