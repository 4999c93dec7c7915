/**
 * One daemon per home: a flock on <home>/run (with the addon) and <home>/daemon.lock, which holds
 * {pid, start, host} of the holder. One receiver per download directory: a flock on the
 * directory itself (lockDownloadDir).
 *
 * The lock file is written complete to a private temp file and then link(2)ed into place, which
 * fails with EEXIST like O_EXCL does but never exposes a half-written lock. A lock whose pid is
 * dead (process.kill(pid, 0) -> ESRCH, or a zombie), or alive but started at another time (pid
 * reused, read from /proc/<pid>/stat), is stale: it is renamed aside and the rename is checked to have taken
 * the stale file and not a fresh one written meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, readFileSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { link, mkdir, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { WraithError } from '@wraith/core';
import { lockDirectory } from '@wraith/io-uring';
import { fsError, homeWriteError, makeDirsSync, writeFileExclusive } from '../fsutil.js';
import type { Home } from './home.js';
import { commandOf } from '../proc-command.js';

export interface LockHolder {
  readonly pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22), when known. */
  readonly start: string | null;
  readonly host: string;
}

export interface DaemonLock {
  readonly file: string;
  readonly holder: LockHolder;
  release(): Promise<void>;
  /** For process 'exit' handlers, where nothing async runs. */
  releaseSync(): void;
}

/** Fields 3 on of /proc/<pid>/stat, or null where /proc is unavailable. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields after it are plain.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The start time of a process, or null where /proc is unavailable. */
export function processStartTime(pid: number): string | null {
  return procStat(pid)?.[19] ?? null; // field 22 overall
}

/**
 * A zombie (killed, not yet reaped: a container's init may take its time) or dying process
 * answers kill(pid, 0) but holds nothing any more.
 */
function processExited(pid: number): boolean {
  const state = procStat(pid)?.[0]; // field 3
  return state === 'Z' || state === 'X';
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0) return null;
    return { pid: v.pid, start: typeof v.start === 'string' ? v.start : null, host: typeof v.host === 'string' ? v.host : '' };
  } catch {
    return null;
  }
}

/** A holder on another host, whose pid this host cannot check. */
function onOtherHost(h: LockHolder): boolean {
  return h.host !== '' && h.host !== hostname();
}

/** Whether the holder still runs. A lock from another host cannot be checked: assume it does. */
export function holderAlive(h: LockHolder): boolean {
  if (onOtherHost(h)) return true;
  if (!isProcessAlive(h.pid) || processExited(h.pid)) return false;
  if (h.start !== null) {
    const now = processStartTime(h.pid);
    if (now !== null && now !== h.start) return false; // the pid was reused
  }
  return true;
}

