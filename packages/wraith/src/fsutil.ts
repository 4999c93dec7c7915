/** Small durable-write helpers shared by the home, the store and resume state. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, statfsSync } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { WraithError } from '@wraith/core';

/**
 * mkdir -p, one missing component at a time. Node's recursive mkdir never returns where a
 * parent exists but the child cannot be made and the kernel says ENOENT (a path under /proc):
 * `--output /proc/x` spun a daemon at full CPU, deaf to SIGTERM. Errors are Node-style;
 * a component that is not a directory gives ENOTDIR naming it.
 */
export function makeDirsSync(dir: string, mode: number): void {
  const missing: string[] = [];
  for (let p = resolve(dir); ; ) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      // ENOTDIR: a component above is a file; going up finds it and names it.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      missing.push(p);
      if (dirname(p) === p) break;
      p = dirname(p);
      continue;
    }
    if (!st.isDirectory()) throw Object.assign(new Error(`${p} exists and is not a directory`), { code: 'ENOTDIR', path: p });
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode });
    } catch (e) {
      // Made meanwhile by someone else: fine if it is a directory.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw e;
    }
  }
}

/** fsync a directory so a rename, link or unlink in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Directory fsyncs shared between callers (group commit): one that arrives while an fsync of
 * the same directory runs waits for the next one, which all such arrivals share. Each caller's
 * rename is covered, since the fsync it gets began after it asked.
 */
export class DirSyncer {
  private readonly slots = new Map<string, { running: Promise<void>; queued: Promise<void> | null }>();

  constructor(private readonly fsync: (dir: string) => Promise<void> = fsyncDir) {}

  sync(dir: string): Promise<void> {
    const slot = this.slots.get(dir);
    if (slot === undefined) return this.start(dir);
    slot.queued ??= slot.running.then(noop, noop).then(() => this.start(dir));
    return slot.queued;
  }

  private start(dir: string): Promise<void> {
    const slot: { running: Promise<void>; queued: Promise<void> | null } = { running: Promise.resolve(), queued: null };
    slot.running = this.fsync(dir).finally(() => {
      if (this.slots.get(dir) === slot && slot.queued === null) this.slots.delete(dir);
    });
    this.slots.set(dir, slot);
    return slot.running;
  }
}

const noop = (): void => undefined;

/** Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(path));
}

/**
 * Creates `path` holding `data`, or fails with EEXIST. It never leaves the file empty or cut
 * short (a full disk, a crash): the data is written and synced to a temp file that is then
 * link(2)ed into place, and the temp file is removed whatever happens.
 */
export async function writeFileExclusive(path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.chmod(mode); // whatever the umask
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, path);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** A failed write of a file in the node's home (lock, key, token), e.g. "cannot write PATH: …". */
export function homeWriteError(what: string, path: string, e: unknown): WraithError {
  return errnoError(`${what} ${path}`, path, e);
}

/** The process's umask, read without setting it (process.umask() with no argument is deprecated). */
export function processUmask(): number {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return parseInt(m[1]!, 8);
  } catch {
    // no procfs: ask Node
  }
  return process.umask();
}

/**
 * What ENOSPC or EDQUOT on `path` means: a file system out of inodes also says ENOSPC, and
 * "no space left" sent operators to `df -h`, which showed plenty. statfs of the nearest
 * existing directory above tells the two apart.
 */
export function noSpaceCause(path: string, code: string | undefined): { text: string; remedy: string } {
  if (code === 'EDQUOT') return { text: "the user's disk quota is used up", remedy: 'free some of the quota, or raise it, on' };
  for (let p = dirname(resolve(path)); ; p = dirname(p)) {
    try {
      const st = statfsSync(p);
      // Some file systems (btrfs) report 0 inodes in all: those never run out of them.
      if (st.files > 0 && st.ffree === 0) {
        return { text: `no free inodes left on its file system (all ${st.files} are in use; free bytes do not help)`, remedy: 'remove files on' };
      }
      break;
    } catch {
      if (dirname(p) === p) break;
    }
  }
  return { text: 'no space left on its file system', remedy: 'free space on' };
}

/** A failed call on `path` as a WraithError with a stable code and the path named once. */
export function fsError(op: string, path: string, e: unknown): WraithError {
  return errnoError(`${op}(${path})`, path, e);
}

/** The one errno → error code mapping; `what` says which call on which path failed. */
function errnoError(what: string, path: string, e: unknown): WraithError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new WraithError('E_NOT_FOUND', `${path}: no such file or directory`, { path });
  if (code === 'EACCES' || code === 'EPERM') return new WraithError('E_PERMISSION', `${what}: permission denied`, { path });
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const cause = noSpaceCause(path, code);
    return new WraithError('E_NO_SPACE', `${what}: ${cause.text} (${code})`, { path }, `${cause.remedy} the file system that holds ${dirname(path)}`);
  }
  if (code === 'ENAMETOOLONG') {
    return new WraithError('E_IO', `${path}: the path is longer than this system allows (ENAMETOOLONG)`, { path },
      'send the deep part from a directory nearer to it');
  }
  // Node's message ends with the call and the path again.
  return new WraithError('E_IO', `${what}: ${(e as Error).message.replace(/, \w+ '[^]*'$/, '')}`, { path });
}
