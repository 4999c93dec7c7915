/**
 * Worker thread of SourceHasher (source-hash.ts): takes batches of a file from the shared
 * counter, reads them with pread on the sender's descriptor and writes their leaf hashes into
 * the shared leaf row. Replies once per job, when no batch is left to take.
 */
import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { Blake3 } from '@wraith/core';
import { WraithError } from '@wraith/core/errors';
import { loadNativeChecked } from '@wraith/blake3/native';
import { holeChunks, skipHole } from './hash-holes.js';
import { batchSpan, type HashJob, type HashReady, type HashReply } from './hash-jobs.js';
import { sourceLeaf } from './source-leaf.js';

// The native backend alone loads in a few ms; the package index (the engine, WebAssembly) is
// only the fallback. A worker that joins late leaves the first batches to the event loop.
async function loadHasher(): Promise<Blake3> {
  const n = loadNativeChecked();
  if ('blake3' in n) return n.blake3;
  const { loadBlake3Async } = await import('@wraith/blake3');
  return loadBlake3Async('auto');
}

const hasher = await loadHasher();
// Stopping this thread is safe from here on (HashWorker.terminate waits for this).
parentPort?.postMessage({ ready: true } satisfies HashReady);
/** What this worker writes into a job's done row for its batches (the event loop writes 1). */
const tag = (workerData as { tag?: number } | null)?.tag ?? 2;
let buf = Buffer.alloc(0);

function run(job: HashJob): void {
  const { fd, size, chunkSize: cs, batches } = job;
  const next = new Int32Array(job.next);
  const done = new Uint8Array(job.done);
  const leaves = new Uint8Array(job.leaves);
  for (let b = Atomics.add(next, 0, 1); b < batches; b = Atomics.add(next, 0, 1)) {
    if (skipHole(job, b, hasher)) {
      done[b] = tag;
      continue;
    }
    const { first, last, start, len } = batchSpan(job, b);
    if (buf.length < len) buf = Buffer.allocUnsafeSlow(len);
    const holes = holeChunks(job, b, hasher);
    if (holes === null) readFully(fd, buf, 0, len, start, size);
    for (let j = first; j < last; j++) {
      if (holes !== null && holes[j - first] === 1) continue;
      const at = (j - first) * cs;
      const clen = Math.min(cs, size - j * cs);
      if (holes !== null) readFully(fd, buf, at, clen, j * cs, size);
      leaves.set(sourceLeaf(hasher, buf.subarray(at, at + clen)), j * 32);
    }
    done[b] = tag;
  }
}

/** pread of `len` bytes at `pos` into `buf` at `at`; a file that ends first changed. */
function readFully(fd: number, buf: Buffer, at: number, len: number, pos: number, size: number): void {
  for (let got = 0; got < len; ) {
    const r = readSync(fd, buf, at + got, len - got, pos + got);
    if (r === 0) throw new WraithError('E_SOURCE_CHANGED', `the file became shorter while it was being read (${pos + got} of ${size} bytes)`);
    got += r;
  }
}

parentPort?.on('message', (job: HashJob) => {
  let reply: HashReply;
  try {
    run(job);
    reply = { id: job.id };
  } catch (e) {
    const code = e instanceof WraithError ? e.code : (e as NodeJS.ErrnoException).code === 'EACCES' ? 'E_PERMISSION' : 'E_IO';
    reply = { id: job.id, error: { code, message: (e as Error).message } };
  }
  parentPort?.postMessage(reply);
});