export async function readLockHolder(file: string): Promise<{ raw: string; holder: LockHolder | null } | null> {
  try {
    const raw = await readFile(file, 'utf8');
    return { raw, holder: parseHolder(raw) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

const rand = (): string => randomBytes(6).toString('hex');

/** The home's flock: the lock fd, 'held' by another process, or null (no addon, or no flock there). */
function flockHome(dir: string): number | 'held' | null {
  try {
    const got = lockDirectory(dir);
    if (got === null) return null;
    return got.held ? 'held' : got.fd;
  } catch {
    return null; // a file system without flock on directories: the pid file alone decides
  }
}

/** `flockHeld`: the home's flock is held, so removing the file would not help. */
function lockedError(home: Home, h: LockHolder | null, pid: number | null, flockHeld: boolean): WraithError {
  const file = home.lockFile;
  const foreign = h !== null && onOtherHost(h);
  const who = h !== null ? `pid ${h.pid}${foreign ? ` on ${h.host}` : ''}` : pid !== null ? `pid ${pid}` : 'another process';
  return new WraithError(
    'E_HOME_LOCKED',
    `home ${home.dir} is in use by a daemon (${who})`,
    { path: file, pid: h?.pid ?? pid, host: h?.host ?? hostname() },
    // Without the flock its pid cannot be checked from here, so such a lock stays until removed:
    // a container replaced after a crash (a new host name, the same volume) leaves one behind.
    foreign && !flockHeld ? `the lock was taken on host ${h.host}, whose processes this host cannot check; if wraith no longer runs there (a container replaced after a crash), delete ${file}` : undefined,
  );
}

/**
 * With the addon a flock on the home's run/ decides: the kernel drops it with its process, on
 * this host or (on a shared file system that propagates flocks) another, so a lock file whose
 * holder died anywhere is stale once the flock is ours. daemon.lock then only names the holder;
 * a live holder on this host without the flock (a node without the addon) still counts.
 */
export async function acquireDaemonLock(home: Home): Promise<DaemonLock> {
  const file = home.lockFile;
  // run/, not the home itself, which a download_dir set to the home would meet.
  await mkdir(home.runDir, { mode: 0o700 }).catch(() => undefined);
  const flock = flockHome(home.runDir);
  if (flock === 'held') {
    const st = statSync(home.runDir);
    // The file names the holder unless it is a dead one's leftover; /proc/locks knows the pid.
    const named = (await readLockHolder(file).catch(() => null))?.holder ?? null;
    throw lockedError(home, named !== null && holderAlive(named) ? named : null, flockHolder(st.dev, st.ino), true);
  }
  try {
    return await takeLockFile(home, flock);
  } catch (e) {
    if (typeof flock === 'number') closeSync(flock);
    throw e;
  }
}

async function takeLockFile(home: Home, flockFd: number | null): Promise<DaemonLock> {
  const flocked = flockFd !== null;
  const file = home.lockFile;
  const holder: LockHolder = { pid: process.pid, start: processStartTime(process.pid), host: hostname() };
  const mine = `${JSON.stringify(holder)}\n`;
  const ioFail = (e: unknown): WraithError => homeWriteError('cannot take', file, e);
  const live = (h: LockHolder): boolean => !(flocked && onOtherHost(h)) && holderAlive(h);

  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      await writeFileExclusive(file, mine);
      return makeLock(file, holder, mine, flockFd);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioFail(e);
    }

    const current = await readLockHolder(file);
    if (current === null) continue; // released meanwhile
    if (current.holder !== null && live(current.holder)) throw lockedError(home, current.holder, null, false);
    // Stale (dead holder, reused pid, or unreadable content): move it aside, then make sure
    // what we moved is what we judged stale.
    const aside = `${file}.stale.${process.pid}.${rand()}`;
    try {
      await rename(file, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw ioFail(e);
    }
    const moved = await readFile(aside, 'utf8').catch(() => null);
    if (moved !== null && moved !== current.raw) {
      // Another process replaced the stale lock between our read and rename: give it back.
      await link(aside, file).catch(() => undefined);
    }
    await unlink(aside).catch(() => undefined);
  }
  throw new WraithError('E_HOME_LOCKED', `could not take ${file}: it keeps changing`, { path: file },
    'another wraith is starting on this home; retry, or pass another --home');
}

function makeLock(file: string, holder: LockHolder, mine: string, flockFd: number | null): DaemonLock {
  let released = false;
  const ours = (raw: string | null): boolean => raw === mine;
  // After the file: a daemon starting meanwhile then finds no file of ours to judge.
  const unflock = (): void => {
    if (flockFd !== null) closeSync(flockFd);
  };
  return {
    file,
    holder,
    async release() {
      if (released) return;
      released = true;
      const current = await readFile(file, 'utf8').catch(() => null);
      if (ours(current)) await unlink(file).catch(() => undefined);
      unflock();
    },
    releaseSync() {
      if (released) return;
      released = true;
      let current: string | null = null;
      try {
        current = readFileSync(file, 'utf8');
      } catch {
        // gone
      }
      if (ours(current)) {
        try {
          unlinkSync(file);
        } catch {
          // already gone
        }
      }
      unflock();
    },
  };
}

/**
 * The pid holding a flock on the file (dev, ino), from /proc/locks ("1: FLOCK ADVISORY WRITE
 * <pid> <maj>:<min>:<ino> 0 EOF", major and minor in hex), or null where unknown.
 */
export function flockHolder(dev: number, ino: number, locks?: string): number | null {
  let text = locks;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/locks', 'utf8');
    } catch {
      return null;
    }
  }
  // glibc's major()/minor() of a 64-bit dev_t.
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'FLOCK' || f[0]?.endsWith(':') !== true) continue; // "->" lines are waiters
    const [ma, mi, in_] = (f[5] ?? '').split(':');
    if (parseInt(ma ?? '', 16) === major && parseInt(mi ?? '', 16) === minor && Number(in_) === ino) {
      const pid = Number(f[4]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    }
  }
  return null;
}

