// A binary min-heap of timed events, ordered by (time, insertion sequence): equal times run FIFO,
// so a run is a pure function of its seed.

export interface Timed {
  t: number;
  seq: number;
}

type WithoutSeq<E> = E extends unknown ? Omit<E, 'seq'> : never;

export class EventQueue<E extends Timed> {
  private readonly heap: E[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(event: WithoutSeq<E>): void {
    const e = event as unknown as E;
    e.seq = this.seq++;
    const heap = this.heap;
    let i = heap.length;
    heap.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as E;
      if (p.t < e.t || (p.t === e.t && p.seq < e.seq)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = e;
  }

  peekTime(): number {
    const top = this.heap[0];
    return top === undefined ? Infinity : top.t;
  }

  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as E;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        const lc = heap[l] as E;
        if (r < n) {
          const rc = heap[r] as E;
          if (rc.t < lc.t || (rc.t === lc.t && rc.seq < lc.seq)) c = r;
        }
        const ce = heap[c] as E;
        if (last.t < ce.t || (last.t === ce.t && last.seq < ce.seq)) break;
        heap[i] = ce;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}
