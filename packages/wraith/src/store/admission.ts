/**
 * Admission of incoming files: `[receive] max_file_size`; `max_total_bytes` (the sizes of all
 * unfinished incoming files together); free space minus `min_free` minus what unfinished
 * transfers still have to write.
 */
import { statfs } from 'node:fs/promises';
import { WraithError } from '@wraith/core';
import { humanBytes } from '../units.js';

export interface SpaceLimits {
  readonly maxFileSize: number | null;
  readonly maxTotalBytes: number | null;
  readonly minFree: number;
}

/** Bytes an unprivileged writer can still use on the file system holding `dir`. */
export type FreeSpaceFn = (dir: string) => Promise<number>;

export const statfsFree: FreeSpaceFn = async (dir) => {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch (e) {
    // Not recreated here: a directory that vanished with an unmount would come back on the
    // file system below the mount point.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw downloadDirGone(dir);
    throw e;
  }
};

/** The download directory vanished under a running receiver. */
export function downloadDirGone(dir: string): WraithError {
  // receiverWide: no file can be received now, so the session ends with this (incoming.ts).
  return new WraithError('E_IO', `the receiver's download directory ${dir} is gone (removed or unmounted): recreate it`, { path: dir, receiverWide: true });
}

interface Reservation {
  /** The file's size: counts against max_total_bytes until the transfer ends. */
  readonly size: number;
  /** Bytes still to be written: counts against free space, shrinking as data lands. */
  remaining: number;
}

export class Admission {
  private readonly reserved = new Map<string, Reservation>();
  /** The last free-space reading, and what reached the disk since (see admit). */
  private reading: { free: number; at: number; written: number } | null = null;

  constructor(
    private readonly dir: string,
    private readonly limits: SpaceLimits,
    private readonly freeSpace: FreeSpaceFn = statfsFree,
    /** How long a reading may serve a small file (0: ask every time). */
    private readonly reuseMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Free bytes now. A reading under reuseMs old serves again, less what our transfers wrote
   * since, while the file and everything pending take under half of it: a tree of small files
   * then costs one statfs a second, and only another writer filling half the disk within that
   * second could slip past.
   */
  private async free(needed: number, pending: number): Promise<number> {
    const r = this.reading;
    const t = this.now();
    if (r !== null && t - r.at < this.reuseMs) {
      const free = r.free - r.written;
      if (needed + pending + this.limits.minFree < free / 2) return free;
    }
    const free = await this.freeSpace(this.dir);
    this.reading = { free, at: t, written: 0 };
    return free;
  }

  /** Sum of the sizes of unfinished transfers (for max_total_bytes). */
  get reservedBytes(): number {
    let total = 0;
    for (const r of this.reserved.values()) total += r.size;
    return total;
  }

  /** Bytes unfinished transfers still have to write (held back from the free space). */
  get pendingBytes(): number {
    let total = 0;
    for (const r of this.reserved.values()) total += r.remaining;
    return total;
  }

  /**
   * Admits a file of `size` bytes of which `needed` are still to be written (less than size
   * when a partial is resumed), or throws E_FILE_TOO_LARGE / E_NO_SPACE naming the limit.
   */
  async admit(key: string, name: string, size: number, needed: number): Promise<void> {
    const { maxFileSize, maxTotalBytes, minFree } = this.limits;
    if (maxFileSize !== null && size > maxFileSize) {
      throw new WraithError(
        'E_FILE_TOO_LARGE',
        `${name} is ${size} bytes (${humanBytes(size)}); [receive] max_file_size is ${maxFileSize} (${humanBytes(maxFileSize)})`,
        { name, size, max_file_size: maxFileSize },
      );
    }
    const mine = this.reserved.get(key);
    const others = this.reservedBytes - (mine?.size ?? 0);
    if (maxTotalBytes !== null && others + size > maxTotalBytes) {
      throw new WraithError(
        'E_NO_SPACE',
        `${name} is ${size} bytes; unfinished transfers already hold ${others} of [receive] max_total_bytes = ${maxTotalBytes}`,
        { name, size, reserved: others, max_total_bytes: maxTotalBytes },
        'wait for running transfers to finish, or raise [receive] max_total_bytes',
      );
    }
    const pending = this.pendingBytes - (mine?.remaining ?? 0);
    const free = await this.free(needed, pending);
    if (needed > free - minFree - pending) {
      throw new WraithError(
        'E_NO_SPACE',
        `${name} needs ${needed} bytes (${humanBytes(needed)}); ${this.dir} has ${free} free, ` +
          `min_free keeps ${minFree} and unfinished transfers still need ${pending}`,
        { name, needed, free, min_free: minFree, pending },
      );
    }
    this.reserved.set(key, { size, remaining: needed });
  }

  /** `n` bytes of `key` reached the disk. */
  consume(key: string, n: number): void {
    const r = this.reserved.get(key);
    if (r !== undefined) r.remaining = Math.max(0, r.remaining - n);
    if (this.reading !== null) this.reading.written += n;
  }

  release(key: string): void {
    this.reserved.delete(key);
  }
}
