/**
 * A set of chunk indexes in [0, n): which chunks a receiver holds (ACCEPT,
 * resume state) or a sender finished. A bitmap split into pages that are
 * allocated on first use and collapse to a marker once full, so memory follows
 * what is actually held rather than n (an OFFER can name 2^39 chunks).
 */
import { WraithError, type ErrorCode } from '../errors.js';

/** Bits per page: 4 KiB of bitmap. */
const PAGE_BITS = 32768;
const PAGE_WORDS = PAGE_BITS / 32;

interface Page {
  words: Uint32Array;
  count: number;
}
const FULL = 'full' as const;
type Slot = Page | typeof FULL;

/** Index of the lowest set bit of a non-zero 32-bit value. */
const lowBit = (x: number): number => 31 - Math.clz32(x & -x);

export type ChunkRanges = Array<[first: number, count: number]>;
/** What inputs accept: ranges decoded from ACCEPT are readonly. */
export type ReadonlyChunkRanges = ReadonlyArray<readonly [first: number, count: number]>;

export class ChunkSet {
  private readonly pages = new Map<number, Slot>();
  /** Allocated page numbers, ascending: lets scans jump over unallocated stretches. */
  private readonly keys: number[] = [];
  private held = 0;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new WraithError('E_INTERNAL', `a chunk set size is a non-negative integer, got ${size}`);
    }
  }

  /** Number of chunks in the set. */
  get count(): number {
    return this.held;
  }

  get full(): boolean {
    return this.held === this.size;
  }

  has(i: number): boolean {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.size) return false;
    const p = Math.floor(i / PAGE_BITS);
    const slot = this.pages.get(p);
    if (slot === undefined) return false;
    if (slot === FULL) return true;
    const bit = i - p * PAGE_BITS;
    return ((slot.words[bit >>> 5] as number) & (1 << (bit & 31))) !== 0;
  }

  /** Adds chunk `i`; true if it was not in the set. */
  add(i: number): boolean {
    this.check(i);
    const p = Math.floor(i / PAGE_BITS);
    let slot = this.pages.get(p);
    if (slot === FULL) return false;
    if (slot === undefined) {
      slot = { words: new Uint32Array(PAGE_WORDS), count: 0 };
      this.setPage(p, slot);
    }
    const bit = i - p * PAGE_BITS;
    const w = bit >>> 5;
    const m = 1 << (bit & 31);
    const word = slot.words[w] as number;
    if ((word & m) !== 0) return false;
    slot.words[w] = word | m;
    slot.count++;
    this.held++;
    if (slot.count === this.pageCapacity(p)) this.pages.set(p, FULL);
    return true;
  }

  /** Removes chunk `i`; true if it was in the set. */
  delete(i: number): boolean {
    this.check(i);
    const p = Math.floor(i / PAGE_BITS);
    let slot = this.pages.get(p);
    if (slot === undefined) return false;
    if (slot === FULL) {
      const cap = this.pageCapacity(p);
      const words = new Uint32Array(PAGE_WORDS);
      for (let b = 0; b < cap; b++) words[b >>> 5] = (words[b >>> 5] as number) | (1 << (b & 31));
      slot = { words, count: cap };
      this.pages.set(p, slot);
    }
    const bit = i - p * PAGE_BITS;
    const w = bit >>> 5;
    const m = 1 << (bit & 31);
    const word = slot.words[w] as number;
    if ((word & m) === 0) return false;
    slot.words[w] = word & ~m;
    slot.count--;
    this.held--;
    if (slot.count === 0) {
      this.pages.delete(p);
      this.keys.splice(this.keyIndex(p), 1);
    }
    return true;
  }

  /** Adds chunks [first, first + count). */
  addRange(first: number, count: number): void {
    if (count === 0) return;
    this.check(first);
    this.check(first + count - 1);
    let i = first;
    const end = first + count;
    while (i < end) {
      const p = Math.floor(i / PAGE_BITS);
      const pageStart = p * PAGE_BITS;
      const pageEnd = Math.min(pageStart + PAGE_BITS, this.size);
      const stop = Math.min(end, pageEnd);
      const slot = this.pages.get(p);
      if (slot !== FULL) {
        if (i === pageStart && stop === pageEnd) {
          this.held += this.pageCapacity(p) - (slot?.count ?? 0);
          this.setPage(p, FULL);
        } else {
          for (let j = i; j < stop; j++) this.add(j);
        }
      }
      i = stop;
    }
  }

  /** Lowest index >= from not in the set, or -1. */
  firstMissing(from = 0): number {
    return this.scan(from, false);
  }

  /** Lowest index >= from in the set, or -1. */
  firstPresent(from = 0): number {
    return this.scan(from, true);
  }

  /** Maximal runs of held chunks, ascending: the ACCEPT and resume encoding. */
  toRanges(): ChunkRanges {
    const out: ChunkRanges = [];
    let i = this.firstPresent(0);
    while (i >= 0) {
      const miss = this.firstMissing(i);
      const end = miss < 0 ? this.size : miss;
      out.push([i, end - i]);
      i = end < this.size ? this.firstPresent(end) : -1;
    }
    return out;
  }

  /**
   * A set from ranges received from a peer or read from disk: each range
   * [first, count] has count >= 1, lies inside [0, n), and ranges ascend
   * without overlapping. Anything else throws `code` naming the bad range.
   */
  static fromRanges(n: number, ranges: unknown, code: ErrorCode = 'E_PROTOCOL'): ChunkSet {
    const set = new ChunkSet(n);
    if (!Array.isArray(ranges)) {
      throw new WraithError(code, `chunk ranges must be an array, got ${typeof ranges}`);
    }
    let prevEnd = 0;
    for (let k = 0; k < ranges.length; k++) {
      const r: unknown = ranges[k];
      const fail = (why: string): WraithError =>
        new WraithError(code, `chunk range #${k} ${JSON.stringify(r)} ${why}`, { index: k, chunkCount: n });
      if (!Array.isArray(r) || r.length !== 2) throw fail('is not a [first, count] pair');
      const [first, count] = r as [unknown, unknown];
      if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count)) throw fail('has a non-integer field');
      const f = first as number;
      const c = count as number;
      if (c < 1) throw fail('is empty or negative');
      if (f < prevEnd) throw fail(f < 0 ? 'starts below 0' : 'overlaps or is out of order');
      if (f + c > n) throw fail(`ends beyond the ${n} chunks of the file`);
      set.addRange(f, c);
      prevEnd = f + c;
    }
    return set;
  }

  private setPage(p: number, slot: Slot): void {
    if (!this.pages.has(p)) this.keys.splice(this.keyIndex(p), 0, p);
    this.pages.set(p, slot);
  }

  /** Position of the first allocated page >= p in `keys`. */
  private keyIndex(p: number): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[mid] as number) < p) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private pageCapacity(p: number): number {
    return Math.min(PAGE_BITS, this.size - p * PAGE_BITS);
  }

  private check(i: number): void {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.size) {
      throw new WraithError('E_INTERNAL', `chunk index ${i} is outside 0..${this.size - 1}`, { index: i });
    }
  }

  private scan(from: number, present: boolean): number {
    let i = Math.max(0, Math.ceil(from));
    while (i < this.size) {
      const p = Math.floor(i / PAGE_BITS);
      const pageStart = p * PAGE_BITS;
      const slot = this.pages.get(p);
      if (slot === undefined || slot === FULL) {
        if ((slot === FULL) === present) return i;
        if (slot === undefined) {
          // Looking for a held chunk: jump to the next allocated page.
          const next = this.keys[this.keyIndex(p + 1)];
          if (next === undefined) return -1;
          i = next * PAGE_BITS;
        } else {
          i = pageStart + PAGE_BITS;
        }
        continue;
      }
      let bit = i - pageStart;
      while (bit < PAGE_BITS) {
        const w = bit >>> 5;
        const raw = slot.words[w] as number;
        // Bits that match what we look for, at or above `bit` within this word.
        const cand = (present ? raw : ~raw) & (-1 << (bit & 31));
        if (cand !== 0) {
          const found = pageStart + w * 32 + lowBit(cand);
          return found < this.size ? found : -1;
        }
        bit = (w + 1) * 32;
      }
      i = pageStart + PAGE_BITS;
    }
    return -1;
  }
}
