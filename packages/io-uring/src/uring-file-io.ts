/**
 * FileIo over io_uring (native/src/uring). Each call becomes kernel ops that
 * cross into native in one submit() (one io_uring_enter per SQ-full);
 * completions come back through the ring's eventfd on the event loop, never
 * by blocking it. Ops larger than bufferSize are split; short reads before EOF
 * and short writes are resubmitted; a batch settles only when all its ops have.
 */
import { WraithError } from '@wraith/core';
import type { UringNative, UringRingInstance } from '@wraith/native';
import { BufferPool } from './buffer-pool.js';
import { ERRNO, errnoError, fromNativeError } from './errno.js';
import { checkMode, O_CLOEXEC, openFlags } from './flags.js';
import { extendTo } from './fs-file-io.js';
import { checkFd, checkReadRequests, checkWriteRequests } from './requests.js';
import type { FileIo, FileIoOptions, Logger, OpenFlags, OpenOptions, ReadRequest, WriteRequest } from './types.js';

const AT_FDCWD = -100;
/**
 * A readChunks batch of at least this many buffered bytes goes to io-wq workers
 * (IOSQE_ASYNC); smaller batches are copied inline in io_uring_enter. Inline is
 * the fast path (no worker hand-off: one 1 MiB read at a time measured ~1.7x fs
 * here, IOSQE_ASYNC ~1.2x) but it is a memcpy on the JS thread (an 8 MiB batch
 * held submit() for ~1.5 ms), so big batches are handed off. Writes stay
 * inline: ext4 punts buffered writes to a worker anyway and forcing
 * IOSQE_ASYNC measured slower. O_DIRECT ops are always inline.
 */
const DEFAULT_ASYNC_MIN_BYTES = 2 * 1024 * 1024;
const ECANCELED = ERRNO.ECANCELED;
const EOPNOTSUPP = ERRNO.EOPNOTSUPP;

/** One kernel op. `done` gets the CQE result (>= 0, or -errno). */
interface Op {
  id: number;
  opcode: number;
  fd: number;
  offset: number;
  length: number;
  buf: Uint8Array | null;
  bufOffset: number;
  fixed: number;
  flags: number;
  sqeFlags: number;
  done: (res: number) => void;
}

/** A contiguous part of one request, handled by one op at a time. */
interface Piece {
  at: number;
  len: number;
  fixed: number;
  got: number;
}

export class UringFileIo implements FileIo {
  readonly backend = 'io_uring' as const;
  readonly bufferSize: number;
  readonly registered: boolean;
  private readonly n: UringNative;
  private readonly ring: UringRingInstance;
  private readonly pool: BufferPool;
  private readonly desc: Float64Array;
  private readonly bufs: Uint8Array[] = [];
  private readonly doneIds: Uint32Array;
  private readonly doneRes: Int32Array;
  private readonly counters: Float64Array;
  private readonly inKernel = new Map<number, Op>();
  private readonly directFds = new Set<number>();
  private readonly asyncMinBytes: number;
  private queue: Op[] = [];
  private queueHead = 0;
  private nextId = 1;
  private reaping = false;
  private destroyed = false;
  private readonly js = { calls: 0, splitOps: 0, resubmits: 0, queuedMax: 0 };

  private constructor(n: UringNative, opts: FileIoOptions, log: Logger) {
    this.n = n;
    const entries = opts.entries ?? 128;
    if (!Number.isInteger(entries) || entries < 2 || entries > 4096) {
      throw new WraithError('E_USAGE', `io_uring entries must be an integer in 2..4096, not ${entries}`);
    }
    this.bufferSize = opts.bufferSize ?? 1 << 20;
    this.asyncMinBytes = opts.asyncMinBytes ?? DEFAULT_ASYNC_MIN_BYTES;
    if (!(this.asyncMinBytes >= 0)) throw new WraithError('E_USAGE', `asyncMinBytes must be >= 0, not ${this.asyncMinBytes}`);
    this.pool = new BufferPool(this.bufferSize, opts.bufferCount ?? 8, n.bufferAddressMod);
    const cq = entries * 2;
    this.doneIds = new Uint32Array(cq);
    this.doneRes = new Int32Array(cq);
    this.counters = new Float64Array(n.uringCounterNames.length);
    this.desc = new Float64Array(n.uringDescLayout.stride * cq);
    try {
      this.ring = new n.UringRing({
        entries,
        cqEntries: cq,
        doneIds: this.doneIds,
        doneResults: this.doneRes,
        counters: this.counters,
        onComplete: (count) => this.onComplete(count),
      });
    } catch (e) {
      throw fromNativeError(e);
    }
    this.registered = opts.registerBuffers === false ? false : this.register(log);
  }

