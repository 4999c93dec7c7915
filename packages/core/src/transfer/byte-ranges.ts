/**
 * Which bytes of one chunk are covered (received by the receiver, acked at the
 * sender): sorted, merged half-open intervals. Data mostly arrives in order,
 * so the list stays at one or a few intervals.
 */
export class ByteRanges {
  /** Flat [start0, end0, start1, end1, ...], ascending, non-touching. */
  private iv: number[] = [];
  private total = 0;

  /** Bytes covered. */
  get covered(): number {
    return this.total;
  }

  clear(): void {
    this.iv = [];
    this.total = 0;
  }

  /** Covers [start, end); returns how many of those bytes were new. */
  add(start: number, end: number): number {
    if (end <= start) return 0;
    const iv = this.iv;
    // First interval whose end reaches start (touching intervals merge).
    let lo = 0;
    let hi = iv.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((iv[2 * mid + 1] as number) < start) lo = mid + 1;
      else hi = mid;
    }
    let k = lo;
    let s = start;
    let e = end;
    let overlap = 0;
    while (k < iv.length / 2 && (iv[2 * k] as number) <= end) {
      const a = iv[2 * k] as number;
      const b = iv[2 * k + 1] as number;
      overlap += Math.max(0, Math.min(b, end) - Math.max(a, start));
      s = Math.min(s, a);
      e = Math.max(e, b);
      k++;
    }
    if (k - lo === 1) {
      // In-order data extends one interval: update it in place (splice allocates).
      iv[2 * lo] = s;
      iv[2 * lo + 1] = e;
    } else if (k === lo && lo === iv.length / 2) {
      iv.push(s, e);
    } else {
      iv.splice(2 * lo, 2 * (k - lo), s, e);
    }
    const added = end - start - overlap;
    this.total += added;
    return added;
  }

  /** Whether every byte of [start, end) is covered. */
  has(start: number, end: number): boolean {
    const g = this.firstGap(start, end);
    return g === null;
  }

  /** The first uncovered run inside [start, end), or null. */
  firstGap(start: number, end: number): [number, number] | null {
    let cur = start;
    const iv = this.iv;
    for (let k = 0; k < iv.length / 2 && cur < end; k++) {
      const a = iv[2 * k] as number;
      const b = iv[2 * k + 1] as number;
      if (b <= cur) continue;
      if (a > cur) return [cur, Math.min(a, end)];
      cur = b;
    }
    return cur < end ? [cur, end] : null;
  }
}
