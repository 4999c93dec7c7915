/**
 * The leaf hashes of a source file, taken before it is offered (the root must be known before
 * the first chunk goes out, so this pass is on the critical path of every send).
 *
 * The file is read in batches of HASH_BATCH_BYTES. The event loop reads ahead one batch while it
 * hashes the current one, into buffers kept across files. For a big file worker threads hash
 * too (one per spare CPU, hash-jobs.ts): all take the next batch from a shared counter, so a
 * worker joins whenever it is ready and a slow one never holds the others up. A worker that
 * fails leaves its batches to the loop.
 * The first file's job may have begun before the node started (EarlyHash, hash-jobs.ts): the
 * hasher adopts it when it opens the same file. With a HashCache, a big file's leaves are
 * looked up first and remembered after.
 */
import { WraithError, type Blake3, type ErrorCode } from '@wraith/core';
import type { FileIo } from '@wraith/io-uring';
import { CACHE_MIN_BYTES, fileKey, type FileKey, type HashCache } from './hash-cache.js';
import { holeBytes, holeChunks, skipHole } from './hash-holes.js';
import {
  PARALLEL_MIN_BYTES,
  defaultHashWorkers,
  newJob,
  spawnWorkers,
  stopJob,
  submitAll,
  type EarlyHash,
  type HashJob,
  type HashReply,
  type HashWorker,
} from './hash-jobs.js';
import { sourceLeaf } from './source-leaf.js';

export { HASH_BATCH_BYTES, MAX_HASH_WORKERS, PARALLEL_MIN_BYTES, type HashJob, type HashReply } from './hash-jobs.js';

export interface SourceHasherOptions {
  /** A job begun before the node was up: adopted by leaves() for the same file, else disposed. */
  early?: EarlyHash | null;
  /** Workers for a big file (default: one per spare CPU; none on one CPU). */
  workers?: number;
  /** Leaf rows remembered across sends. */
  cache?: HashCache | null;
}

/** Files up to this size keep their bytes from the hash pass for the send (takeSmall). */
export const KEEP_SMALL_BYTES = 64 * 1024;

export class SourceHasher {
  /** The last file's leaves came from the cache. */
  fromCache = false;
  /** Batches of the last file by worker (index 0 the first worker); trailing workers with none are left out. */
  workerShares: number[] = [];
  private bufs: [Uint8Array, Uint8Array] | null = null;
  /** The last file's bytes, when it was small enough to keep (takeSmall). */
  private small: Uint8Array | null = null;
  private workers: HashWorker[] = [];
  private workerFailed = false;
  /** Bytes of the files hashed to the end; the running jobs' finished batches count too. */
  private hashedFiles = 0;
  private readonly running = new Set<HashJob>();
  private early: EarlyHash | null;
  private readonly workerCount: number;
  private readonly cache: HashCache | null;

  constructor(
    private readonly io: FileIo,
    private readonly hasher: Blake3,
    private readonly onRead: (bytes: number) => void,
    opts: SourceHasherOptions = {},
  ) {
    this.early = opts.early ?? null;
    this.workerCount = opts.workers ?? defaultHashWorkers();
    this.cache = opts.cache ?? null;
  }

  /** Start the workers now (one takes ~40 ms to load) when files this big are coming. */
  prepareFor(bytes: number): void {
    // An early job brings its own workers.
    if (bytes >= PARALLEL_MIN_BYTES && this.early === null) this.spawn();
  }

  /**
   * The bytes the last leaves() call hashed, if the file had at most KEEP_SMALL_BYTES: a small
   * file is then sent from them instead of being read a second time. Once; null otherwise.
   */
  takeSmall(): Uint8Array | null {
    const s = this.small;
    this.small = null;
    return s;
  }

