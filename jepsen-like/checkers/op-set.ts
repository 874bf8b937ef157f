// A set of operation ids as a bitset, with an exact and short key for the search's memo. The linearized set of a
// search is nearly always "every operation up to some point, and a few after": the key skips the full words at
// the bottom and the empty ones at the top, so it stays a few characters long however long the history.

const FULL = 0xffffffff;

export class OpSet {
  private readonly words: Uint32Array;
  /** Every word below is full. */
  private low = 0;
  /** Every word from here up is empty. */
  private high = 0;

  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  has(id: number): boolean {
    return (this.words[id >>> 5]! & (1 << (id & 31))) !== 0;
  }

  add(id: number): void {
    const word = id >>> 5;
    this.words[word] = this.words[word]! | (1 << (id & 31));
    if (word >= this.high) this.high = word + 1;
    while (this.low < this.words.length && this.words[this.low] === FULL) this.low++;
  }

  delete(id: number): void {
    const word = id >>> 5;
    this.words[word] = this.words[word]! & ~(1 << (id & 31));
    if (word < this.low) this.low = word;
    while (this.high > 0 && this.words[this.high - 1] === 0) this.high--;
  }

  /** Equal keys exactly when the sets are equal. Self-delimiting (it starts with its own length), so keys concatenate. */
  key(): string {
    const count = Math.max(0, this.high - this.low);
    let key = String.fromCharCode(this.low & 0xffff, this.low >>> 16, count & 0xffff, count >>> 16);
    for (let word = this.low; word < this.low + count; word++) {
      const bits = this.words[word]!;
      key += String.fromCharCode(bits & 0xffff, bits >>> 16);
    }
    return key;
  }
}
