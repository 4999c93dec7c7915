/**
 * An exclusive flock(2) on a directory, through the addon. The kernel drops it when the fd
 * closes, so a process that dies however it dies leaves nothing to clean up, and nothing is
 * written into the directory.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { fsNative } from './native.js';

export type DirLock = { readonly held: false; readonly fd: number } | { readonly held: true };

/** Takes the lock (held: false, with the fd that holds it), finds it held, or null without the addon. */
export function lockDirectory(path: string): DirLock | null {
  const n = fsNative;
  if (n === null) return null;
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY); // libuv adds O_CLOEXEC
  let taken: boolean;
  try {
    taken = n.fsFlock(fd);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  if (taken) return { held: false, fd };
  closeSync(fd);
  return { held: true };
}
