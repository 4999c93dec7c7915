/**
 * Before a resume reports chunks as held, each one is re-hashed against the leaf hash saved
 * with it: a crash may have lost writes, or someone may have touched the partial. Reads go in
 * batches, the next batch reading while this one hashes.
 */
import { ChunkSet, bytesEqual, chunkCount, type Blake3, type FileManifest } from '@wraith/core';
import type { FileIo } from '@wraith/io-uring';
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
  if (todo.length === 0) return { held, claimed, stopped: false };

  const lengthOf = (i: number): number => Math.min(m.chunkSize, m.size - i * m.chunkSize);
  let stopped = false;
  await forEachChunkBatch(io, fd, todo, m.chunkSize, lengthOf, (batch, got) => {
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
