/**
 * FileIo over node:fs (libuv's thread pool): the fallback with the same shape
 * and error codes as the io_uring backend. A batch is issued concurrently;
 * the pool runs four requests at a time by default (UV_THREADPOOL_SIZE).
 */
import * as fs from 'node:fs';
import { WraithError } from '@wraith/core';
import { BufferPool } from './buffer-pool.js';
import { errnoError, fromNativeError, fromNodeError } from './errno.js';
import { checkMode, openFlags } from './flags.js';
import { fsNative, uringNative } from './native.js';
import { checkReadRequests, checkWriteRequests, checkFd, settleAll } from './requests.js';
import type { FileIo, FileIoOptions, OpenFlags, OpenOptions, ReadRequest, WriteRequest } from './types.js';

const EOPNOTSUPP = 95;

function call<T>(fn: (cb: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

export class FsFileIo implements FileIo {
  readonly backend = 'fs' as const;
  readonly bufferSize: number;
  private readonly pool: BufferPool;
  private readonly pending = new Set<Promise<unknown>>();
  private destroyed = false;
  private readonly counters = { ops: 0, reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, syscalls: 0, inflight: 0 };

  constructor(opts: FileIoOptions = {}) {
    this.bufferSize = opts.bufferSize ?? 1 << 20;
    this.pool = new BufferPool(this.bufferSize, opts.bufferCount ?? 8, uringNative?.bufferAddressMod);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    this.counters.inflight++;
    const done = (): void => {
      this.pending.delete(p);
      this.counters.inflight--;
    };
    p.then(done, done);
    return p;
  }

  private alive(what: string): void {
    if (this.destroyed) throw new WraithError('E_IO', `${what}: this FileIo was destroyed`, { backend: 'fs', destroyed: true });
  }

  async open(path: string, flags: OpenFlags, mode = 0o644, options: OpenOptions = {}): Promise<number> {
    this.alive('open');
    const f = openFlags(flags, options.direct === true);
    checkMode(mode);
    this.counters.ops++;
    this.counters.syscalls++;
    return this.track(
      call<number>((cb) => fs.open(path, f, mode, cb)).catch((e: unknown) => {
        throw fromNodeError(e, 'open', `${JSON.stringify(path)}, ${flags}`, { path });
      }),
    );
  }

  async close(fd: number): Promise<void> {
    this.alive('close');
    checkFd(fd);
    this.counters.ops++;
    this.counters.syscalls++;
    return this.track(
      call<void>((cb) => fs.close(fd, (err) => cb(err, undefined))).catch((e: unknown) => {
        throw fromNodeError(e, 'close', `fd=${fd}`, { fd });
      }),
    );
  }

  private async readOne(fd: number, r: ReadRequest): Promise<Uint8Array> {
    const out = r.buf ? r.buf.subarray(0, r.length) : Buffer.allocUnsafeSlow(r.length);
    let got = 0;
    while (got < r.length) {
      this.counters.syscalls++;
      const n = await call<number>((cb) => fs.read(fd, out, got, r.length - got, r.offset + got, cb)).catch((e: unknown) => {
        throw fromNodeError(e, 'read', `fd=${fd}, offset=${r.offset + got}, length=${r.length - got}`, { fd, offset: r.offset });
      });
      if (n === 0) break; // EOF
      got += n;
    }
    this.counters.bytesRead += got;
    return out.subarray(0, got);
  }

  async readChunks(fd: number, reqs: ReadonlyArray<ReadRequest>): Promise<Uint8Array[]> {
    this.alive('readChunks');
    checkFd(fd);
    checkReadRequests(reqs);
    this.counters.ops++;
    this.counters.reads += reqs.length;
    return this.track(settleAll(reqs.map((r) => this.readOne(fd, r))));
  }

  private async writeOne(fd: number, w: WriteRequest): Promise<void> {
    let put = 0;
    const len = w.data.byteLength;
    while (put < len) {
      this.counters.syscalls++;
      const n = await call<number>((cb) => fs.write(fd, w.data, put, len - put, w.offset + put, cb)).catch((e: unknown) => {
        throw fromNodeError(e, 'write', `fd=${fd}, offset=${w.offset + put}, length=${len - put}`, { fd, offset: w.offset });
      });
      if (n === 0) throw errnoError(5, 'write', `fd=${fd}, offset=${w.offset + put}`, 'fs', { fd, reason: 'write returned 0' });
      put += n;
    }
    this.counters.bytesWritten += put;
  }

  async writeChunks(fd: number, reqs: ReadonlyArray<WriteRequest>): Promise<void> {
    this.alive('writeChunks');
    checkFd(fd);
    checkWriteRequests(reqs);
    this.counters.ops++;
    this.counters.writes += reqs.length;
    await this.track(settleAll(reqs.map((w) => this.writeOne(fd, w))));
  }

  async fsync(fd: number): Promise<void> {
    this.alive('fsync');
    checkFd(fd);
    this.counters.ops++;
    this.counters.syscalls++;
    return this.track(
      call<void>((cb) => fs.fsync(fd, (err) => cb(err, undefined))).catch((e: unknown) => {
        throw fromNodeError(e, 'fsync', `fd=${fd}`, { fd });
      }),
    );
  }

  async fallocate(fd: number, offset: number, length: number): Promise<void> {
    this.alive('fallocate');
    checkFd(fd);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1) {
      throw new WraithError('E_USAGE', `fallocate: offset must be >= 0 and length >= 1 (safe integers), not ${offset}, ${length}`);
    }
    this.counters.ops++;
    return this.track(this.doFallocate(fd, offset, length));
  }

  private async doFallocate(fd: number, offset: number, length: number): Promise<void> {
    if (fsNative) {
      this.counters.syscalls++;
      try {
        fsNative.fsFallocate(fd, 0, offset, length);
        return;
      } catch (e) {
        if ((e as { errno?: number }).errno !== EOPNOTSUPP) throw fromNativeError(e, { fd, offset, length, syscall: 'fallocate' });
      }
    }
    await extendTo(fd, offset + length, () => this.counters.syscalls++);
  }

  acquireBuffer(): Uint8Array | null {
    return this.pool.acquire();
  }

  releaseBuffer(buf: Uint8Array): void {
    this.pool.release(buf);
  }

  stats(): Record<string, number> {
    return { ...this.counters };
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    // Drain: a caller's buffer must not be written after destroy() resolves.
    await Promise.allSettled([...this.pending]);
  }
}

/** The best-effort fallocate: grow the file to `size` without reserving blocks. */
export async function extendTo(fd: number, size: number, count: () => void): Promise<void> {
  count();
  const st = await call<fs.Stats>((cb) => fs.fstat(fd, cb)).catch((e: unknown) => {
    throw fromNodeError(e, 'fstat', `fd=${fd}`, { fd });
  });
  if (st.size >= size) return;
  count();
  await call<void>((cb) => fs.ftruncate(fd, size, (err) => cb(err, undefined))).catch((e: unknown) => {
    throw fromNodeError(e, 'ftruncate', `fd=${fd}, ${size}`, { fd });
  });
}