  /**
   * Leaf hashes (chunks × 32 bytes) of the `size`-byte file open at `fd`. `stop` is asked between
   * batches: true ends the hashing with E_TRANSFER_CANCELLED (whoever wanted it went away).
   */
  async leaves(path: string, fd: number, size: number, chunkSize: number, stop?: () => boolean): Promise<Uint8Array> {
    this.small = null;
    this.fromCache = false;
    this.workerShares = [];
    const cache = size >= CACHE_MIN_BYTES ? this.cache : null;
    if (cache === null) return this.hash(path, fd, size, chunkSize, stop);
    const known = await cache.get(fd, chunkSize);
    if (known !== null) {
      const early = this.early; // started before the entry could be seen (hash-jobs.ts checks)
      this.early = null;
      await early?.dispose();
      this.fromCache = true;
      this.hashedFiles += size;
      return known;
    }
    let before: FileKey | null = null;
    try {
      before = fileKey(fd);
    } catch {
      // not remembered then
    }
    // An early job adopted by hash() began before now: the earlier start is the safe bound.
    const started = Math.min(cache.now(), this.early?.startedMs ?? Number.POSITIVE_INFINITY);
    const leaves = await this.hash(path, fd, size, chunkSize, stop);
    if (before !== null) await cache.put(fd, before, chunkSize, leaves, started);
    return leaves;
  }

  private async hash(path: string, fd: number, size: number, chunkSize: number, stop?: () => boolean): Promise<Uint8Array> {
    const early = this.early;
    this.early = null;
    if (early !== null && early.adopt(fd, chunkSize)) {
      if (this.workers.length === 0) this.workers = early.workers;
      try {
        return await this.run(path, fd, early.job, early.replies, stop);
      } finally {
        await early.finish();
        if (this.workers !== early.workers) for (const w of early.workers) w.terminate();
      }
    }
    await early?.dispose();
    const job = newJob(fd, size, chunkSize);
    return this.run(path, fd, job, size >= PARALLEL_MIN_BYTES ? this.submit(job) : null, stop);
  }

  /** Batches of the last file that workers hashed. */
  get workerBatches(): number {
    return this.workerShares.reduce((a, n) => a + n, 0);
  }

  /** Worker threads this hasher holds now (its own, or an adopted early job's). */
  get workerThreads(): number {
    return this.workers.length;
  }

  /** A file is being hashed now. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Source bytes hashed so far, over all files (progress: the send waits for them). */
  hashedBytes(): number {
    let n = this.hashedFiles;
    for (const job of this.running) {
      const done = new Uint8Array(job.done);
      const batchBytes = job.per * job.chunkSize;
      for (let b = 0; b < job.batches; b++) if (done[b] !== 0) n += Math.min(job.size, (b + 1) * batchBytes) - b * batchBytes;
    }
    return n;
  }

  /** Ends the workers (between sends they hold nothing) and an early job nobody adopted. */
  async close(): Promise<void> {
    const early = this.early;
    this.early = null;
    for (const w of this.workers) w.terminate();
    this.workers = [];
    await early?.dispose();
  }

  /** runJob, counted by hashedBytes() while it runs. */
  private async run(path: string, fd: number, job: HashJob, helper: Promise<HashReply[]> | null, stop?: () => boolean): Promise<Uint8Array> {
    this.running.add(job);
    try {
      const leaves = await this.runJob(path, fd, job, helper, stop);
      this.hashedFiles += job.size;
      return leaves;
    } finally {
      this.running.delete(job);
    }
  }

  /** Hashes `job` (read through `fd`) with `helper`, the workers' replies to it, if any. */
  private async runJob(path: string, fd: number, job: HashJob, helper: Promise<HashReply[]> | null, stop?: () => boolean): Promise<Uint8Array> {
    const { size, batches } = job;
    const next = new Int32Array(job.next);
    const done = new Uint8Array(job.done);
    try {
      await this.hashBatches(path, fd, job, () => Atomics.add(next, 0, 1), stop);
    } catch (e) {
      stopJob(job); // the workers stop after their current batch
      await helper; // and no longer read the file when the caller closes it
      throw e;
    }
    // Every batch done means no worker is reading either (one still loading claims none);
    // otherwise wait for them all.
    if (helper !== null && done.includes(0)) {
      const failed = (await helper).find((r) => 'error' in r);
      if (failed !== undefined && 'error' in failed) {
        const { code, message } = failed.error;
        throw new WraithError(code as ErrorCode, code === 'E_SOURCE_CHANGED' ? `${path} changed while it was being read` : `${path}: ${message}`);
      }
    }
    const shares: number[] = [];
    for (let b = 0; b < batches; b++) {
      const t = done[b] as number;
      if (t >= 2) shares[t - 2] = (shares[t - 2] ?? 0) + 1;
    }
    this.workerShares = Array.from(shares, (n) => n ?? 0);
    // A worker that died mid-batch: hash what it left.
    let b = 0;
    await this.hashBatches(path, fd, job, () => {
      while (b < batches && done[b] !== 0) b++;
      return b++;
    }, stop);
    this.onRead(size - holeBytes(job));
    return new Uint8Array(job.leaves).slice(); // off the shared memory
  }

