import { describe, expect, it } from 'vitest';
import { ChunkPool } from '../src/node/chunk-pool.js';

describe('ChunkPool', () => {
  it('gives released chunk buffers out again, whole, and keeps nothing it never handed out', () => {
    const pool = new ChunkPool();
    const a = pool.acquire(1024);
    pool.release(a.subarray(0, 10)); // the last chunk of a file is a prefix of its buffer
    expect(pool.acquire(1024)).toHaveLength(1024);
    const again = pool.acquire(1024);
    expect(again.buffer).not.toBe(a.buffer); // a was handed out already

    // A small file's bytes given to the engine directly (a size never acquired) are dropped.
    const foreign = new Uint8Array(64);
    pool.release(foreign);
    expect(pool.acquire(64).buffer).not.toBe(foreign.buffer);
    // So is a view that does not start its buffer.
    const b = pool.acquire(1024);
    pool.release(b.subarray(1));
    expect(pool.acquire(1024).buffer).not.toBe(b.buffer);
  });

  it('retains at most its byte budget', () => {
    const pool = new ChunkPool(2048);
    const bufs = [pool.acquire(1024), pool.acquire(1024), pool.acquire(1024)];
    for (const b of bufs) pool.release(b);
    const out = [pool.acquire(1024), pool.acquire(1024), pool.acquire(1024)];
    const reused = out.filter((o) => bufs.some((b) => b.buffer === o.buffer));
    expect(reused).toHaveLength(2);
  });
});