  /** Creates the ring; throws E_IO_URING_UNAVAILABLE when the kernel refuses. */
  static create(n: UringNative, opts: FileIoOptions = {}, log: Logger = () => {}): UringFileIo {
    return new UringFileIo(n, opts, log);
  }

  /** Registered buffers are locked memory: without CAP_IPC_LOCK they must fit RLIMIT_MEMLOCK. */
  private register(log: Logger): boolean {
    const bytes = this.pool.size * this.pool.count;
    const lim = this.n.uringLimits();
    const mib = (b: number): string => (b === Infinity ? 'unlimited' : `${(b / 1048576).toFixed(1)} MiB`);
    if (!lim.capIpcLock && bytes > lim.memlockCur) {
      log(`io_uring: buffer pool of ${mib(bytes)} exceeds RLIMIT_MEMLOCK (${mib(lim.memlockCur)}) without CAP_IPC_LOCK; running with unregistered buffers`);
      return false;
    }
    try {
      this.ring.registerBuffers(this.pool.slots as Uint8Array[]);
      return true;
    } catch (e) {
      log(`io_uring: registering ${this.pool.count} buffers failed (${(e as Error).message}); running with unregistered buffers`);
      return false;
    }
  }

  // ---- submission ----

  private enqueue(op: Op): void {
    if (this.destroyed) {
      op.done(-ECANCELED);
      return;
    }
    op.id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    this.queue.push(op);
  }

  /** Moves queued ops into the kernel: as many as it has slots for, in one submit(). */
  private pump(): void {
    const L = this.n.uringDescLayout;
    const maxBatch = this.desc.length / L.stride;
    while (this.queueHead < this.queue.length && !this.destroyed) {
      const count = Math.min(maxBatch, this.queue.length - this.queueHead);
      const d = this.desc;
      this.bufs.length = 0;
      for (let i = 0; i < count; i++) {
        const op = this.queue[this.queueHead + i]!;
        const o = i * L.stride;
        d[o + L.op] = op.opcode;
        d[o + L.fd] = op.fd;
        d[o + L.offset] = op.offset;
        d[o + L.length] = op.length;
        d[o + L.fixed] = op.fixed;
        d[o + L.flags] = op.flags;
        d[o + L.userData] = op.id;
        d[o + L.sqeFlags] = op.sqeFlags;
        if (op.buf) {
          d[o + L.buf] = this.bufs.length;
          d[o + L.bufOffset] = op.bufOffset;
          this.bufs.push(op.buf);
        } else {
          d[o + L.buf] = -1;
          d[o + L.bufOffset] = 0;
        }
      }
      let accepted: number;
      try {
        accepted = this.ring.submit(d, count, this.bufs);
      } catch (e) {
        // Nothing of this batch reached the kernel: fail it, keep the rest queued.
        const err = fromNativeError(e);
        const failed = this.queue.slice(this.queueHead, this.queueHead + count);
        this.queueHead += count;
        this.compact();
        for (const op of failed) this.failOp(op, err);
        continue;
      } finally {
        this.bufs.length = 0;
      }
      for (let i = 0; i < accepted; i++) {
        const op = this.queue[this.queueHead + i]!;
        this.inKernel.set(op.id, op);
      }
      this.queueHead += accepted;
      if (accepted < count) break; // no free slot: the next reap pumps again
    }
    this.compact();
    const queued = this.queue.length - this.queueHead;
    if (queued > this.js.queuedMax) this.js.queuedMax = queued;
  }

