/**
 * Every file operation of the store stays beneath the download directory and never follows a
 * symlink. The portable way (used here) checks each component with lstat and opens with
 * O_NOFOLLOW, then confirms through /proc/self/fd where the fd really points. That leaves a race
 * window for someone who can write inside the download directory; the addon's
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) closes it and is injected as `opener` (and
 * `mkdirNative` creates directories relative to a parent opened that way).
 */
import { constants } from 'node:fs';
import { lstat, mkdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { WraithError } from '@wraith/core';
import { noSpaceCause } from '../fsutil.js';
import { fdClose, fdOpen } from './fdio.js';

/** Opens `rel` (components joined by "/") under `root`; resolves to an fd. */
export type BeneathOpener = (root: string, rel: string, flags: number, mode: number) => Promise<number>;

/**
 * lstat of `rel` under `root` with no symlink followed on the way (nor the last component):
 * null when it does not exist; throws when a symlink, an escape or a non-directory is in the
 * way. The addon's openat2(O_PATH) gives this in one step; a failure sends the caller to the
 * component walk, which names the problem.
 */
export type BeneathLstat = (root: string, rel: string) => Promise<Stats | null>;

/**
 * mkdir of `name` in `dir` (relative to `root`, '' for root) with that directory opened beneath
 * root, no symlink followed: node-style errors (EEXIST, ELOOP, EXDEV, ...).
 */
export type BeneathMkdir = (root: string, dir: string, name: string, mode: number) => Promise<void>;

function refused(rel: string, why: string): WraithError {
  return new WraithError('E_PATH_INVALID', `received name ${JSON.stringify(rel)} refused: ${why}`, { name: rel });
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export class Beneath {
  /** `root` must already be a real path (no symlinks in it). */
  constructor(
    readonly root: string,
    private readonly opener: BeneathOpener | null = null,
    private readonly lstatNative: BeneathLstat | null = null,
    private readonly mkdirNative: BeneathMkdir | null = null,
  ) {}

  /** mkdirs in flight by relative path: files of one new directory arriving together share one. */
  private readonly making = new Map<string, Promise<string>>();

  /** The one-step lstat when there is one and it succeeds; undefined: walk instead. */
  private async quickLstat(parts: readonly string[]): Promise<Stats | null | undefined> {
    if (this.lstatNative === null || parts.length === 0) return undefined;
    try {
      return await this.lstatNative(this.root, parts.join('/'));
    } catch {
      return undefined; // the walk says what is wrong (or finds it fixed meanwhile)
    }
  }

  abs(parts: readonly string[]): string {
    return join(this.root, ...parts);
  }

  /** Checks that every directory component of `parts` (all but the last) is a real directory. */
  async checkParents(parts: readonly string[]): Promise<void> {
    if ((await this.quickLstat(parts.slice(0, -1)))?.isDirectory() === true) return;
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      dir = join(dir, parts[i]!);
      const st = await lstatOrNull(dir);
      if (st === null) throw new WraithError('E_NOT_FOUND', `${dir} does not exist`, { path: dir });
      if (st.isSymbolicLink()) throw refused(parts.join('/'), `${parts.slice(0, i + 1).join('/')} is a symlink (not followed)`);
      if (!st.isDirectory()) {
        const shown = parts.slice(0, i + 1).join('/');
        throw new WraithError('E_EXISTS', `${shown} exists and is not a directory`, { name: shown },
          'remove or rename it in the download directory');
      }
    }
  }

  /**
   * Creates the directories `parts` (every component) under root with `mode`, refusing any
   * existing component that is a symlink or not a directory. Returns the absolute path.
   */
  /** Called with the directory a new one was made in, before mkdirs returns (the store fsyncs it). */
  onMade: ((parentAbs: string) => Promise<void>) | null = null;

  mkdirs(parts: readonly string[], mode = 0o700): Promise<string> {
    const rel = parts.join('/');
    let p = this.making.get(rel);
    if (p === undefined) {
      // Every waiter gets the same outcome, a failure included; the next call starts afresh.
      p = this.mkdirsOnce(parts, mode).finally(() => this.making.delete(rel));
      this.making.set(rel, p);
    }
    return p;
  }

  private async mkdirsOnce(parts: readonly string[], mode: number): Promise<string> {
    if ((await this.quickLstat(parts))?.isDirectory() === true) return this.abs(parts);
    let dir = this.root;
    const madeIn: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const parent = dir;
      dir = join(dir, parts[i]!);
      let st = await lstatOrNull(dir);
      if (st === null) {
        try {
          if (this.mkdirNative === null) await mkdir(dir, { mode });
          else await this.mkdirNative(this.root, parts.slice(0, i).join('/'), parts[i]!, mode);
          madeIn.push(parent);
          continue;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          // A parent checked above was swapped for a symlink since: the kernel refused it.
          if (code === 'ELOOP' || code === 'EXDEV') throw refused(parts.join('/'), 'it resolves through a symlink or outside the download directory');
          if (code !== 'EEXIST') throw ioError('mkdir', dir, e);
          st = await lstatOrNull(dir);
        }
      }
      const shown = parts.slice(0, i + 1).join('/');
      if (st === null || st.isSymbolicLink()) throw refused(parts.join('/'), `${shown} is a symlink (not followed)`);
      if (!st.isDirectory()) {
        throw new WraithError('E_EXISTS', `${shown} exists and is not a directory`, { name: shown },
          'remove or rename it in the download directory');
      }
    }
    // A file installed in a new directory is only as durable as that directory's own entry.
    if (this.onMade !== null) await Promise.all(madeIn.map(this.onMade));
    return dir;
  }

  /** Opens `parts` under root without following symlinks; returns an fd. */
  async open(parts: readonly string[], flags: number, mode = 0o600): Promise<number> {
    const rel = parts.join('/');
    if (this.opener !== null) {
      try {
        return await this.opener(this.root, rel, flags, mode);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ELOOP' || code === 'EXDEV') throw refused(rel, 'it resolves through a symlink or outside the download directory');
        throw e;
      }
    }
    await this.checkParents(parts);
    let fd: number;
    try {
      fd = await fdOpen(this.abs(parts), flags | constants.O_NOFOLLOW, mode);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // O_NOFOLLOW on a symlink fails with ELOOP, or ENOTDIR when O_DIRECTORY is also set.
      if (code === 'ELOOP' || code === 'ENOTDIR') {
        const st = await lstatOrNull(this.abs(parts));
        if (st?.isSymbolicLink()) throw refused(rel, `${rel} is a symlink (not followed)`);
      }
      throw e;
    }
    // A component may have been swapped for a symlink after the lstat: check where we landed.
    const real = await readlink(`/proc/self/fd/${fd}`).catch(() => null);
    if (real !== null && !real.startsWith(this.root + sep)) {
      await fdClose(fd);
      throw refused(rel, `it resolved outside the download directory (${real})`);
    }
    return fd;
  }

  async lstat(parts: readonly string[]): Promise<Stats | null> {
    const quick = await this.quickLstat(parts);
    if (quick !== undefined) return quick;
    await this.checkParents(parts);
    return lstatOrNull(this.abs(parts));
  }
}

export function ioError(op: string, path: string, e: unknown): WraithError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new WraithError('E_NO_SPACE', `${op}(${path}): ${noSpaceCause(path, code).text} (${code})`, { path });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new WraithError('E_PERMISSION', `${op}(${path}): ${(e as Error).message}`, { path });
  }
  if (code === 'EROFS') {
    // receiverWide: every other file would meet it too, so the session ends with it (incoming.ts).
    return new WraithError('E_PERMISSION', `${op}(${path}): the receiver's file system is mounted read-only (EROFS)`, { path, errnoName: code, receiverWide: true },
      'remount it read-write (one that went read-only after an error: see the kernel log, fsck first)');
  }
  if (code === 'EMFILE' || code === 'ENFILE') {
    return new WraithError('E_IO', `${op}(${path}): the receiver has too many files open (${code})`, { path, errno: code },
      "raise the receiver's open-files limit (LimitNOFILE= in its systemd unit, ulimit -n)");
  }
  return new WraithError('E_IO', `${op}(${path}): ${(e as Error).message}`, { path, errno: code });
}
