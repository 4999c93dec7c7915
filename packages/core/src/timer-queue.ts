import type { Instant } from './time.js';

const NEVER = Number.POSITIVE_INFINITY;

/**
 * One deadline per key, earliest first: a binary heap with lazy deletion. Setting a key's
 * deadline again leaves its old entry in the heap, marked stale by the key's current deadline;
 * stale entries are dropped when they reach the top, and the heap is rebuilt when they
 * outnumber the live ones.
 */
export class TimerQueue<K> {
  private readonly at = new Map<K, Instant>();
  private heap: Array<{ at: Instant; key: K }> = [];

  /** The key's deadline (NEVER: none). */
  set(key: K, at: Instant): void {
    if (this.at.get(key) === at) return;
    if (at === NEVER) {
      this.at.delete(key);
      return;
    }
    this.at.set(key, at);
    this.push({ at, key });
    if (this.heap.length > 2 * this.at.size + 64) this.rebuild();
  }

  delete(key: K): void {
    this.at.delete(key);
  }

  /** The earliest live deadline, or NEVER. */
  next(): Instant {
    this.dropStale();
    return this.heap[0]?.at ?? NEVER;
  }

  /** Removes and returns the keys due at `now` (their deadlines are cleared). */
  due(now: Instant): K[] {
    const out: K[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (top === undefined || top.at > now) return out;
      this.pop();
      this.at.delete(top.key);
      out.push(top.key);
    }
  }

  get size(): number {
    return this.at.size;
  }

  private dropStale(): void {
    for (let top = this.heap[0]; top !== undefined && this.at.get(top.key) !== top.at; top = this.heap[0]) this.pop();
  }

  private rebuild(): void {
    this.heap = [];
    for (const [key, at] of this.at) this.push({ at, key });
  }

  private push(e: { at: Instant; key: K }): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as { at: Instant; key: K };
      if (parent.at <= e.at) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as { at: Instant }).at < (h[l] as { at: Instant }).at ? r : l;
      if ((h[c] as { at: Instant }).at >= last.at) break;
      h[i] = h[c] as { at: Instant; key: K };
      i = c;
    }
    h[i] = last;
  }
}