  private compact(): void {
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private failures = new WeakMap<Op, WraithError>();
  private failOp(op: Op, err: WraithError): void {
    this.failures.set(op, err);
    op.done(-(typeof err.details?.errno === 'number' ? (err.details.errno as number) : ERRNO.EIO));
  }

  /** Submits now unless inside a reap, which pumps once at its end. */
  private kick(): void {
    if (!this.reaping) this.pump();
  }

  // ---- completion ----

  private onComplete(count: number): void {
    this.reaping = true;
    try {
      this.deliver(count);
    } finally {
      this.reaping = false;
    }
    this.pump();
  }

  private deliver(count: number): void {
    for (let i = 0; i < count; i++) {
      const id = this.doneIds[i]!;
      const res = this.doneRes[i]!;
      const op = this.inKernel.get(id);
      if (!op) continue;
      this.inKernel.delete(id);
      op.done(res);
    }
  }

  private alive(what: string): void {
    if (this.destroyed) throw new WraithError('E_IO', `${what}: this FileIo was destroyed`, { backend: 'io_uring', destroyed: true });
  }

  private op(opcode: number, fd: number, done: (res: number) => void, extra: Partial<Op> = {}): Op {
    return { id: 0, opcode, fd, offset: 0, length: 0, buf: null, bufOffset: 0, fixed: -1, flags: 0, sqeFlags: 0, done, ...extra };
  }

  /** A single op whose non-negative result resolves the promise. */
  private single(what: string, args: string, context: Record<string, unknown>, opcode: number, fd: number, extra: Partial<Op> = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const op = this.op(opcode, fd, (res) => {
        if (res >= 0) resolve(res);
        else reject(this.failures.get(op) ?? errnoError(-res, what, args, 'io_uring', context));
      }, extra);
      this.enqueue(op);
      this.kick();
    });
  }

  async open(path: string, flags: OpenFlags, mode = 0o644, options: OpenOptions = {}): Promise<number> {
    this.alive('open');
    const f = openFlags(flags, options.direct === true) | O_CLOEXEC;
    checkMode(mode);
    if (typeof path !== 'string' || path === '' || path.includes('\0')) {
      throw new WraithError('E_PATH_INVALID', `open: the path must be a non-empty string without NUL, not ${JSON.stringify(path)}`);
    }
    this.js.calls++;
    const buf = Buffer.from(`${path}\0`);
    const fd = await this.single('openat', `${JSON.stringify(path)}, ${flags}`, { path }, this.n.uringOps.OPENAT, AT_FDCWD, {
      buf,
      length: mode,
      flags: f,
    });
    if (options.direct === true) this.directFds.add(fd);
    else this.directFds.delete(fd);
    return fd;
  }

  /** IOSQE_ASYNC for large batches of buffered reads (see DEFAULT_ASYNC_MIN_BYTES). */
  private readFlags(fd: number, batchBytes: number): number {
    return batchBytes >= this.asyncMinBytes && !this.directFds.has(fd) ? this.n.uringDescLayout.IOSQE_ASYNC : 0;
  }

  async close(fd: number): Promise<void> {
    this.alive('close');
    checkFd(fd);
    this.js.calls++;
    this.directFds.delete(fd);
    await this.single('close', `fd=${fd}`, { fd }, this.n.uringOps.CLOSE, fd);
  }

  async fsync(fd: number): Promise<void> {
    this.alive('fsync');
    checkFd(fd);
    this.js.calls++;
    await this.single('fsync', `fd=${fd}`, { fd }, this.n.uringOps.FSYNC, fd);
  }

  async fallocate(fd: number, offset: number, length: number): Promise<void> {
    this.alive('fallocate');
    checkFd(fd);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1) {
      throw new WraithError('E_USAGE', `fallocate: offset must be >= 0 and length >= 1 (safe integers), not ${offset}, ${length}`);
    }
    this.js.calls++;
    try {
      await this.single('fallocate', `fd=${fd}, mode=0, offset=${offset}, length=${length}`, { fd, offset, length },
        this.n.uringOps.FALLOCATE, fd, { offset, length });
    } catch (e) {
      // Best effort where the filesystem cannot preallocate: grow the file only.
      if ((e as WraithError).details?.errno !== EOPNOTSUPP) throw e;
      await extendTo(fd, offset + length, () => {});
    }
  }

  /** Splits [0, length) of `view` into ops of at most bufferSize, never crossing a registered slot. */
  private split(view: Uint8Array, length: number): Piece[] {
    const pieces: Piece[] = [];
    for (let at = 0; at < length; ) {
      let len = Math.min(length - at, this.bufferSize);
      let fixed = -1;
      if (this.registered) {
        const loc = this.pool.locate(view, at);
        if (loc) {
          fixed = loc.slot;
          len = Math.min(len, loc.room);
        }
      }
      pieces.push({ at, len, fixed, got: 0 });
      at += len;
    }
    if (pieces.length > 1) this.js.splitOps += pieces.length - 1;
    return pieces;
  }

  async readChunks(fd: number, reqs: ReadonlyArray<ReadRequest>): Promise<Uint8Array[]> {
    this.alive('readChunks');
    checkFd(fd);
    checkReadRequests(reqs);
    this.js.calls++;
    const O = this.n.uringOps;
    let batchBytes = 0;
    for (const r of reqs) batchBytes += r.length;
    const sqeFlags = this.readFlags(fd, batchBytes);
    return new Promise((resolve, reject) => {
      const outs: Uint8Array[] = [];
      const parts: Piece[][] = [];
      let pending = 0;
      let error: WraithError | null = null;
      const finish = (): void => {
        if (--pending > 0) return;
        if (error) return reject(error);
        resolve(outs.map((out, i) => out.subarray(0, filledPrefix(parts[i]!))));
      };
      reqs.forEach((r) => {
        const out = r.buf ? r.buf.subarray(0, r.length) : Buffer.allocUnsafeSlow(r.length);
        const pieces = this.split(out, r.length);
        outs.push(out);
        parts.push(pieces);
        for (const p of pieces) {
          pending++;
          const issue = (): void => {
            const off = r.offset + p.at + p.got;
            const op = this.op(p.fixed >= 0 ? O.READ_FIXED : O.READ, fd, (res) => {
              if (res < 0) {
                error ??= this.failures.get(op) ?? errnoError(-res, 'read', `fd=${fd}, offset=${off}, length=${p.len - p.got}`, 'io_uring', { fd, offset: off });
              } else if (res > 0 && (p.got += res) < p.len) {
                this.js.resubmits++;
                return issue(); // short read before EOF: read the rest
              }
              finish(); // complete, EOF (res 0) or failed
            }, { offset: off, length: p.len - p.got, buf: out, bufOffset: p.at + p.got, fixed: p.fixed, sqeFlags });
            this.enqueue(op);
          };
          issue();
        }
      });
      if (pending === 0) resolve(outs);
      else this.kick();
    });
  }

  async writeChunks(fd: number, reqs: ReadonlyArray<WriteRequest>): Promise<void> {
    this.alive('writeChunks');
    checkFd(fd);
    checkWriteRequests(reqs);
    this.js.calls++;
    const O = this.n.uringOps;
    return new Promise((resolve, reject) => {
      let pending = 0;
      let error: WraithError | null = null;
      const finish = (): void => {
        if (--pending > 0) return;
        if (error) reject(error);
        else resolve();
      };
      for (const w of reqs) {
        const data = w.data;
        for (const p of this.split(data, data.byteLength)) {
          pending++;
          const issue = (): void => {
            const off = w.offset + p.at + p.got;
            const args = `fd=${fd}, offset=${off}, length=${p.len - p.got}`;
            const op = this.op(p.fixed >= 0 ? O.WRITE_FIXED : O.WRITE, fd, (res) => {
              if (res < 0) {
                error ??= this.failures.get(op) ?? errnoError(-res, 'write', args, 'io_uring', { fd, offset: off });
              } else if (res === 0) {
                error ??= errnoError(ERRNO.EIO, 'write', args, 'io_uring', { fd, offset: off, reason: 'write returned 0' });
              } else if ((p.got += res) < p.len) {
                this.js.resubmits++;
                return issue(); // short write: write the rest
              }
              finish();
            }, { offset: off, length: p.len - p.got, buf: data, bufOffset: p.at + p.got, fixed: p.fixed });
            this.enqueue(op);
          };
          issue();
        }
      }
      if (pending === 0) resolve();
      else this.kick();
    });
  }

  acquireBuffer(): Uint8Array | null {
    return this.pool.acquire();
  }

  releaseBuffer(buf: Uint8Array): void {
    this.pool.release(buf);
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    this.n.uringCounterNames.forEach((name, i) => (out[name] = this.counters[i] ?? 0));
    return {
      ...out,
      ...this.js,
      queued: this.queue.length - this.queueHead,
      registered: this.registered ? 1 : 0,
      bufferSize: this.bufferSize,
      bufferCount: this.pool.count,
    };
  }

  /**
   * Cancels what is in the kernel and waits for it (the ring drains
   * synchronously: cancelled ops end at once, disk ops within their I/O),
   * fails what was still queued, then frees the ring. Pending promises reject
   * with ECANCELED (E_IO) unless their op had already completed.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const n = this.ring.close();
    this.deliver(n);
    const queued = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    for (const op of queued) op.done(-ECANCELED);
    // Ops that outlived the drain keep their buffers referenced in native code.
    for (const op of [...this.inKernel.values()]) op.done(-ECANCELED);
    this.inKernel.clear();
  }
}

/** Bytes read from the start of a request: pieces up to and including the first one cut short. */
function filledPrefix(pieces: Piece[]): number {
  let total = 0;
  for (const p of pieces) {
    total += p.got;
    if (p.got < p.len) break;
  }
  return total;
}
