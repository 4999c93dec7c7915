/**
 * The leaf hashes of a source file, taken before it is offered (the root must be known before
 * the first chunk goes out, so this pass is on the critical path of every send).
 *
 * The file is read in batches of HASH_BATCH_BYTES. The event loop reads ahead one batch while it
 * hashes the current one, into buffers kept across files. For a big file a worker thread hashes
 * too: both take the next batch from a shared counter, so the worker joins whenever it is ready
 * and a slow side never holds the other up. A worker that fails leaves its batches to the loop.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { WraithError, leafHash, type Blake3, type ErrorCode } from '@wraith/core';
import type { FileIo } from '@wraith/io-uring';

/** Bytes read per batch (at least one chunk). */
export const HASH_BATCH_BYTES = 4 * 1024 * 1024;
/** Files at least this big are hashed by the worker too. */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;

/** What the worker is asked (hash-worker.ts). */
export interface HashJob {
  id: number;
  fd: number;
  size: number;
  chunkSize: number;
  /** Chunks per batch. */
  per: number;
  batches: number;
  /** Int32 [next batch to claim]. */
  next: SharedArrayBuffer;
  /** One byte per batch: 1 once its leaves are in `leaves`. */
  done: SharedArrayBuffer;
  /** chunks × 32 bytes. */
  leaves: SharedArrayBuffer;
}

/** What the worker answers once it has stopped taking batches of a job: done, or why it stopped. */
export type HashReply = { id: number } | { id: number; error: { code: string; message: string } };

export class SourceHasher {
  /** Batches of the last file that the worker hashed. */
  workerBatches = 0;
  private bufs: [Uint8Array, Uint8Array] | null = null;
  private worker: Worker | null = null;
  private workerDead = false;
  private jobs = 0;
  private readonly waiting = new Map<number, (r: HashReply | null) => void>();

  constructor(
    private readonly io: FileIo,
    private readonly hasher: Blake3,
    private readonly onRead: (bytes: number) => void,
  ) {}

  /** Start the worker now (it takes ~70 ms to load) when files this big are coming. */
  prepareFor(bytes: number): void {
    if (bytes >= PARALLEL_MIN_BYTES) this.spawn();
  }

  /** Leaf hashes (chunks × 32 bytes) of the `size`-byte file open at `fd`. */
  async leaves(path: string, fd: number, size: number, chunkSize: number): Promise<Uint8Array> {
    const n = Math.max(1, Math.ceil(size / chunkSize));
    const per = Math.max(1, Math.floor(HASH_BATCH_BYTES / chunkSize));
    const batches = Math.ceil(n / per);
    const job: HashJob = {
      id: ++this.jobs,
      fd,
      size,
      chunkSize,
      per,
      batches,
      next: new SharedArrayBuffer(4),
      done: new SharedArrayBuffer(batches),
      leaves: new SharedArrayBuffer(n * 32),
    };
    const next = new Int32Array(job.next);
    const done = new Uint8Array(job.done);
    const helper = size >= PARALLEL_MIN_BYTES ? this.submit(job) : null;
    let mine = 0;
    try {
      await this.hashBatches(path, job, () => {
        const b = Atomics.add(next, 0, 1);
        if (b < batches) mine++;
        return b;
      });
    } catch (e) {
      Atomics.store(next, 0, batches); // the worker stops after its current batch
      await helper; // and no longer reads `fd` when the caller closes it
      throw e;
    }
    // Every batch done means the worker is not reading either; otherwise wait for it.
    if (helper !== null && done.includes(0)) {
      const reply = await helper;
      if (reply !== null && 'error' in reply) {
        const { code, message } = reply.error;
        throw new WraithError(code as ErrorCode, code === 'E_SOURCE_CHANGED' ? `${path} changed while it was being read` : `${path}: ${message}`);
      }
    }
    this.workerBatches = batches - mine - done.reduce((a, d) => a + (d === 0 ? 1 : 0), 0);
    // A worker that died mid-batch: hash what it left.
    let b = 0;
    await this.hashBatches(path, job, () => {
      while (b < batches && done[b] === 1) b++;
      return b++;
    });
    this.onRead(size);
    return new Uint8Array(job.leaves).slice(); // off the shared memory
  }

