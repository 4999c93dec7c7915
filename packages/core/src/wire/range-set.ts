/**
 * A small set of half-open [start, end) integer ranges, kept sorted, disjoint
 * and merged. Used for control-stream bookkeeping, where the count of ranges
 * is bounded by the stream window.
 */
export interface Span {
  start: number;
  end: number;
}

export class RangeSet {
  private readonly spans: Span[] = [];

  get isEmpty(): boolean {
    return this.spans.length === 0;
  }

  /** Number of disjoint ranges. */
  get count(): number {
    return this.spans.length;
  }

  /** Lowest range, if any (do not mutate). */
  first(): Readonly<Span> | undefined {
    return this.spans.at(0);
  }

  /** The ranges, lowest first (do not mutate). */
  values(): IterableIterator<Readonly<Span>> {
    return this.spans.values();
  }

  add(start: number, end: number): void {
    if (start >= end) return;
    const i = this.spans.findIndex((s) => s.end >= start);
    if (i === -1) {
      this.spans.push({ start, end });
      return;
    }
    let lo = start;
    let hi = end;
    let j = i;
    for (let s = this.spans.at(j); s !== undefined && s.start <= end; s = this.spans.at(++j)) {
      lo = Math.min(lo, s.start);
      hi = Math.max(hi, s.end);
    }
    this.spans.splice(i, j - i, { start: lo, end: hi });
  }

  remove(start: number, end: number): void {
    if (start >= end) return;
    const i = this.spans.findIndex((s) => s.end > start);
    if (i === -1) return;
    const keep: Span[] = [];
    let j = i;
    for (let s = this.spans.at(j); s !== undefined && s.start < end; s = this.spans.at(++j)) {
      if (s.start < start) keep.push({ start: s.start, end: start });
      if (s.end > end) keep.push({ start: end, end: s.end });
    }
    this.spans.splice(i, j - i, ...keep);
  }

  /** Remove every range (or part) below `offset`. */
  removeBelow(offset: number): void {
    let n = 0;
    for (const s of this.spans) {
      if (s.end > offset) break;
      n++;
    }
    if (n > 0) this.spans.splice(0, n);
    const f = this.spans.at(0);
    if (f !== undefined && f.start < offset) f.start = offset;
  }

  has(offset: number): boolean {
    return this.spans.some((s) => s.start <= offset && offset < s.end);
  }

  clear(): void {
    this.spans.length = 0;
  }
}
