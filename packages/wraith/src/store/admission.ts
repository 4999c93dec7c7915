/**
 * Admission of incoming files: `[receive] max_file_size`, `max_total_bytes` (bytes still to be
 * written by all unfinished transfers, reserved at admission) and free space minus `min_free`.
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
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

export class Admission {
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly dir: string,
    private readonly limits: SpaceLimits,
    private readonly freeSpace: FreeSpaceFn = statfsFree,
  ) {}

  get reservedBytes(): number {
    let total = 0;
    for (const v of this.reserved.values()) total += v;
    return total;
  }

  /**
   * Reserves `needed` bytes (the file's size minus what a resumed partial already holds) under
   * `key`, or throws E_FILE_TOO_LARGE / E_NO_SPACE naming the limit.
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
    const others = this.reservedBytes - (this.reserved.get(key) ?? 0);
    if (maxTotalBytes !== null && others + needed > maxTotalBytes) {
      throw new WraithError(
        'E_NO_SPACE',
        `${name} needs ${needed} bytes; unfinished transfers already hold ${others} of [receive] max_total_bytes = ${maxTotalBytes}`,
        { name, needed, reserved: others, max_total_bytes: maxTotalBytes },
        'wait for running transfers to finish, or raise [receive] max_total_bytes',
      );
    }
    const free = await this.freeSpace(this.dir);
    const usable = free - minFree - others;
    if (needed > usable) {
      throw new WraithError(
        'E_NO_SPACE',
        `${name} needs ${needed} bytes (${humanBytes(needed)}); ${this.dir} has ${free} free, ` +
          `min_free keeps ${minFree} and unfinished transfers hold ${others}`,
        { name, needed, free, min_free: minFree, reserved: others },
      );
    }
    this.reserved.set(key, needed);
  }

  release(key: string): void {
    this.reserved.delete(key);
  }
}
