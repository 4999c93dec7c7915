/**
 * Holes of a sparse file, found without reading them: lseek(SEEK_DATA) through the addon. A
 * hash pass skips a hole where reading it would make the kernel zero-fill every page.
 */
import { fstatSync } from 'node:fs';
import { fsNative } from './native.js';

/**
 * Whether [offset, offset + length) of `fd` is all hole. False when it holds data, when it ends
 * past the end of the file (the read then finds the file shorter), or when nothing can tell (no
 * addon, a file system or error that says nothing): the caller reads it.
 */
export function isHole(fd: number, offset: number, length: number): boolean {
  const n = fsNative;
  if (n === null || length <= 0) return false;
  let next: number;
  try {
    next = n.fsSeekData(fd, offset);
  } catch {
    return false;
  }
  if (next >= 0) return next >= offset + length;
  // No data from `offset` on: a hole to the end, or the file now ends before it.
  try {
    return fstatSync(fd).size >= offset + length;
  } catch {
    return false;
  }
}

/**
 * Which `unit`-sized pieces of [offset, offset + length) of `fd` are all hole (1) or hold data
 * (0); the last piece may be shorter. Null when none is a hole, or nothing can tell: the caller
 * reads them all. One lseek(SEEK_DATA) per piece with data, one per run of holes (SEEK_HOLE is
 * not used: on tmpfs it walks every page up to the next hole).
 */
export function holeMap(fd: number, offset: number, length: number, unit: number): Uint8Array | null {
  const n = fsNative;
  if (n === null || length <= 0 || unit <= 0) return null;
  const end = offset + length;
  const count = Math.ceil(length / unit);
  const map = new Uint8Array(count);
  let any = false;
  try {
    for (let i = 0; i < count; ) {
      const data = n.fsSeekData(fd, offset + i * unit);
      // No data from here on: holes to the end of the file, which must not end early.
      const upTo = data >= 0 ? Math.min(count, Math.floor((data - offset) / unit)) : fstatSync(fd).size >= end ? count : i;
      if (upTo <= i) {
        if (data < 0) break; // the file is shorter now: the read finds it out
        i++; // data in piece i
        continue;
      }
      map.fill(1, i, upTo);
      any = true;
      i = upTo;
    }
  } catch {
    return null;
  }
  return any ? map : null;
}
