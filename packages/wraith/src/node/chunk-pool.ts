/**
 * Reused chunk buffers for the send path: a file is read into them, the
 * engine keeps them until every byte is acknowledged, then hands them back
 * (Endpoint `releaseChunk`). Fresh 256 KiB buffers per chunk cost page faults
 * and garbage collection; reused ones cost neither.
 */
export class ChunkPool {
  private readonly free = new Map<number, Uint8Array[]>();
  /** Sizes acquire() was asked for: other buffers given to the engine are not kept. */
  private readonly sizes = new Set<number>();
  private retained = 0;

  constructor(private readonly maxRetainedBytes = 96 * 1024 * 1024) {}

  /** A buffer of exactly `size` bytes (its own ArrayBuffer). */
  acquire(size: number): Uint8Array {
    this.sizes.add(size);
    const list = this.free.get(size);
    const b = list?.pop();
    if (b) {
      this.retained -= size;
      return b;
    }
    return new Uint8Array(size);
  }

  /** Give back bytes that came from acquire() (a view of it is fine). */
  release(bytes: Uint8Array): void {
    const buf = bytes.buffer;
    if (!(buf instanceof ArrayBuffer) || bytes.byteOffset !== 0) return;
    const size = buf.byteLength;
    if (!this.sizes.has(size) || this.retained + size > this.maxRetainedBytes) return;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(new Uint8Array(buf));
    this.retained += size;
  }
}