  /** Ends the worker (between sends it holds nothing). */
  close(): void {
    void this.worker?.terminate();
    this.worker = null;
  }

  /** Hashes the batches `claim` hands out until it returns one past the end, reading one ahead. */
  private async hashBatches(path: string, job: HashJob, claim: () => number): Promise<void> {
    const { size, chunkSize: cs, per, batches } = job;
    const n = Math.max(1, Math.ceil(size / cs));
    const leaves = new Uint8Array(job.leaves);
    const done = new Uint8Array(job.done);
    let cur = claim();
    if (cur >= batches) return;
    const bufs = this.takeBuffers(Math.min(per * cs, Math.max(size, 1)));
    const read = (b: number, buf: Uint8Array): Promise<Uint8Array[]> => {
      const reqs: Array<{ offset: number; length: number; buf: Uint8Array }> = [];
      for (let j = b * per; j < Math.min(n, (b + 1) * per); j++) {
        const length = Math.min(cs, size - j * cs);
        const at = (j - b * per) * cs;
        reqs.push({ offset: j * cs, length, buf: buf.subarray(at, at + length) });
      }
      const p = this.io.readChunks(job.fd, reqs);
      p.catch(() => undefined); // awaited below; an early exit must not leave it unhandled
      return p;
    };
    let pending: Promise<Uint8Array[]> | null = read(cur, bufs[0]);
    try {
      for (let side = 0; pending !== null; side ^= 1) {
        const got = await pending;
        const nextB = claim();
        pending = nextB < batches ? read(nextB, bufs[side ^ 1] as Uint8Array) : null;
        for (let k = 0; k < got.length; k++) {
          const j = cur * per + k;
          const chunk = got[k] as Uint8Array;
          if (chunk.length !== Math.min(cs, size - j * cs)) {
            throw new WraithError('E_SOURCE_CHANGED', `${path} changed while it was being read`);
          }
          leaves.set(leafHash(this.hasher, chunk), j * 32);
        }
        done[cur] = 1;
        cur = nextB;
      }
    } finally {
      // The buffers are reused: no read may still be writing into them.
      if (pending !== null) await pending.catch(() => undefined);
      this.bufs = bufs;
    }
  }

  /** Two read-ahead buffers of at least `bytes`, reused across files. */
  private takeBuffers(bytes: number): [Uint8Array, Uint8Array] {
    const have = this.bufs;
    this.bufs = null;
    if (have !== null && have[0].length >= bytes) return have;
    return [Buffer.allocUnsafeSlow(bytes), Buffer.allocUnsafeSlow(bytes)];
  }

  private spawn(): void {
    if (this.worker !== null || this.workerDead || availableParallelism() < 2) return;
    let w: Worker;
    try {
      // No flags of the host process: the worker needs none, and module conditions meant for
      // the host (a test runner's 'source') would point it at sources it cannot load.
      w = new Worker(new URL('./hash-worker.js', import.meta.url), { execArgv: [] });
    } catch {
      this.workerDead = true;
      return;
    }
    w.unref();
    w.on('message', (r: HashReply) => {
      const settle = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      settle?.(r);
    });
    const died = (): void => {
      this.workerDead = true;
      this.worker = null;
      for (const settle of this.waiting.values()) settle(null);
      this.waiting.clear();
    };
    w.on('error', died);
    w.on('exit', died);
    this.worker = w;
  }

  /** Hands `job` to the worker; null when there is none (or it dies): the loop does it all. */
  private submit(job: HashJob): Promise<HashReply | null> | null {
    this.spawn();
    const w = this.worker;
    if (w === null) return null;
    return new Promise((resolve) => {
      this.waiting.set(job.id, resolve);
      w.postMessage(job);
    });
  }
}
