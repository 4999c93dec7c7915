/**
 * Before a resume reports chunks as held, each one is re-hashed against the leaf hash saved
 * with it: a crash may have lost writes, or someone may have touched the partial. Reads go in
 * batches, the next batch reading while this one hashes.
 */
import { ChunkSet, bytesEqual, chunkCount, type Blake3, type FileManifest } from '@wraith/core';
import type { FileIo } from '@wraith/io-uring';
import { savedLeaf } from '../store/index.js';
import { sourceLeaf } from './source-leaf.js';

/** Bytes read per batch. */
const BATCH_BYTES = 8 << 20;

export interface HeldCheck {
  /** Chunks whose bytes on disk match their saved leaf. */
  held: ChunkSet;
  /** Chunks the resume state claimed. */
  claimed: number;
}

export async function verifyHeld(
  io: FileIo,
  hasher: Blake3,
  fd: number,
  m: FileManifest,
  resumed: ReadonlyArray<readonly [number, number]>,
  leaves: Uint8Array | null,
): Promise<HeldCheck> {
  const held = new ChunkSet(chunkCount(m));
  let claimed = 0;
  const todo: number[] = [];
  for (const [first, count] of resumed) {
    claimed += count;
    for (let i = first; i < first + count; i++) if (savedLeaf(leaves, i) !== null) todo.push(i);
  }
  if (todo.length === 0) return { held, claimed };

  const per = Math.max(1, Math.floor(BATCH_BYTES / m.chunkSize));
  // Sized to what is read: a resumed tree re-hashes many small files.
  const lengthOf = (i: number): number => Math.min(m.chunkSize, m.size - i * m.chunkSize);
  let most = 0;
  for (let start = 0; start < todo.length; start += per) {
    let bytes = 0;
    for (const i of todo.slice(start, start + per)) bytes += lengthOf(i);
    most = Math.max(most, bytes);
  }
  const bufs = [new Uint8Array(most), new Uint8Array(todo.length > per ? most : 0)];
  const read = (start: number, buf: Uint8Array): Promise<Uint8Array[]> => {
    let at = 0;
    const reqs = todo.slice(start, start + per).map((i) => {
      const length = lengthOf(i);
      at += length;
      return { offset: i * m.chunkSize, length, buf: buf.subarray(at - length, at) };
    });
    const p = io.readChunks(fd, reqs);
    p.catch(() => undefined); // awaited below; an early exit must not leave it unhandled
    return p;
  };
  let pending: Promise<Uint8Array[]> | null = read(0, bufs[0] as Uint8Array);
  try {
    for (let start = 0, side = 0; pending !== null; start += per, side ^= 1) {
      const got = await pending;
      pending = start + per < todo.length ? read(start + per, bufs[side ^ 1] as Uint8Array) : null;
      for (let k = 0; k < got.length; k++) {
        const i = todo[start + k] as number;
        const bytes = got[k] as Uint8Array;
        if (bytes.length === lengthOf(i) && bytesEqual(sourceLeaf(hasher, bytes), savedLeaf(leaves, i) as Uint8Array)) held.add(i);
      }
    }
  } finally {
    // The buffers must outlive any read still writing into them.
    if (pending) await pending.catch(() => undefined);
  }
  return { held, claimed };
}
