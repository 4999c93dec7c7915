/**
 * Before a resume reports chunks as held, each one is re-hashed against the leaf hash saved
 * with it: a crash may have lost writes, or someone may have touched the partial. Reads go in
 * batches, the next batch reading while this one hashes. A chunk saved as all zeros that lies in
 * a hole of the partial (a sparse file's zeros are never written) is held without a read: the
 * hole reads as those zeros.
 */
import { ChunkSet, bytesEqual, chunkCount, type Blake3, type FileManifest } from '@wraith/core';
import { holeMap, type FileIo } from '@wraith/io-uring';
import { zeroLeaf } from '@wraith/core/merkle';
import { savedLeaf } from '../store/index.js';
import { forEachChunkBatch } from './chunk-reads.js';
import { sourceLeaf } from './source-leaf.js';

export interface HeldCheck {
  /** Chunks whose bytes on disk match their saved leaf. */
  held: ChunkSet;
  /** Chunks the resume state claimed. */
  claimed: number;
  /** `stop` ended the check early: `held` is only what was checked by then. */
  stopped: boolean;
}

export async function verifyHeld(
  io: FileIo,
  hasher: Blake3,
  fd: number,
  m: FileManifest,
  resumed: ReadonlyArray<readonly [number, number]>,
  leaves: Uint8Array | null,
  stop: () => boolean = () => false,
): Promise<HeldCheck> {
  const held = new ChunkSet(chunkCount(m));
  let claimed = 0;
  const todo: number[] = [];
  for (const [first, count] of resumed) {
    claimed += count;
    for (let i = first; i < first + count; i++) if (savedLeaf(leaves, i) !== null) todo.push(i);
  }
  const lengthOf = (i: number): number => Math.min(m.chunkSize, m.size - i * m.chunkSize);
  const toRead = holdZeroHoles(hasher, fd, m, todo, leaves as Uint8Array, lengthOf, held);
  if (toRead.length === 0) return { held, claimed, stopped: false };

  let stopped = false;
  await forEachChunkBatch(io, fd, toRead, m.chunkSize, lengthOf, (batch, got) => {
    if (stop()) {
      stopped = true;
      return false;
    }
    for (let k = 0; k < got.length; k++) {
      const i = batch[k] as number;
      const bytes = got[k] as Uint8Array;
      if (bytes.length === lengthOf(i) && bytesEqual(sourceLeaf(hasher, bytes), savedLeaf(leaves, i) as Uint8Array)) held.add(i);
    }
  });
  return { held, claimed, stopped };
}

/**
 * Adds to `held` the chunks of `todo` saved as zeros that lie in a hole of `fd`, looked at a run
 * of such chunks at a time; returns the chunks left to read.
 */
function holdZeroHoles(hasher: Blake3, fd: number, m: FileManifest, todo: readonly number[], leaves: Uint8Array, lengthOf: (i: number) => number, held: ChunkSet): number[] {
  const isZero = (i: number): boolean => bytesEqual(leaves.subarray(i * 32, i * 32 + 32), zeroLeaf(hasher, lengthOf(i)));
  const rest: number[] = [];
  for (let k = 0; k < todo.length; ) {
    const first = todo[k] as number;
    if (!isZero(first)) {
      rest.push(first);
      k++;
      continue;
    }
    let n = 1;
    while (k + n < todo.length && todo[k + n] === first + n && isZero(first + n)) n++;
    const start = first * m.chunkSize;
    const holes = holeMap(fd, start, Math.min(m.size, (first + n) * m.chunkSize) - start, m.chunkSize);
    for (let j = 0; j < n; j++) {
      if (holes !== null && holes[j] === 1) held.add(first + j);
      else rest.push(first + j);
    }
    k += n;
  }
  return rest;
}