  /** Hashes the batches `claim` hands out until it returns one past the end, reading one ahead. */
  private async hashBatches(path: string, fd: number, job: HashJob, claim: () => number, stop?: () => boolean): Promise<void> {
    const { size, chunkSize: cs, per, batches } = job;
    const n = Math.max(1, Math.ceil(size / cs));
    const leaves = new Uint8Array(job.leaves);
    const done = new Uint8Array(job.done);
    let cur = claim();
    if (cur >= batches) return;
    const bufs = this.takeBuffers(Math.min(per * cs, Math.max(size, 1)));
    // A small file's bytes are kept for its send: those are read, holes or not.
    const keepSmall = batches === 1 && size <= KEEP_SMALL_BYTES;
    /** The chunks of batch `b` being read (not those in holes), and their bytes to come. */
    const read = (b: number, buf: Uint8Array): { chunks: number[]; bytes: Promise<Uint8Array[]> } | null => {
      if (!keepSmall && skipHole(job, b, this.hasher)) return null;
      const holes = keepSmall ? null : holeChunks(job, b, this.hasher);
      const chunks: number[] = [];
      const reqs: Array<{ offset: number; length: number; buf: Uint8Array }> = [];
      for (let j = b * per; j < Math.min(n, (b + 1) * per); j++) {
        if (holes !== null && holes[j - b * per] === 1) continue;
        const length = Math.min(cs, size - j * cs);
        const at = (j - b * per) * cs;
        chunks.push(j);
        reqs.push({ offset: j * cs, length, buf: buf.subarray(at, at + length) });
      }
      const p = this.io.readChunks(fd, reqs);
      p.catch(() => undefined); // awaited below; an early exit must not leave it unhandled
      return { chunks, bytes: p };
    };
    // null: a batch ahead that was a hole, its leaves in already.
    let pending = read(cur, bufs[0]);
    try {
      for (let side = 0; cur < batches; side ^= 1) {
        const chunks = pending?.chunks ?? [];
        const got = pending === null ? [] : await pending.bytes;
        if (stop?.() === true) throw new WraithError('E_TRANSFER_CANCELLED', `hashing ${path} stopped: it is no longer wanted`);
        const nextB = claim();
        pending = nextB < batches ? read(nextB, bufs[side ^ 1] as Uint8Array) : null;
        for (let k = 0; k < got.length; k++) {
          const j = chunks[k] as number;
          const chunk = got[k] as Uint8Array;
          if (chunk.length !== Math.min(cs, size - j * cs)) {
            throw new WraithError('E_SOURCE_CHANGED', `${path} changed while it was being read`);
          }
          leaves.set(sourceLeaf(this.hasher, chunk), j * 32);
        }
        done[cur] = 1;
        // A copy (Buffer#slice would be a view of a buffer the next file reads into).
        if (keepSmall) this.small = new Uint8Array((side === 0 ? bufs[0] : bufs[1]).subarray(0, size));
        cur = nextB;
      }
    } finally {
      // The buffers are reused: no read may still be writing into them.
      if (pending !== null) await pending.bytes.catch(() => undefined);
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
    if (this.workers.length > 0 || this.workerFailed || this.workerCount === 0) return; // one that died is not replaced
    this.workers = spawnWorkers(this.workerCount);
    if (this.workers.length === 0) this.workerFailed = true;
  }

  /** Hands `job` to the workers; null when there are none: the loop does it all. */
  private submit(job: HashJob): Promise<HashReply[]> | null {
    this.spawn();
    return submitAll(this.workers, job);
  }
}