export interface DownloadDirLock {
  /** The directory locked, or null (nothing then refuses a second receiver). */
  readonly dir: string | null;
  /** Why there is no lock, where that deserves a warning (not for a missing addon). */
  readonly skipped?: string;
  /**
   * Whether the lock is still on the directory at its path. One removed and made again (rm -rf
   * and mkdir, or another receiver's start) is a new inode that the old lock does not cover:
   * the lock moves to it ('moved'), or E_DOWNLOAD_DIR_LOCKED is thrown when another process
   * locked it first. 'gone': nothing there now; not made again here (after a lazy unmount it
   * would be made on the file system below).
   */
  recheck(): 'same' | 'moved' | 'gone';
  release(): void;
}

/**
 * Creates the download directory (0700, as the store does) and takes an exclusive flock on it:
 * two receivers there, whatever their homes, would take each other's partials (one content,
 * one partial name) and sweep each other's. The lock is on the directory's inode, so another
 * path to it (a symlink, a bind mount, another container's mount) meets it, and nothing is
 * written into it. Held for the process's life, it also keeps the file system from being
 * unmounted beneath the receiver (whose files would then land on the mount point).
 * Where it cannot be taken, `skipped` says why and the receiver runs without it.
 */
export function lockDownloadDir(dir: string): DownloadDirLock {
  try {
    makeDirsSync(dir, 0o700);
  } catch (e) {
    throw fsError('mkdir', dir, e);
  }
  let got;
  try {
    got = lockDirectory(dir);
  } catch (e) {
    // A directory this user may write but not read (mode 0733), or a file system without
    // flock on directories (NFS emulates it with POSIX locks, which need write access): a
    // receiver that does not start would help nobody.
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return { dir: null, skipped: `it cannot be locked here (${why})`, recheck: () => 'same', release: () => undefined };
  }
  if (got === null) return { dir: null, recheck: () => 'same', release: () => undefined };
  if (got.held) throw dirLocked(dir);
  let fd = got.fd;
  let open = true;
  // The store writes beneath the path as resolved at start (a symlink re-pointed later does not
  // move it): the lock follows that path, not the configured one.
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    // gone already: the first recheck says so
  }
  return {
    dir,
    recheck() {
      if (!open) return 'same';
      let now;
      try {
        now = statSync(real);
      } catch {
        return 'gone';
      }
      const held = fstatSync(fd);
      if (now.ino === held.ino && now.dev === held.dev) return 'same';
      const next = lockDirectory(real);
      if (next === null) return 'same';
      if (next.held) throw dirLocked(real);
      closeSync(fd);
      fd = next.fd;
      return 'moved';
    },
    release() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}

function dirLocked(dir: string): WraithError {
  const st = statSync(dir);
  const pid = flockHolder(st.dev, st.ino);
  const who = pid === null ? 'another process' : `another process (pid ${pid}${commandOf(pid)})`;
  const real = realpathSync(dir);
  const shown = real === dir ? dir : `${dir} (${real})`;
  return new WraithError('E_DOWNLOAD_DIR_LOCKED', `download directory ${shown} is in use by ${who}: one wraith receiver at a time may receive into it`, { path: dir, pid });
}
