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
export const fdChmod = promisify(fs.fchmod);
export const fdUtimes = promisify(fs.futimes);
export const fdTruncate = promisify(fs.ftruncate);
export const fdStat = promisify(fs.fstat) as (fd: number) => Promise<fs.Stats>;

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
