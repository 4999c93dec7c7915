/**
 * A binary min-heap of (time, seq) keys carrying an integer payload, in
 * parallel typed arrays: pushing and popping allocate nothing once grown.
 * Equal times pop in push order (seq), which keeps simulations deterministic
 * and FIFO links in order.
 */
export class TimeHeap {
  private times = new Float64Array(64);
  private seqs = new Float64Array(64);
  private vals = new Int32Array(64);
  private n = 0;
  private nextSeq = 0;

  get size(): number {
    return this.n;
  }

  /** Smallest time, or +Infinity when empty. */
  peekTime(): number {
    return this.n > 0 ? (this.times[0] as number) : Number.POSITIVE_INFINITY;
  }

  /** Payload of the smallest entry (undefined behaviour when empty). */
  peekValue(): number {
    return this.vals[0] as number;
  }

  push(time: number, value: number): void {
    if (this.n === this.times.length) this.grow();
    let i = this.n++;
    const seq = this.nextSeq++;
    // Sift up.
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = this.times[p] as number;
      if (pt < time || (pt === time && (this.seqs[p] as number) < seq)) break;
      this.times[i] = pt;
      this.seqs[i] = this.seqs[p] as number;
      this.vals[i] = this.vals[p] as number;
      i = p;
    }
    this.times[i] = time;
    this.seqs[i] = seq;
    this.vals[i] = value;
  }

  /** Remove the smallest entry and return its payload. */
  pop(): number {
    const top = this.vals[0] as number;
    const n = --this.n;
    if (n > 0) {
      const t = this.times[n] as number;
      const s = this.seqs[n] as number;
      const v = this.vals[n] as number;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n) {
          const lt = this.times[l] as number;
          const rt = this.times[r] as number;
          if (rt < lt || (rt === lt && (this.seqs[r] as number) < (this.seqs[l] as number))) c = r;
        }
        const ct = this.times[c] as number;
        if (t < ct || (t === ct && s < (this.seqs[c] as number))) break;
        this.times[i] = ct;
        this.seqs[i] = this.seqs[c] as number;
        this.vals[i] = this.vals[c] as number;
        i = c;
      }
      this.times[i] = t;
      this.seqs[i] = s;
      this.vals[i] = v;
    }
    return top;
  }

  private grow(): void {
    const cap = this.times.length * 2;
    const t = new Float64Array(cap);
    t.set(this.times);
    const s = new Float64Array(cap);
    s.set(this.seqs);
    const v = new Int32Array(cap);
    v.set(this.vals);
    this.times = t;
    this.seqs = s;
    this.vals = v;
  }
}
