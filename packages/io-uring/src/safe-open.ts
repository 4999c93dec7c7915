/**
 * Opening and renaming received files without following planted symlinks or
 * clobbering existing files.
 *
 * safeOpenBeneath: with the addon, openat2(dirfd, relPath, RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS): the kernel refuses any symlink and any escape from
 * `dir` atomically. Without it: every intermediate component is lstat()ed and
 * must be a real directory, the last is opened with O_NOFOLLOW, and the opened
 * file's /proc/self/fd path must lie under realpath(dir). The fallback narrows
 * but cannot close the race between checks (a directory swapped for a symlink
 * mid-walk is caught only after open, and an O_CREAT may already have created
 * a file elsewhere).
 *
 * renameNoReplace: renameat2(RENAME_NOREPLACE); fallback link() + unlink(),
 * which also never replaces (link fails with EEXIST) but does not work for
 * directories or filesystems without hard links.
 */
import * as fs from 'node:fs/promises';
import { closeSync, open as openFd } from 'node:fs';
import { promisify } from 'node:util';
import { join, sep } from 'node:path';
import { WraithError } from '@wraith/core';
import { errnoError, fromNativeError, fromNodeError } from './errno.js';
import { checkMode, openFlags } from './flags.js';
import { fsNative } from './native.js';
import type { OpenFlags } from './types.js';

const ELOOP = 40;
const EINVAL = 22;

/** Components of a received relative path; refuses absolute paths, '..', NUL and empty names. */
export function relativeComponents(relPath: string): string[] {
  if (typeof relPath !== 'string' || relPath === '' || relPath.includes('\0') || relPath.startsWith('/')) {
    throw new WraithError('E_PATH_INVALID', `not a relative path: ${JSON.stringify(relPath)}`, { path: relPath });
  }
  const parts = relPath.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.length === 0 || parts.includes('..')) {
    throw new WraithError('E_PATH_INVALID', `the path ${JSON.stringify(relPath)} climbs out with ".." or names nothing`, { path: relPath });
  }
  return parts;
}

/** Opens `relPath` under `dir` (flags as FileIo.open) and returns the fd. */
export async function safeOpenBeneath(dir: string, relPath: string, flags: OpenFlags, mode = 0o644): Promise<number> {
  const parts = relativeComponents(relPath);
  const f = openFlags(flags);
  checkMode(mode);
  if (fsNative) {
    const c = fsNative.fsConstants;
    let dirfd: number;
    try {
      dirfd = fsNative.fsOpenat2(c.AT_FDCWD, dir, c.O_PATH | c.O_DIRECTORY, 0, 0);
    } catch (e) {
      throw fromNativeError(e, { path: dir });
    }
    try {
      return fsNative.fsOpenat2(dirfd, parts.join('/'), f, mode, c.RESOLVE_BENEATH | c.RESOLVE_NO_SYMLINKS);
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      if (errno !== 38 /* ENOSYS: kernel < 5.6 */) throw fromNativeError(e, { dir, path: relPath });
    } finally {
      closeSync(dirfd);
    }
  }
  return fallbackOpenBeneath(dir, parts, relPath, f, mode);
}

/** The portable path of safeOpenBeneath (used without the addon; exported for tests). */
export async function openBeneathFallback(dir: string, relPath: string, flags: OpenFlags, mode = 0o644): Promise<number> {
  return fallbackOpenBeneath(dir, relativeComponents(relPath), relPath, openFlags(flags), checkMode(mode));
}

async function fallbackOpenBeneath(dir: string, parts: string[], relPath: string, flags: number, mode: number): Promise<number> {
  const refuse = (what: string): WraithError =>
    errnoError(ELOOP, 'open', `${JSON.stringify(dir)}, ${JSON.stringify(relPath)}`, 'fs', { dir, path: relPath, component: what });
  let cur = dir;
  for (const c of parts.slice(0, -1)) {
    cur = join(cur, c);
    const st = await fs.lstat(cur).catch((e: unknown) => {
      throw fromNodeError(e, 'lstat', JSON.stringify(cur), { dir, path: relPath });
    });
    if (st.isSymbolicLink()) throw pathInvalid(refuse(cur));
    if (!st.isDirectory()) throw errnoError(20 /* ENOTDIR */, 'lstat', JSON.stringify(cur), 'fs', { dir, path: relPath });
  }
  const target = join(cur, parts[parts.length - 1]!);
  let fd: number;
  try {
    // A plain fd, not a FileHandle (which would close it on garbage collection).
    fd = await promisify(openFd)(target, flags | fs.constants.O_NOFOLLOW, mode);
  } catch (e) {
    const err = fromNodeError(e, 'open', JSON.stringify(target), { dir, path: relPath });
    throw err.details?.errno === ELOOP ? pathInvalid(err) : err;
  }
  // Post-check closes most of the race above: where did we actually land?
  try {
    const [real, root] = await Promise.all([fs.readlink(`/proc/self/fd/${fd}`), fs.realpath(dir)]);
    if (!real.startsWith(root.endsWith(sep) ? root : root + sep)) {
      closeSync(fd);
      throw new WraithError('E_PATH_INVALID', `${JSON.stringify(relPath)} resolved outside ${JSON.stringify(dir)}`, { dir, path: relPath, resolved: real });
    }
  } catch (e) {
    if (e instanceof WraithError) throw e;
    // /proc unavailable: keep the lstat/O_NOFOLLOW guarantees only.
  }
  return fd;
}

/** ELOOP from path resolution means a symlink was in the way: a bad received path. */
function pathInvalid(e: WraithError): WraithError {
  return new WraithError('E_PATH_INVALID', e.message, { ...e.details }, 'the path contains a symbolic link, which receives never follow');
}

/** Renames `from` to `to`, failing with E_EXISTS when `to` exists. */
export async function renameNoReplace(from: string, to: string): Promise<void> {
  if (fsNative) {
    const c = fsNative.fsConstants;
    try {
      fsNative.fsRenameat2(c.AT_FDCWD, from, c.AT_FDCWD, to, c.RENAME_NOREPLACE);
      return;
    } catch (e) {
      // EINVAL: this filesystem has no RENAME_NOREPLACE; ENOSYS: kernel < 3.15.
      const errno = (e as { errno?: number }).errno;
      if (errno !== EINVAL && errno !== 38) throw fromNativeError(e, { from, to });
    }
  }
  await renameNoReplaceFallback(from, to);
}

/** link() + unlink(): the portable path of renameNoReplace (exported for tests). */
export async function renameNoReplaceFallback(from: string, to: string): Promise<void> {
  await fs.link(from, to).catch((e: unknown) => {
    throw fromNodeError(e, 'link', `${JSON.stringify(from)}, ${JSON.stringify(to)}`, { from, to });
  });
  await fs.unlink(from).catch((e: unknown) => {
    throw fromNodeError(e, 'unlink', JSON.stringify(from), { from, to });
  });
}
