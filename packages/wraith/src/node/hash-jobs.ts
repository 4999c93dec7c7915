/**
 * Hashing jobs shared by the event loop and a worker thread (hash-worker.ts), and the early
 * start of the first big file's job. Node built-ins only: `wraith send` starts the job here
 * while it is still loading the engine, so the worker hashes during start-up.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashCache } from './hash-cache.js';

/** Bytes read per batch (at least one chunk). */
export const HASH_BATCH_BYTES = 4 * 1024 * 1024;
/** Files at least this big are hashed by workers too. */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;
/**
 * At most this many workers: past ~5 threads a cached file's hashing is bound by memory
 * bandwidth (each thread copies and hashes ~2.4 GB/s), and a send should not take a big server.
 */
export const MAX_HASH_WORKERS = 4;

/** Workers for a big file beside the event loop: one per spare CPU, up to MAX_HASH_WORKERS. */
export function defaultHashWorkers(): number {
  return Math.max(0, Math.min(MAX_HASH_WORKERS, availableParallelism() - 1));
}

/** What the worker is asked: the batches of one file, claimed from a shared counter. */
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
  /** One byte per batch: 0 until its leaves are in `leaves`, then who hashed it (1 the event loop, 2+ a worker's tag). */
  done: SharedArrayBuffer;
  /** chunks × 32 bytes. */
  leaves: SharedArrayBuffer;
  /** Int32 per batch: its bytes that were holes, never read (their leaves are zero leaves). */
  holes: SharedArrayBuffer;
  /** The file has holes (fewer blocks than bytes): a batch with data is looked at chunk by chunk. */
  sparse: boolean;
}

/** What a worker answers once it has stopped taking batches of a job: done, or why it stopped. */
export type HashReply = { id: number } | { id: number; error: { code: string; message: string } };

/** A worker's first message: its hasher is loaded. */
export interface HashReady {
  ready: true;
}

/** Longest wait for a worker to finish loading before it is stopped anyway. */
const READY_WAIT_MS = 5000;

let jobIds = 0;

export function newJob(fd: number, size: number, chunkSize: number): HashJob {
  const n = Math.max(1, Math.ceil(size / chunkSize));
  const per = Math.max(1, Math.floor(HASH_BATCH_BYTES / chunkSize));
  const batches = Math.ceil(n / per);
  return {
    id: ++jobIds,
    fd,
    size,
    chunkSize,
    per,
    batches,
    next: new SharedArrayBuffer(4),
    done: new SharedArrayBuffer(batches),
    leaves: new SharedArrayBuffer(n * 32),
    holes: new SharedArrayBuffer(batches * 4),
    sparse: hasHoles(fd, size),
  };
}

function hasHoles(fd: number, size: number): boolean {
  try {
    return fstatSync(fd).blocks * 512 < size;
  } catch {
    return false;
  }
}

/** Batch `b` of `job`: its chunks [first, last), and its bytes [start, start + len). */
export function batchSpan(job: HashJob, b: number): { first: number; last: number; start: number; len: number } {
  const { size, chunkSize: cs, per } = job;
  const first = b * per;
  const last = Math.min(Math.max(1, Math.ceil(size / cs)), first + per);
  const start = first * cs;
  return { first, last, start, len: Math.min(size, last * cs) - start };
}

/** Makes every batch of `job` claimed: a worker on it stops after its current batch. */
export function stopJob(job: HashJob): void {
  Atomics.store(new Int32Array(job.next), 0, job.batches);
}

/** One worker thread; jobs go by message, one reply each. Null from spawn() on one CPU or failure. */
export class HashWorker {
  private readonly waiting = new Map<number, (r: HashReply | null) => void>();
  private dead = false;
  private markReady: () => void = () => {};
  /** Settles once the worker has loaded its hasher, or died. */
  private readonly ready = new Promise<void>((r) => {
    this.markReady = r;
  });

  private constructor(private readonly w: Worker) {
    w.on('message', (r: HashReply | HashReady) => {
      if ('ready' in r) {
        this.markReady();
        return;
      }
      const settle = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (this.waiting.size === 0) w.unref();
      settle?.(r);
    });
    const died = (): void => {
      this.dead = true;
      this.markReady();
      for (const settle of this.waiting.values()) settle(null);
      this.waiting.clear();
    };
    w.on('error', died);
    w.on('exit', died);
    // Idle, it keeps no process alive; with a job out, it does (someone awaits the reply).
    w.unref(); // after the listeners: adding one refs the port again
  }

