/**
 * Preallocated send buffers. node:dgram keeps a reference to the Buffer until
 * the send completes, and the caller reuses its batch as soon as send()
 * returns, so every datagram is copied into a slot that stays ours until the
 * send callback. The pool size bounds the sends in flight (in libuv's queue or
 * completing): when it is empty, send() accepts fewer than asked.
 */
export class SendPool {
  readonly size: number;
  readonly slotSize: number;
  /** Length of each slot's datagram (for the byte counters on completion). */
  readonly lengths: Uint32Array;
  private readonly base: Buffer[];
  // A view of exactly the datagram's length, cached per slot: dgram sends whole
  // Buffers, and equal-size datagrams (the common case) then reuse one view.
  private readonly views: Buffer[];
  private readonly free: Int32Array;
  private freeTop: number;

  constructor(size: number, slotSize: number) {
    this.size = size;
    this.slotSize = slotSize;
    // Buffer.alloc zero-fills, which also faults the pages in before the first
    // burst (first writes to untouched memory are slow on this VM kind).
    const arena = Buffer.alloc(size * slotSize);
    this.base = new Array<Buffer>(size);
    this.views = new Array<Buffer>(size);
    this.lengths = new Uint32Array(size);
    this.free = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const b = arena.subarray(i * slotSize, (i + 1) * slotSize);
      this.base[i] = b;
      this.views[i] = b;
      this.free[i] = size - 1 - i;
    }
    this.freeTop = size;
  }

  get available(): number {
    return this.freeTop;
  }

  get inFlight(): number {
    return this.size - this.freeTop;
  }

  /** Take a slot, or -1 when none is free. */
  take(): number {
    return this.freeTop === 0 ? -1 : this.free[--this.freeTop]!;
  }

  /** Copy `src[off, off+len)` into slot `i`; returns the Buffer to send. */
  fill(i: number, src: Uint8Array, off: number, len: number): Buffer {
    const base = this.base[i]!;
    // One short-lived view per datagram; dgram itself allocates a send request per call.
    base.set(src.subarray(off, off + len));
    this.lengths[i] = len;
    let v = this.views[i]!;
    if (v.length !== len) {
      v = base.subarray(0, len);
      this.views[i] = v;
    }
    return v;
  }

  release(i: number): void {
    this.free[this.freeTop++] = i;
  }
}
