/**
 * Promise wrappers over fd-based node:fs calls. The store works with plain fds (not FileHandle)
 * because the addon's safe opens and the io_uring FileIo both hand out fds.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';

export const fdOpen = promisify(fs.open) as (path: string, flags: number, mode: number) => Promise<number>;
export const fdClose = promisify(fs.close);
export const fdFsync = promisify(fs.fsync);
export const fdDatasync = promisify(fs.fdatasync);
export const fdStat = promisify(fs.fstat) as (fd: number) => Promise<fs.Stats>;

// Metadata calls on an fd the store holds (ftruncate of its own new partial, fchmod, futimens,
// close after fsync) run on the caller's thread: microseconds on a local file system, where a
// thread-pool round trip each cost more than the call itself, four times per received file.
// fsync and data I/O stay off the event loop.

/** ftruncate(2), now. */
export function fdTruncateNow(fd: number, length: number): void {
  fs.ftruncateSync(fd, length);
}

/** Mode (& 0o777) and mtime (also as atime) of an open file, now. */
export function fdSetModeAndTime(fd: number, mode: number, mtimeMs: number): void {
  fs.fchmodSync(fd, mode & 0o777);
  const t = utimeSeconds(mtimeMs);
  fs.futimesSync(fd, t, t);
}

/**
 * Seconds for futimes that land on the exact millisecond: libuv truncates to whole microseconds,
 * and ms / 1000 is often a hair below the value (…001 ms became …000999). Half a microsecond
 * more is above that error for any date before the year 2200, and below the next microsecond.
 */
function utimeSeconds(mtimeMs: number): number {
  return Math.floor(mtimeMs) / 1000 + 5e-7;
}

/** fsync off the event loop, then close (also when fsync failed; its error wins). */
export async function fdSyncAndClose(fd: number): Promise<void> {
  try {
    await fdFsync(fd);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      // the fsync error is the one to report
    }
    throw e;
  }
  fs.closeSync(fd);
}

/** Writes all of `buf` at `position` (loops over short writes). */
export async function fdWriteAll(fd: number, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const n = await new Promise<number>((resolve, reject) => {
      fs.write(fd, buf, done, buf.length - done, position + done, (err, written) => (err ? reject(err) : resolve(written)));
    });
    if (n === 0) throw new Error('write returned 0 bytes');
    done += n;
  }
}

/** Reads up to `length` bytes at `position`. */
export function fdRead(fd: number, buf: Uint8Array, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, buf.length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}