  /** `tag` (2..255) marks the batches it hashes in a job's done row. */
  static spawn(tag = 2): HashWorker | null {
    if (availableParallelism() < 2) return null;
    try {
      // No flags of the host process: the worker needs none, and module conditions meant for
      // the host (a test runner's 'source') would point it at sources it cannot load.
      return new HashWorker(new Worker(new URL('./hash-worker.js', import.meta.url), { execArgv: [], workerData: { tag } }));
    } catch {
      return null;
    }
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** The worker's reply to `job`, or null when it dies first. */
  submit(job: HashJob): Promise<HashReply | null> {
    if (this.dead) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting.set(job.id, resolve);
      this.w.ref();
      this.w.postMessage(job);
    });
  }

  /**
   * Stops the worker once it has loaded its hasher: stopped while the native module initialises,
   * the addon's init fails on the terminating thread, and Node aborts the whole process
   * ("FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw"). Until then the worker keeps
   * the process alive, so that exit cannot stop it early either.
   */
  terminate(): void {
    this.w.ref();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => {
      timer = setTimeout(r, READY_WAIT_MS);
    });
    void Promise.race([this.ready, late]).then(() => {
      clearTimeout(timer);
      return this.w.terminate();
    });
  }
}

/** Up to `n` workers (fewer when one cannot start), tagged 2, 3, ... */
export function spawnWorkers(n: number): HashWorker[] {
  const out: HashWorker[] = [];
  while (out.length < n) {
    const w = HashWorker.spawn(out.length + 2);
    if (w === null) break;
    out.push(w);
  }
  return out;
}

/** `job` for every live worker of `workers`: their replies (none from one that died); null when none is alive. */
export function submitAll(workers: readonly HashWorker[], job: HashJob): Promise<HashReply[]> | null {
  const live = workers.filter((w) => w.alive);
  if (live.length === 0) return null;
  return Promise.all(live.map((w) => w.submit(job))).then((rs) => rs.filter((r): r is HashReply => r !== null));
}

/**
 * Identity of an open file, compared before a job's leaves are trusted for another descriptor.
 * The ctime catches a rewrite that put the mtime back.
 */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function identityOf(fd: number): FileIdentity {
  const st = fstatSync(fd);
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/**
 * A job begun before the node was up, on a descriptor of its own. The source hasher adopts it
 * when the file it opens is the same (identity and chunk size); otherwise it is disposed.
 */
export class EarlyHash {
  private adopted = false;
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly identity: FileIdentity,
    readonly job: HashJob,
    readonly workers: HashWorker[],
    readonly replies: Promise<HashReply[]>,
    /** Wall-clock ms when the job began (a hash cache must not take a file changed just before). */
    readonly startedMs: number,
  ) {}

  /**
   * Starts hashing the first PATH argument when it is a regular file of at least
   * PARALLEL_MIN_BYTES (a symlink only with followSymlinks). Best effort: null otherwise, or on
   * any error (the send then hashes as usual).
   */
  static start(
    paths: readonly string[],
    chunkSize: number,
    followSymlinks: boolean,
    workerCount = defaultHashWorkers(),
    /** Where the file's leaves may be remembered already: then nothing starts. */
    cache: HashCache | null = null,
  ): EarlyHash | null {
    const path = paths[0];
    if (path === undefined || !Number.isSafeInteger(chunkSize) || chunkSize < 1) return null;
    let fd = -1;
    try {
      const st = followSymlinks ? statSync(path) : lstatSync(path);
      if (!st.isFile() || st.size < PARALLEL_MIN_BYTES) return null;
      // The path may have changed since: never block on a FIFO, never follow a new symlink,
      // and check what was opened.
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (followSymlinks ? 0 : constants.O_NOFOLLOW));
      const opened = fstatSync(fd);
      if (!opened.isFile() || opened.size < PARALLEL_MIN_BYTES) {
        closeSync(fd);
        return null;
      }
      const startedMs = cache?.now() ?? Date.now();
      const identity = identityOf(fd);
      if (cache?.has(fd, chunkSize) === true) {
        closeSync(fd);
        return null;
      }
      const workers = spawnWorkers(workerCount);
      const job = newJob(fd, identity.size, chunkSize);
      const replies = submitAll(workers, job);
      if (replies === null) {
        closeSync(fd);
        return null;
      }
      return new EarlyHash(fd, identity, job, workers, replies, startedMs);
    } catch {
      if (fd >= 0) closeSync(fd);
      return null;
    }
  }

  /** The job, if `fd` is the same file and the chunk size agrees; the caller then owns it. */
  adopt(fd: number, chunkSize: number): boolean {
    if (this.adopted || this.closed || chunkSize !== this.job.chunkSize) return false;
    try {
      if (!sameIdentity(this.identity, identityOf(fd))) return false;
    } catch {
      return false;
    }
    this.adopted = true;
    return true;
  }

  /** After the job (or once adopted and finished): no batch is being read from our descriptor. */
  async finish(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    stopJob(this.job);
    await this.replies;
    closeSync(this.fd);
  }

  /** Ends an early job nobody adopted (its worker too); a no-op once adopted. */
  async dispose(): Promise<void> {
    if (this.adopted) return;
    await this.finish();
    for (const w of this.workers) w.terminate();
  }
}
