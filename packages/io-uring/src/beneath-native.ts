/**
 * The file store's seams over the addon, with numeric open(2) flags and node:fs-style errors
 * (`code` 'ELOOP', 'EEXIST', ...; negative `errno`), so a caller handles them as it handles
 * node:fs errors:
 * - open: openat2(root, rel, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). The kernel refuses any
 *   symlink and any escape from root in one step, where the portable path checks components
 *   with lstat first (racy) and costs a thread-pool round trip per component;
 * - lstat: the same openat2 with O_PATH | O_NOFOLLOW, then fstat: one step where the portable
 *   path lstats every component;
 * - renameNoReplace: renameat2(RENAME_NOREPLACE), or link + unlink where the file system has
 *   no such flag;
 * - renameBeneath, unlinkBeneath, mkdirBeneath: renameat2, unlinkat, mkdirat on one name in a
 *   directory opened beneath root: a parent swapped for a symlink after the store's checks
 *   cannot send them to a file or directory of the same name elsewhere (by path it could).
 * All are synchronous syscalls on the caller's thread (metadata only: microseconds locally).
 */
import { link, unlink } from 'node:fs/promises';
import { closeSync, fstatSync, type Stats } from 'node:fs';
import { errnoName } from './errno.js';
import { fsNative } from './native.js';

export interface NativeBeneath {
  open(root: string, rel: string, flags: number, mode: number): Promise<number>;
  /** lstat of rel under root, no symlink followed (nor rel itself); null when it does not exist. */
  lstat(root: string, rel: string): Promise<Stats | null>;
  renameNoReplace(from: string, to: string): Promise<void>;
  /**
   * renameat2 of `from` to `to`, names in the directory `dir` under root ('' for root), with that
   * directory opened beneath root (openat2, no symlinks): nothing on the way can be swapped for
   * a symlink between a check and the rename. RENAME_NOREPLACE with `noReplace`.
   */
  renameBeneath(root: string, dir: string, from: string, to: string, noReplace: boolean): Promise<void>;
  /** unlinkat of the file `name` in `dir` under root ('' for root), opened as renameBeneath does. */
  unlinkBeneath(root: string, dir: string, name: string): Promise<void>;
  /** mkdirat of `name` in `dir` under root, opened likewise; `mode` less the umask, as mkdir(2). */
  mkdirBeneath(root: string, dir: string, name: string, mode: number): Promise<void>;
}

const ENOSYS = 38;
const ENOENT = 2;
const EINVAL = 22;

/** A native error (positive errno) as a node:fs-style one. */
function nodeStyle(e: unknown, syscall: string, path: string): Error {
  const errno = (e as { errno?: unknown }).errno;
  if (typeof errno !== 'number') return e as Error;
  const code = errnoName(errno);
  return Object.assign(new Error(`${code}: ${(e as Error).message}`), { code, errno: -errno, syscall, path });
}

/** A name inside a directory fd must be one component: 'a/b' would resolve 'a' by path again. */
function oneName(name: string, syscall: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) {
    throw Object.assign(new Error(`EINVAL: ${JSON.stringify(name)} is not a single file name`), { code: 'EINVAL', errno: -EINVAL, syscall, path: name });
  }
}

/** The seams, or null without the addon or where openat2 is missing (Linux < 5.6). */
export function nativeBeneath(root: string): NativeBeneath | null {
  const n = fsNative;
  if (n === null) return null;
  const c = n.fsConstants;
  try {
    closeSync(n.fsOpenat2(c.AT_FDCWD, root, c.O_PATH | c.O_DIRECTORY, 0, 0));
  } catch (e) {
    if ((e as { errno?: unknown }).errno === ENOSYS) return null;
    // Anything else (a missing directory) is the caller's to report when it uses it.
  }
  const BENEATH = c.RESOLVE_BENEATH | c.RESOLVE_NO_SYMLINKS;
  /**
   * `rel` opened beneath `dir` (openat2), the root's own fd closed again; node-style errors, or
   * with `quiet` -errno for a failure of `rel` itself (no Error built).
   */
  const openUnder = (dir: string, rel: string, flags: number, mode: number, quiet = false): number => {
    let rootfd: number;
    try {
      rootfd = n.fsOpenat2(c.AT_FDCWD, dir, c.O_PATH | c.O_DIRECTORY, 0, 0);
    } catch (e) {
      throw nodeStyle(e, 'openat2', dir);
    }
    try {
      return n.fsOpenat2(rootfd, rel === '' ? '.' : rel, flags, mode, BENEATH, quiet);
    } catch (e) {
      throw nodeStyle(e, 'openat2', rel);
    } finally {
      closeSync(rootfd);
    }
  };
  /** `op` on the fd of `dir` opened beneath root (no symlinks), always closed again. */
  const inDir = (root: string, dir: string, name: string, syscall: string, op: (dfd: number) => void): void => {
    oneName(name, syscall);
    const dfd = openUnder(root, dir, c.O_PATH | c.O_DIRECTORY, 0);
    try {
      op(dfd);
    } catch (e) {
      throw nodeStyle(e, syscall, dir === '' ? name : `${dir}/${name}`);
    } finally {
      closeSync(dfd);
    }
  };
  return {
    open: async (dir, rel, flags, mode) => openUnder(dir, rel, flags, mode),
    lstat: async (dir, rel) => {
      // Quiet: most names a receiver checks do not exist yet, and a thrown Error per file (its
      // stack captured twice) cost more than the syscalls.
      const fd = openUnder(dir, rel, c.O_PATH | c.O_NOFOLLOW, 0, true);
      if (fd === -ENOENT) return null;
      if (fd < 0) {
        const code = errnoName(-fd);
        throw Object.assign(new Error(`${code}: openat2(${JSON.stringify(rel)})`), { code, errno: fd, syscall: 'openat2', path: rel });
      }
      try {
        return fstatSync(fd);
      } finally {
        closeSync(fd);
      }
    },
    renameBeneath: async (dir, rel, from, to, noReplace) => {
      const dfd = openUnder(dir, rel, c.O_PATH | c.O_DIRECTORY, 0);
      try {
        n.fsRenameat2(dfd, from, dfd, to, noReplace ? c.RENAME_NOREPLACE : 0);
      } catch (e) {
        throw nodeStyle(e, 'renameat2', to);
      } finally {
        closeSync(dfd);
      }
    },
    unlinkBeneath: async (root, dir, name) => inDir(root, dir, name, 'unlinkat', (dfd) => n.fsUnlinkat(dfd, name, 0)),
    mkdirBeneath: async (root, dir, name, mode) => inDir(root, dir, name, 'mkdirat', (dfd) => n.fsMkdirat(dfd, name, mode)),
    renameNoReplace: async (from, to) => {
      try {
        n.fsRenameat2(c.AT_FDCWD, from, c.AT_FDCWD, to, c.RENAME_NOREPLACE);
        return;
      } catch (e) {
        // EINVAL: this file system has no RENAME_NOREPLACE; link + unlink never replaces either.
        if ((e as { errno?: unknown }).errno !== EINVAL) throw nodeStyle(e, 'renameat2', to);
      }
      await link(from, to);
      await unlink(from);
    },
  };
}
