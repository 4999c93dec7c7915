/**
 * Holes in a hash pass: a batch of a sparse file that lies in a hole, or a chunk of a batch that
 * does, gets zero leaves without a read (reading it would have the kernel zero-fill every page). Shared by the event loop
 * (source-hash.ts) and the workers (hash-worker.ts); kept out of hash-jobs.ts, which loads
 * before the engine does.
 */
import type { Blake3 } from '@wraith/core';
import { zeroLeaf } from '@wraith/core/merkle';
import { holeMap, isHole } from '@wraith/io-uring/seek-data';
import { batchSpan, type HashJob } from './hash-jobs.js';

/**
 * A batch that lies in a hole of the file (lseek SEEK_DATA, through the addon) gets zero leaves
 * without a read. Returns false, having done nothing, when the batch must be read.
 */
export function skipHole(job: HashJob, b: number, hasher: Blake3): boolean {
  const { size, chunkSize: cs } = job;
  const { first, last, start, len } = batchSpan(job, b);
  if (!isHole(job.fd, start, len)) return false;
  const leaves = new Uint8Array(job.leaves);
  for (let j = first; j < last; j++) leaves.set(zeroLeaf(hasher, Math.min(cs, size - j * cs)), j * 32);
  new Int32Array(job.holes)[b] = len;
  return true;
}

/**
 * For a batch with data: its chunks that lie wholly in a hole (1 in the map, by position in the
 * batch) get zero leaves, to be left unread. Null when every chunk must be read.
 */
export function holeChunks(job: HashJob, b: number, hasher: Blake3): Uint8Array | null {
  if (!job.sparse) return null;
  const { size, chunkSize: cs } = job;
  const { first, last, start, len } = batchSpan(job, b);
  const map = holeMap(job.fd, start, len, cs);
  if (map === null) return null;
  const leaves = new Uint8Array(job.leaves);
  let skipped = 0;
  for (let j = first; j < last; j++) {
    if (map[j - first] !== 1) continue;
    const len = Math.min(cs, size - j * cs);
    leaves.set(zeroLeaf(hasher, len), j * 32);
    skipped += len;
  }
  new Int32Array(job.holes)[b] = skipped;
  return map;
}

/** Bytes of `job` that were holes, skipped without a read. */
export function holeBytes(job: HashJob): number {
  return new Int32Array(job.holes).reduce((a, x) => a + x, 0);
}
