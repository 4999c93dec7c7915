/**
 * Leaf rows of big files, kept in <home>/state/hash-cache so that an unchanged file is not read
 * through again to hash it: a file sent again (a resumed or repeated send), or a file a receiver
 * already has and is offered again (node/index.ts, contentRoot).
 *
 * An entry is found by the file's device, inode, size, mtime and ctime (ns) and the chunk size.
 * Any write to a file moves its ctime, and nothing but the clock sets a ctime. An entry is made
 * only when the file's ctime and mtime were older than the start of its hashing by more than one
 * tick of the clock that stamps them (racyBoundMs) and it had not changed by the end, so that a
 * write landing in the same tick as the one before cannot hide behind an equal timestamp (git's
 * "racy clean" rule). Each entry carries a SHA-256 of itself; a damaged one is deleted and
 * missed. Past MAX_BYTES the least recently used entries go. Node built-ins only: `wraith send`
 * consults it before the engine has loaded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, fstatSync, lstatSync, statSync, type BigIntStats } from 'node:fs';
import { open, readFile, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { makeDirsSync } from '../fsutil.js';
import { join } from 'node:path';

/** Files at least this big are remembered (smaller ones hash in a few ms). */
export const CACHE_MIN_BYTES = 32 * 1024 * 1024;
/**
 * Cache size bound: the leaves of ~2 TiB of files at 256 KiB chunks (1/8192 of their size). A
 * bigger single entry is not stored: it would only push out everything else.
 */
export const MAX_BYTES = 256 * 1024 * 1024;
/** A file changed less than this before its hashing began is not remembered... */
export const RACY_MS = 2000;
/**
 * ...or less than this, where the file system keeps sub-second ctimes: those come from a clock
 * that ticks every 1-10 ms (a jiffy), so this is several ticks.
 */
export const RACY_FINE_MS = 50;

/**
 * How long before the hashing a change must lie. A ctime with no sub-second part comes from a
 * file system with whole-second (or coarser) stamps, or falls on a whole second by chance: both
 * get RACY_MS. A user can set an mtime, never a ctime, so only the ctime tells.
 */
export function racyBoundMs(key: FileKey): number {
  return key.ctimeNs % 1_000_000_000n === 0n ? RACY_MS : RACY_FINE_MS;
}

const MAGIC = Buffer.from('wraith-leaves-1\n');
const SUM = 32;

/** What an entry is found by. */
export interface FileKey {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function fileKey(fd: number): FileKey {
  return keyOf(fstatSync(fd, { bigint: true }));
}

const keyOf = (st: BigIntStats): FileKey => ({ dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs });

function keyText(k: FileKey, chunkSize: number): string {
  return `${k.dev}:${k.ino}:${k.size}:${k.mtimeNs}:${k.ctimeNs}:${chunkSize}\n`;
}

const sameKey = (a: FileKey, b: FileKey): boolean =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/** The cache in a node's state directory, or null when `[transfer] hash_cache` is off. */
export function hashCacheIn(stateDir: string, enabled: boolean): HashCache | null {
  return enabled ? new HashCache(join(stateDir, 'hash-cache')) : null;
}

export class HashCache {
  /** Entries made and found since this object was created (for logs and tests). */
  readonly counts = { hits: 0, stored: 0, racy: 0, tooBig: 0, damaged: 0, evicted: 0 };

  constructor(
    readonly dir: string,
    private readonly maxBytes = MAX_BYTES,
    /** Wall-clock ms, the clock file timestamps come from (tests move it). */
    readonly now: () => number = Date.now,
  ) {}

  private pathOf(text: string): string {
    return join(this.dir, `${createHash('sha256').update(text).digest('hex')}.leaves`);
  }

  /** An entry exists for the file open at `fd` (not read: get() checks it). */
  has(fd: number, chunkSize: number): boolean {
    try {
      return this.hasKey(fileKey(fd), chunkSize);
    } catch {
      return false;
    }
  }

