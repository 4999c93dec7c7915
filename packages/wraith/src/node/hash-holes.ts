/**
 * Holes in a hash pass: a batch of a sparse file that lies in a hole gets zero leaves without a
 * read (reading it would have the kernel zero-fill every page). Shared by the event loop
 * (source-hash.ts) and the workers (hash-worker.ts); kept out of hash-jobs.ts, which loads
 * before the engine does.
 */
import type { Blake3 } from '@wraith/core';
import { zeroLeaf } from '@wraith/core/merkle';
import { isHole } from '@wraith/io-uring/seek-data';
import type { HashJob } from './hash-jobs.js';

/**
 * A batch that lies in a hole of the file (lseek SEEK_DATA, through the addon) gets zero leaves
 * without a read. Returns false, having done nothing, when the batch must be read.
 */
export function skipHole(job: HashJob, b: number, hasher: Blake3): boolean {
  const { size, chunkSize: cs, per } = job;
  const n = Math.max(1, Math.ceil(size / cs));
  const first = b * per;
  const last = Math.min(n, first + per);
  const start = first * cs;
  if (!isHole(job.fd, start, Math.min(size, last * cs) - start)) return false;
  const leaves = new Uint8Array(job.leaves);
  for (let j = first; j < last; j++) leaves.set(zeroLeaf(hasher, Math.min(cs, size - j * cs)), j * 32);
  new Uint8Array(job.holes)[b] = 1;
  return true;
}

/** Bytes of `job`'s batches that were holes, skipped without a read. */
export function holeBytes(job: HashJob): number {
  const holes = new Uint8Array(job.holes);
  const { size, chunkSize: cs, per } = job;
  let bytes = 0;
  for (let b = 0; b < job.batches; b++) if (holes[b] === 1) bytes += Math.min(size, (b + 1) * per * cs) - b * per * cs;
  return bytes;
}
