/**
 * The FileIo contract both backends (io_uring and node:fs) implement. A
 * compliance suite (test/file-io.compliance.test.ts) runs against each.
 */

/**
 * How open() opens a file (O_CLOEXEC always):
 * - 'r'  O_RDONLY
 * - 'w'  O_WRONLY | O_CREAT          (no truncation: receives resume into partial files)
 * - 'rw' O_RDWR | O_CREAT
 * - 'wx' O_WRONLY | O_CREAT | O_EXCL (fails with E_EXISTS when the file exists)
 */
export type OpenFlags = 'r' | 'w' | 'rw' | 'wx';

export interface OpenOptions {
  /** O_DIRECT: bypass the page cache. Buffers, offsets and lengths must then be
   * aligned to the device's logical block size (acquireBuffer() slots are 4 KiB aligned). */
  direct?: boolean;
}

export interface ReadRequest {
  offset: number;
  length: number;
  /** Read into this buffer (its first `length` bytes); otherwise a new one is allocated. */
  buf?: Uint8Array;
}

export interface WriteRequest {
  offset: number;
  data: Uint8Array;
}

export interface FileIo {
  readonly backend: 'io_uring' | 'fs';
  /** Size of the buffers acquireBuffer() hands out. */
  readonly bufferSize: number;
  open(path: string, flags: OpenFlags, mode?: number, options?: OpenOptions): Promise<number>;
  close(fd: number): Promise<void>;
  /**
   * Reads every request as one batch. Each result views the request's buffer;
   * a read reaching EOF returns a shorter view (empty past EOF). Short reads
   * before EOF are resubmitted until the range is filled.
   */
  readChunks(fd: number, reqs: ReadonlyArray<ReadRequest>): Promise<Uint8Array[]>;
  /** Writes every request as one batch; short writes are resubmitted until complete. */
  writeChunks(fd: number, reqs: ReadonlyArray<WriteRequest>): Promise<void>;
  fsync(fd: number): Promise<void>;
  /**
   * Reserves [offset, offset+length) (mode 0: extends the size like posix_fallocate).
   * Best effort: where the filesystem cannot preallocate (EOPNOTSUPP), or the
   * fs backend runs without the native addon, the file is only extended with
   * ftruncate and space is not reserved, so E_NO_SPACE may surface at write time.
   */
  fallocate(fd: number, offset: number, length: number): Promise<void>;
  /**
   * A bufferSize buffer from the backend's pool, or null when all are in use.
   * On io_uring these are the registered buffers: reads into and writes from
   * them use READ_FIXED/WRITE_FIXED. Give each back with releaseBuffer().
   */
  acquireBuffer(): Uint8Array | null;
  releaseBuffer(buf: Uint8Array): void;
  /** Counters; names are stable per backend (see README). */
  stats(): Record<string, number>;
  /** Waits for (fs) or cancels and drains (io_uring) pending operations, then frees everything. */
  destroy(): Promise<void>;
}

export interface FileIoOptions {
  /** io_uring SQ entries (default 128); the CQ (and ops in flight) is twice this. */
  entries?: number;
  /** Size of one pool buffer and the largest single kernel op (default 1 MiB). */
  bufferSize?: number;
  /** Pool buffers (default 8, i.e. 8 MiB: fits an 8 MiB RLIMIT_MEMLOCK). */
  bufferCount?: number;
  /** Register the pool with io_uring (default true). */
  registerBuffers?: boolean;
  /**
   * io_uring: a readChunks batch of at least this many buffered bytes is
   * handed to kernel workers (IOSQE_ASYNC) rather than copied inline on the JS
   * thread (default 2 MiB; Infinity: never; 0: always). Writes and O_DIRECT
   * ops are issued inline (the kernel punts buffered writes where it must).
   */
  asyncMinBytes?: number;
}

export type Logger = (msg: string) => void;