  /** The same for the file at `path` (followed when it is a symlink and `follow` is set). */
  hasPath(path: string, chunkSize: number, follow: boolean): boolean {
    try {
      return this.hasKey(keyOf(follow ? statSync(path, { bigint: true }) : lstatSync(path, { bigint: true })), chunkSize);
    } catch {
      return false;
    }
  }

  private hasKey(key: FileKey, chunkSize: number): boolean {
    return key.size >= BigInt(CACHE_MIN_BYTES) && existsSync(this.pathOf(keyText(key, chunkSize)));
  }

  /** The leaf row (chunks × 32 bytes) remembered for the file open at `fd`, or null. */
  async get(fd: number, chunkSize: number): Promise<Uint8Array | null> {
    let key: FileKey;
    try {
      key = fileKey(fd);
    } catch {
      return null;
    }
    if (key.size < BigInt(CACHE_MIN_BYTES)) return null;
    const text = keyText(key, chunkSize);
    const path = this.pathOf(text);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch {
      return null;
    }
    const head = Buffer.concat([MAGIC, Buffer.from(text)]);
    const leaves = Number((key.size + BigInt(chunkSize) - 1n) / BigInt(chunkSize)) * 32;
    const sum = createHash('sha256').update(data.subarray(0, data.length - SUM)).digest();
    if (data.length !== head.length + leaves + SUM || !data.subarray(0, head.length).equals(head) || !sum.equals(data.subarray(data.length - SUM))) {
      this.counts.damaged++;
      await rm(path, { force: true }).catch(() => undefined);
      return null;
    }
    const t = new Date(this.now());
    await utimes(path, t, t).catch(() => undefined); // recently used: evicted last
    this.counts.hits++;
    return new Uint8Array(data.buffer, data.byteOffset + head.length, leaves).slice();
  }

  /**
   * Remembers `leaves` for the file open at `fd`, hashed from `startedMs` (wall clock) on, as
   * `before` (fileKey before the hashing) described it. Best effort: false when not stored.
   */
  async put(fd: number, before: FileKey, chunkSize: number, leaves: Uint8Array, startedMs: number): Promise<boolean> {
    if (before.size < BigInt(CACHE_MIN_BYTES)) return false;
    let after: FileKey;
    try {
      after = fileKey(fd);
    } catch {
      return false;
    }
    const limitNs = BigInt(Math.floor(startedMs - racyBoundMs(before))) * 1_000_000n;
    if (!sameKey(before, after) || before.ctimeNs >= limitNs || before.mtimeNs >= limitNs) {
      this.counts.racy++;
      return false;
    }
    const text = keyText(before, chunkSize);
    const head = Buffer.concat([MAGIC, Buffer.from(text)]);
    if (head.length + leaves.length + SUM > this.maxBytes) {
      this.counts.tooBig++;
      return false;
    }
    const path = this.pathOf(text);
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      makeDirsSync(this.dir, 0o700);
      const sum = createHash('sha256').update(head).update(leaves).digest();
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writev([head, leaves, sum]);
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
      return false;
    }
    this.counts.stored++;
    await this.evict().catch(() => undefined);
    return true;
  }

  /** Deletes the least recently used entries (and stale temporaries) until the rest fit in maxBytes. */
  private async evict(): Promise<void> {
    const entries: Array<{ path: string; size: number; used: number }> = [];
    let total = 0;
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      const st = await stat(path).catch(() => null);
      if (st === null || !st.isFile()) continue;
      if (name.startsWith('.tmp-')) {
        if (this.now() - st.mtimeMs > 3_600_000) await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith('.leaves')) continue;
      entries.push({ path, size: st.size, used: st.mtimeMs });
      total += st.size;
    }
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      await rm(e.path, { force: true });
      total -= e.size;
      this.counts.evicted++;
    }
  }
}
