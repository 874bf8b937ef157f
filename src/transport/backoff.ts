// Delays between redials of one peer: exponential from minMs, capped at maxMs, with "equal jitter" (half of the
// delay fixed, half random) so that members that lost a peer at the same moment do not redial it in lockstep,
// while the delay still grows by about a factor of two per failure.

export class Backoff {
  private failures = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number,
  ) {}

  /** The delay before the next attempt, counting one more consecutive failure. Always within [minMs, maxMs]. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    const jittered = ceiling / 2 + (ceiling / 2) * this.random();
    return Math.round(Math.min(this.maxMs, Math.max(this.minMs, jittered)));
  }

  /** After a connection that completed its handshake: the next failure starts again from minMs. */
  reset(): void {
    this.failures = 0;
  }
}
