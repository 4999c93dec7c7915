/**
 * The send-side directory walker: turns the PATH arguments of `wraith send` into a lazy stream
 * of regular files and directories with relative names ("dir/sub/file"), mode and mtime.
 *
 * - Symlinks are skipped with a warning, unless followSymlinks; then loops (a link to an
 *   ancestor, by dev:ino) are skipped with a warning. A PATH argument that is itself a symlink
 *   is always followed: it was named explicitly.
 * - FIFOs, devices and sockets are skipped with a warning, and so are files and directories on
 *   kernel pseudo file systems (/proc, /sys, ...), whose sizes do not say what they hold.
 * - A name the receiver would refuse (not UTF-8, control characters, ...) is not skipped: it
 *   fails like an unreadable entry, so that a send that left a file behind does not exit 0.
 * - mode keeps the permission bits only (setuid, setgid and sticky are stripped).
 * - Empty files and empty directories are included; entries come in name order.
 */
import { fstatSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import { lstat, opendir, stat } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import { WraithError } from '@wraith/core';
import { fsKinds, type FsKindOf } from './fs-kind.js';
import { fsError } from './fsutil.js';
import { nameRefusal } from './store/names.js';
import type { Excludes } from './exclude.js';

export interface WalkEntry {
  readonly kind: 'file' | 'dir';
  /** Absolute path on this machine. */
  readonly path: string;
  /** Name sent to the receiver: the PATH argument's base name, then "/"-joined components. */
  readonly name: string;
  /** Bytes (0 for directories). */
  readonly size: number;
  /** Permission bits (& 0o777). */
  readonly mode: number;
  readonly mtimeMs: number;
  readonly dev: number;
  readonly ino: number;
}

export type WalkWarningReason = 'symlink' | 'dangling_symlink' | 'loop' | 'special' | 'vanished' | 'new';

export interface WalkWarning {
  readonly path: string;
  readonly reason: WalkWarningReason;
  readonly message: string;
}

export interface WalkOptions {
  readonly followSymlinks?: boolean;
  readonly onWarning?: (w: WalkWarning) => void;
  /**
   * A directory or entry below a PATH that cannot be sent: it cannot be read (permission
   * denied, a path too long, an I/O error), or its name is one the receiver refuses
   * (E_PATH_INVALID). Reported here and skipped, the walk goes on. `name` ends in "/" for a
   * directory. Without it the walk throws.
   */
  readonly onUnsendable?: (path: string, name: string, err: WraithError) => void;
  /**
   * Leave out what was created after this (ms since the epoch, by birth time, on local file
   * systems): a send takes the tree as it was when it began. A tree that receives the send
   * itself (a daemon's download directory inside it) grew under it while it was walked.
   */
  readonly bornBefore?: number;
  /** A directory the names go under ("backups" makes "data/x" "backups/data/x"), from parseDest. */
  readonly under?: string;
  /** What is left out, silently (--exclude): matched against the path below each PATH. */
  readonly exclude?: Excludes;
  /** --relative: a PATH is named by the path given (rootName), not by its base name. */
  readonly relative?: boolean;
  /**
   * --files-from: paths sent as themselves, after the PATHs: a directory alone (made on the
   * receiver), not its contents; named as with `relative`, taken as entries of a tree are (a
   * symlink followed only with followSymlinks, a FIFO skipped, one that cannot be read failed
   * through onUnsendable) and matched against `exclude` by that name. Repeats are sent once.
   */
  readonly listed?: readonly string[];
  /** @internal Read every directory through the thread pool, as on a network file system. */
  readonly threadPoolOnly?: boolean;
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Why a PATH named on the command line cannot be sent at all (a device, a FIFO, a socket, a
 * kernel pseudo file system, a name the receiver refuses), or null. Inside a directory such entries are skipped with a
 * warning; named alone, skipping them made `wraith send /dev/sdb` "succeed" with nothing sent.
 */
export async function unsendablePath(path: string, st: Stats, relative = false, fsKind: FsKindOf = fsKinds()): Promise<WraithError | null> {
  if (st.isFile() || st.isDirectory()) {
    const kind = await fsKind(path, st.dev);
    if (typeof kind !== 'object') {
      const refused = unsendableName(path, rootName(path, relative));
      return refused === null ? null : new WraithError('E_USAGE', refused.message, { ...refused.details }, refused.hint);
    }
    return new WraithError('E_USAGE', `${path} is on ${kind.pseudo}, whose files have no fixed size: wraith sends regular files and directories`, { path },
      'copy what you need to a regular file first');
  }
  return new WraithError('E_USAGE', `${path} is ${kindOf(st)}: wraith sends regular files and directories`, { path },
    st.isBlockDevice() || st.isCharacterDevice() ? 'copy it to a regular file first (for a disk: dd if=DEVICE of=FILE)' : 'copy its data to a regular file first');
}

function entry(kind: 'file' | 'dir', path: string, name: string, st: Stats): WalkEntry {
  return {
    kind,
    path,
    name,
    size: kind === 'file' ? st.size : 0,
    mode: st.mode & 0o777,
    mtimeMs: st.mtimeMs,
    dev: st.dev,
    ino: st.ino,
  };
}

/**
 * E_PATH_INVALID when the receiver would refuse `rel` as a name, else null. Only rename helps:
 * the name itself is what the receiver turns away.
 */
export function unsendableName(path: string, rel: string): WraithError | null {
  const why = nameRefusal(rel);
  return why === null ? null : nameRefused(path, rel, why);
}

function nameRefused(path: string, rel: string, why: string): WraithError {
  return new WraithError('E_PATH_INVALID', `${path}: the name ${JSON.stringify(rel)} cannot be sent: ${why}`, { path, name: rel },
    why.includes('UTF-8') ? 'rename it (convmv converts names to UTF-8) and send it again' : 'rename it and send it again');
}

/** Children of a directory lstat-ed at once. */
const LSTAT_BATCH = 32;

const pseudoSkip = (path: string, kind: { pseudo: string }, dir: boolean): string =>
  `${path} is on ${kind.pseudo}, whose files have no fixed size: skipped${dir ? ' with its contents (copy what you need to regular files first)' : ' (copy it to a regular file first)'}`;

const symlinkSkip = (path: string): string => `${path} is a symlink: skipped (use --follow-symlinks to send its target)`;

type Warn = (path: string, reason: WalkWarningReason, message: string) => void;

/** The target of a symlink met in a walk, or null when it is skipped (not followed, dangling) or failed (as `rel`). */
async function linkTarget(path: string, rel: string, opts: WalkOptions, warn: Warn): Promise<Stats | null> {
  if (opts.followSymlinks !== true) {
    warn(path, 'symlink', symlinkSkip(path));
    return null;
  }
  try {
    return await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') warn(path, 'dangling_symlink', `${path} is a symlink to nothing: skipped`);
    else unsendable(path, rel, fsError('stat', path, e), opts);
    return null;
  }
}

/** A regular file sent on its own (a PATH, a listed path): skipped on a pseudo file system, failed for a refused name. */
async function* fileEntry(path: string, name: string, st: Stats, opts: WalkOptions, warn: Warn, fsKind: FsKindOf): AsyncGenerator<WalkEntry> {
  const kind = await fsKind(path, st.dev);
  const refused = unsendableName(path, name);
  if (typeof kind === 'object') warn(path, 'special', pseudoSkip(path, kind, false));
  else if (refused !== null) unsendable(path, name, refused, opts);
  else yield entry('file', path, name, st);
}

/**
 * The name a PATH is sent as: its base name, or with `relative` the path as given, less a leading
 * "/" and "./" ("./logs/a.gz" and "/var/log/a.gz" as "logs/a.gz" and "var/log/a.gz", as rsync -R
 * names them). E_USAGE for "/" itself, and with `relative` for "." or a path through "..".
 */
export function rootName(path: string, relative: boolean): string {
  if (!relative) {
    const base = basename(resolve(path));
    if (base === '') throw new WraithError('E_USAGE', 'cannot send "/" itself; name the directories under it');
    return base;
  }
  const rel = posix.normalize(path).replace(/^\/+/, '').replace(/\/+$/, '');
  if (rel === '' && posix.isAbsolute(path)) throw new WraithError('E_USAGE', 'cannot send "/" itself; name the directories under it');
  if (rel === '' || rel === '.') throw new WraithError('E_USAGE', `with --relative, ${JSON.stringify(path)} has no name to send it as; name what is in it (./*)`);
  if (rel.split('/').includes('..')) {
    throw new WraithError('E_USAGE', `with --relative, ${JSON.stringify(path)} would be named through ".."`, { path }, 'run the send from a directory above it, naming it from there');
  }
  return rel;
}

/**
 * E_USAGE for two PATHs sent under one name, or for a PATH or listed path inside a PATH (its
 * files would go twice). Listed paths may repeat and nest: each goes alone.
 */
function checkRoots(paths: readonly string[], names: readonly string[], listed: readonly string[], listedNames: readonly string[]): void {
  const whole = new Map<string, string>();
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    const other = whole.get(n);
    if (other !== undefined) {
      throw new WraithError('E_USAGE', `${paths[i]} and ${other} would both be sent as "${n}"`, { name: n },
        'send them in separate commands, or from a common parent directory');
    }
    whole.set(n, paths[i]!);
  }
  const inside = (path: string, name: string, self: boolean): void => {
    // Each ancestor is looked up: a list of many paths must not cost a comparison per pair.
    for (let k = name.indexOf('/'); k !== -1 || self; k = name.indexOf('/', k + 1)) {
      const container = whole.get(k === -1 ? name : name.slice(0, k));
      if (container !== undefined) {
        const hint = self ? 'leave it out of the list, or send that directory\'s other contents as listed paths' : `leave out ${path}`;
        throw new WraithError('E_USAGE', `${path} is ${k === -1 ? 'also' : 'inside'} ${container}, which is sent whole`, { name }, hint);
      }
      if (k === -1) break;
    }
  };
  names.forEach((n, i) => inside(paths[i]!, n, false));
  listedNames.forEach((n, i) => inside(listed[i]!, n, true));
}

/** Walks every PATH in order. Throws E_NOT_FOUND for a missing PATH, E_USAGE for two PATHs sent under one name. */
export async function* walk(paths: readonly string[], opts: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const warn: Warn = (path, reason, message) => opts.onWarning?.({ path, reason, message });
  const roots = paths.map((p) => resolve(p));
  const kinds = fsKinds();
  const fsKind: FsKindOf = opts.threadPoolOnly !== true ? kinds : async (p, dev) => {
    const k = await kinds(p, dev);
    return k === 'local' ? 'other' : k;
  };
  const names = paths.map((p) => rootName(p, opts.relative === true));
  const listed = opts.listed ?? [];
  const listedNames = listed.map((p) => rootName(p, true));
  checkRoots(paths, names, listed, listedNames);

  for (const [i, root] of roots.entries()) {
    let st: Stats;
    try {
      st = await stat(root); // a PATH argument is followed even when it is a symlink
    } catch (e) {
      throw fsError('stat', root, e);
    }
    const base = names[i]!;
    const name = opts.under === undefined ? base : `${opts.under}/${base}`;
    if (st.isFile()) {
      yield* fileEntry(root, name, st, opts, warn, fsKind);
    } else if (st.isDirectory()) {
      yield* walkDir(root, name, st, new Set([`${st.dev}:${st.ino}`]), opts, warn, fsKind, name.length + 1);
    } else {
      warn(root, 'special', `${root} is ${kindOf(st)}: skipped`);
    }
  }
  const sent = new Set<string>();
  for (const [i, path] of listed.entries()) {
    const base = listedNames[i]!;
    if (sent.has(base)) continue;
    sent.add(base);
    yield* listedEntry(path, base, opts, warn, fsKind);
  }
}

/** One --files-from path, alone: as an entry of a tree is taken, named `base`. */
async function* listedEntry(path: string, base: string, opts: WalkOptions, warn: Warn, fsKind: FsKindOf): AsyncGenerator<WalkEntry> {
  const name = opts.under === undefined ? base : `${opts.under}/${base}`;
  let st: Stats | null;
  try {
    st = await lstat(path);
  } catch (e) {
    return unsendable(path, name, fsError('stat', path, e), opts);
  }
  if (st.isSymbolicLink()) st = await linkTarget(path, name, opts, warn);
  if (st === null || opts.exclude?.excludes(base, st.isDirectory()) === true) return;
  if (st.isDirectory()) {
    const refused = unsendableName(path, name);
    if (refused !== null) unsendable(path, `${name}/`, refused, opts);
    else yield entry('dir', path, name, st);
  } else if (st.isFile()) {
    yield* fileEntry(path, name, st, opts, warn, fsKind);
  } else {
    warn(path, 'special', `${path} is ${kindOf(st)}: skipped`);
  }
}

async function* walkDir(
  dir: string,
  name: string,
  st: Stats,
  ancestors: Set<string>,
  opts: WalkOptions,
  warn: Warn,
  fsKind: FsKindOf,
  /** Length of the PATH's own name and its "/": `rel.slice(rootLen)` is the path below it. */
  rootLen: number,
): AsyncGenerator<WalkEntry> {
  const excluded = (rel: string, dir: boolean): boolean => opts.exclude?.excludes(rel.slice(rootLen), dir) === true;
  const kind = await fsKind(dir, st.dev);
  if (typeof kind === 'object') {
    warn(dir, 'special', pseudoSkip(dir, kind, true));
    return;
  }
  const refused = unsendableName(dir, name);
  if (refused !== null) {
    unsendable(dir, `${name}/`, refused, opts);
    return;
  }
  yield entry('dir', dir, name, st);

  const local = kind === 'local';
  const names: string[] = [];
  const notUtf8: Buffer[] = [];
  // Raw bytes: a name that is not UTF-8 would come back with U+FFFD in it and then not be found.
  const addName = (raw: Buffer): void => {
    const child = raw.toString('utf8');
    if (Buffer.from(child, 'utf8').equals(raw)) names.push(child);
    else notUtf8.push(raw);
  };
  try {
    if (local) {
      for (const raw of readdirSync(dir, { encoding: 'buffer' })) addName(raw);
    } else {
      // opendir streams the directory instead of building one large array of Dirents.
      for await (const d of await opendir(dir, { encoding: 'buffer' as BufferEncoding })) addName(d.name as unknown as Buffer);
    }
  } catch (e) {
    unsendable(dir, `${name}/`, fsError('opendir', dir, e), opts);
    return;
  }
  const unreadable = (path: string, rel: string, err: WraithError): void => unsendable(path, rel, err, opts);
  for (const raw of notUtf8.sort(Buffer.compare)) {
    const child = raw.toString('utf8');
    const path = join(dir, child);
    const lst = lstatRaw(dir, raw);
    // Matched with U+FFFD where the bytes are not UTF-8: "*.tmp" still leaves such a file out.
    if (excluded(`${name}/${child}`, lst?.isDirectory() === true)) continue;
    // What would be skipped anyway (a symlink not followed, a FIFO) is skipped as such.
    const skip = skipReason(path, lst, opts.followSymlinks === true);
    if (skip !== null) warn(path, skip[0], skip[1]);
    else unreadable(path, `${name}/${child}`, nameRefused(path, `${name}/${child}`, 'it is not valid UTF-8'));
  }
  names.sort();

  // lstat a batch of children at once (the thread pool runs them side by side; one at a time,
  // each pays a full round trip), then go through them in order.
  let batch: Array<Promise<Stats | NodeJS.ErrnoException>> = [];
  for (let k = 0; k < names.length; k++) {
    if (k % LSTAT_BATCH === 0) {
      batch = names.slice(k, k + LSTAT_BATCH).map((c) => (local ? lstatNow(join(dir, c)) : lstat(join(dir, c)).catch((e: NodeJS.ErrnoException) => e)));
    }
    const child = names[k]!;
    const path = join(dir, child);
    const rel = `${name}/${child}`;
    const got = await batch[k % LSTAT_BATCH]!;
    if (got instanceof Error) {
      if (got.code === 'ENOENT') {
        warn(path, 'vanished', `${path} disappeared while walking: skipped`);
        continue;
      }
      unreadable(path, rel, fsError('lstat', path, got));
      continue;
    }
    let cst: Stats = got;
    if (excluded(rel, cst.isDirectory())) continue;
    // Birth time 0: not known here. A network file system's clock may differ from ours.
    if (local && opts.bornBefore !== undefined && cst.birthtimeMs > opts.bornBefore) {
      // Also a file replaced by a new one (rename over it) meanwhile: said, not dropped silently.
      warn(path, 'new', `${path} appeared after the send began: not sent (send it again to include it)`);
      continue;
    }
    if (cst.isSymbolicLink()) {
      const target = await linkTarget(path, rel, opts, warn);
      if (target === null) continue;
      cst = target;
      // A followed symlink to a directory: "dir/" patterns apply to it too.
      if (cst.isDirectory() && excluded(rel, true)) continue;
    }
    if (cst.isDirectory()) {
      const id = `${cst.dev}:${cst.ino}`;
      if (ancestors.has(id)) {
        warn(path, 'loop', `${path} leads back to a directory above it: skipped`);
        continue;
      }
      ancestors.add(id);
      yield* walkDir(path, rel, cst, ancestors, opts, warn, fsKind, rootLen);
      ancestors.delete(id);
    } else if (cst.isFile()) {
      const refusedName = unsendableName(path, rel);
      if (refusedName !== null) {
        unreadable(path, rel, refusedName);
        continue;
      }
      // Another device than its directory's: a followed symlink or a bind mount.
      const other = cst.dev === st.dev ? kind : await fsKind(path, cst.dev);
      if (typeof other === 'object') {
        warn(path, 'special', pseudoSkip(path, other, false));
        continue;
      }
      yield entry('file', path, rel, cst);
    } else {
      warn(path, 'special', `${path} is ${kindOf(cst)}: skipped`);
    }
  }
}

function lstatRaw(dir: string, raw: Buffer): Stats | null {
  try {
    return lstatSync(Buffer.concat([Buffer.from(`${dir}/`), raw]));
  } catch {
    return null; // gone, or unreadable: the name is what is reported
  }
}

/** The policy skip of a name that cannot be sent, or null when it would have been sent. */
function skipReason(path: string, st: Stats | null, followSymlinks: boolean): [WalkWarningReason, string] | null {
  if (st === null || st.isFile() || st.isDirectory()) return null;
  if (st.isSymbolicLink()) return followSymlinks ? null : ['symlink', symlinkSkip(path)];
  return ['special', `${path} is ${kindOf(st)}: skipped`];
}

function unsendable(path: string, rel: string, err: WraithError, opts: WalkOptions): void {
  if (opts.onUnsendable === undefined) throw err;
  opts.onUnsendable(path, rel, err);
}

/** lstat on the caller's thread, as a settled promise like the thread pool's. */
function lstatNow(path: string): Promise<Stats | NodeJS.ErrnoException> {
  try {
    return Promise.resolve(lstatSync(path));
  } catch (e) {
    return Promise.resolve(e as NodeJS.ErrnoException);
  }
}

/** What must not change while a file is being read. */
export interface SourceSnapshot {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

export function snapshotOf(st: { size: number; mtimeMs: number; ino: number }): SourceSnapshot {
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
}

/**
 * Snapshot of an open file (take one before reading and one after). An fstat of a file held
 * open runs on the caller's thread: a thread-pool round trip cost more than the call.
 */
export function snapshotFd(fd: number): SourceSnapshot {
  try {
    return snapshotOf(fstatSync(fd));
  } catch (e) {
    throw fsError('fstat', `fd ${fd}`, e as NodeJS.ErrnoException);
  }
}

/** What changed between two snapshots, in words (empty if nothing did). */
export function sourceChanges(before: SourceSnapshot, after: SourceSnapshot): string[] {
  const changes: string[] = [];
  if (before.ino !== after.ino) changes.push('it was replaced');
  if (before.size !== after.size) changes.push(`its size went from ${before.size} to ${after.size}`);
  if (before.mtimeMs !== after.mtimeMs) changes.push('it was modified');
  return changes;
}

/**
 * The file is the same one and only longer: what a file being appended to (a log) looks like.
 * Its first `before.size` bytes may still have changed; the receiver's check of every chunk
 * against the hashes taken before the offer tells.
 */
export function grewOnly(before: SourceSnapshot, after: SourceSnapshot): boolean {
  return before.ino === after.ino && after.size > before.size;
}

/** E_SOURCE_CHANGED naming what changed between two snapshots of `path`. */
export function assertUnchanged(path: string, before: SourceSnapshot, after: SourceSnapshot): void {
  const changes = sourceChanges(before, after);
  if (changes.length > 0) {
    const appended = grewOnly(before, after) ? ' (a file being written to, such as a log: --allow-growth sends its first bytes, as they were when it was opened)' : '';
    throw new WraithError('E_SOURCE_CHANGED', `${path} changed while it was being sent: ${changes.join(', ')}${appended}`, {
      path,
      before,
      after,
    });
  }
}
