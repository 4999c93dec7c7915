/**
 * Verified chunks written with O_DIRECT: the bytes go from the chunk buffer to the disk, skipping
 * the copy into the page cache and its writeback (on ext4 that is most of a receiver's file
 * cost), and a large transfer does not evict the host's cache.
 *
 * The partial file gets a second fd with O_DIRECT (reopened through /proc/self/fd, so it is the
 * same inode whatever happens to the path). Spans that start on a 4 KiB boundary of the file and
 * of aligned memory, in whole 4 KiB blocks, go through it; the rest (a file's unaligned last
 * bytes, memory of unknown alignment) through the ordinary fd. fsync is per inode, so the
 * ordinary fd's fdatasync covers both.
 */
import * as fs from 'node:fs';
import { isWraithError } from '@wraith/core';
import { ALIGN, isAligned, type FileIo, type WriteRequest } from '@wraith/io-uring';
import { fdClose, fdOpen } from './fdio.js';
import { isAllZero } from './zeros.js';

export interface SplitWrites {
  direct: WriteRequest[];
  buffered: WriteRequest[];
}

/** Which parts of `writes` O_DIRECT can take as they are, and which need the page cache. */
export function splitDirect(writes: ReadonlyArray<WriteRequest>, aligned: (data: Uint8Array) => boolean = isAligned): SplitWrites {
  const out: SplitWrites = { direct: [], buffered: [] };
  for (const w of writes) {
    const len = w.data.length;
    const whole = w.offset % ALIGN === 0 && aligned(w.data) ? len - (len % ALIGN) : 0;
    if (whole > 0) out.direct.push(whole === len ? w : { offset: w.offset, data: w.data.subarray(0, whole) });
    if (whole < len) out.buffered.push(whole === 0 ? w : { offset: w.offset + whole, data: w.data.subarray(whole) });
  }
  return out;
}

/**
 * `writes` without their all-zero 4 KiB blocks (by file offset): the partial reads them as zeros
 * already, and left unwritten they stay holes, as `cp` keeps them. A write with no zero block is
 * kept as it is, one with some is cut into the runs between them.
 */
export function dropZeroBlocks(writes: ReadonlyArray<WriteRequest>): WriteRequest[] {
  const out: WriteRequest[] = [];
  for (const w of writes) {
    const { offset, data } = w;
    const len = data.length;
    let run = -1; // start of the current run of data blocks, or -1
    let cut = false;
    for (let at = 0; at < len; ) {
      const next = Math.min(len, at + ALIGN - ((offset + at) % ALIGN));
      // Most blocks of data end in a byte other than zero: no view, no compare for those.
      if (data[at] === 0 && data[next - 1] === 0 && isAllZero(data.subarray(at, next))) {
        cut = true;
        if (run >= 0) out.push({ offset: offset + run, data: data.subarray(run, at) });
        run = -1;
      } else if (run < 0) {
        run = at;
      }
      at = next;
    }
    if (run === 0 && !cut) out.push(w);
    else if (run >= 0) out.push({ offset: offset + run, data: data.subarray(run) });
  }
  return out;
}

/** A second fd on the file behind `fd` with O_DIRECT, or the reason it cannot have one. */
export async function openDirect(fd: number): Promise<{ fd: number } | { reason: string }> {
  try {
    return { fd: await fdOpen(`/proc/self/fd/${fd}`, fs.constants.O_WRONLY | fs.constants.O_DIRECT, 0) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return { reason: `${code}: ${code === 'EINVAL' ? 'the file system does not take O_DIRECT' : (e as Error).message}` };
  }
}

/** The two fds of a partial file; `direct` is null when O_DIRECT is not (or no longer) used. */
export interface WriteTarget {
  readonly fd: number;
  direct: number | null;
}

export interface WrittenBytes {
  direct: number;
  buffered: number;
}

/**
 * Writes a batch through both fds. A failed O_DIRECT write (other than a full disk, or one
 * refused: a read-only file system, permissions) turns
 * O_DIRECT off for this file (`onDirectFailure` hears why) and its spans are written again
 * through the page cache, so a file system that accepts the open but not the write loses nothing.
 * All-zero 4 KiB blocks are not written: a partial is created sparse at its full size, so they
 * read back as zeros and stay holes (a sparse VM image arrives sparse, as `cp` keeps it). Only
 * what was written counts in the result.
 */
export async function writeBatch(
  io: FileIo,
  target: WriteTarget,
  all: ReadonlyArray<WriteRequest>,
  onDirectFailure: (err: unknown) => void,
): Promise<WrittenBytes> {
  const writes = dropZeroBlocks(all);
  const dfd = target.direct;
  const { direct, buffered } = dfd === null ? { direct: [], buffered: writes as WriteRequest[] } : splitDirect(writes);
  const sum = (ws: ReadonlyArray<WriteRequest>): number => ws.reduce((n, w) => n + w.data.length, 0);
  let directOk = true;
  await Promise.all([
    direct.length > 0 && dfd !== null
      ? io.writeChunks(dfd, direct).catch((err: unknown) => {
          // A full disk is full either way, a read-only file system (remounted after an error)
          // read-only either way: report it, not a fallback.
          if (isWraithError(err) && (err.code === 'E_NO_SPACE' || err.code === 'E_PERMISSION')) throw err;
          directOk = false;
          if (target.direct === dfd) {
            target.direct = null;
            void fdClose(dfd).catch(() => undefined);
            onDirectFailure(err);
          }
        })
      : undefined,
    buffered.length > 0 ? io.writeChunks(target.fd, buffered) : undefined,
  ]);
  if (!directOk) {
    await io.writeChunks(target.fd, direct);
    return { direct: 0, buffered: sum(writes) };
  }
  return { direct: sum(direct), buffered: sum(buffered) };
}
