/**
 * Chunks of an open file read in batches, the next batch reading while the caller handles this
 * one: two buffers, each the size of the largest batch, whatever the file's size.
 */
import type { FileIo } from '@wraith/io-uring';

/** Bytes read per batch (two batches are in memory: one read while the other is handled). */
export const BATCH_BYTES = 8 << 20;

/**
 * Reads `chunks` of `fd`, about `batchBytes` at a time, and awaits `handle` on each batch before
 * its buffer is read into again; `handle` returning false stops the reads there. `length(i)` is
 * chunk i's length, at `i * chunkSize`.
 */
export async function forEachChunkBatch(
  io: FileIo,
  fd: number,
  chunks: readonly number[],
  chunkSize: number,
  length: (i: number) => number,
  handle: (batch: readonly number[], bytes: readonly Uint8Array[]) => Promise<boolean | void> | boolean | void,
  batchBytes = BATCH_BYTES,
): Promise<void> {
  if (chunks.length === 0) return;
  const per = Math.max(1, Math.floor(batchBytes / chunkSize));
  // Sized to what is read: a resumed tree re-hashes many small files.
  let most = 0;
  for (let start = 0; start < chunks.length; start += per) {
    let bytes = 0;
    for (const i of chunks.slice(start, start + per)) bytes += length(i);
    most = Math.max(most, bytes);
  }
  const bufs = [new Uint8Array(most), new Uint8Array(chunks.length > per ? most : 0)];
  const read = (start: number, buf: Uint8Array): Promise<Uint8Array[]> => {
    let at = 0;
    const reqs = chunks.slice(start, start + per).map((i) => {
      const n = length(i);
      at += n;
      return { offset: i * chunkSize, length: n, buf: buf.subarray(at - n, at) };
    });
    const p = io.readChunks(fd, reqs);
    p.catch(() => undefined); // awaited below; an early exit must not leave it unhandled
    return p;
  };
  let pending: Promise<Uint8Array[]> | null = read(0, bufs[0] as Uint8Array);
  try {
    for (let start = 0, side = 0; pending !== null; start += per, side ^= 1) {
      const got = await pending;
      // The other buffer was handled last round: read into it meanwhile.
      pending = start + per < chunks.length ? read(start + per, bufs[side ^ 1] as Uint8Array) : null;
      if ((await handle(chunks.slice(start, start + per), got)) === false) break;
    }
  } finally {
    // The buffers must outlive any read still writing into them.
    if (pending) await pending.catch(() => undefined);
  }
}
