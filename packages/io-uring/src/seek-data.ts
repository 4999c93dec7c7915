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
