/**
 * The receive-side file store. For each offered file the driver calls `begin()`, writes verified
 * chunks into the returned PartialFile, records progress, then `complete()` installs it:
 *
 *   begin(offer) -> already_present | ready(PartialFile)
 *   file.write(chunk, offset) ... file.saveProgress(ranges) ... file.complete() | file.abort()
 *
 * Partials live beside the final name as `.<name>.<root16>.wraith-part`; resume state lives in
 * <home>/state/. Installation never replaces an existing name unless on_conflict = "overwrite".
 */
import { closeSync, constants, existsSync, fstatSync, type Stats as FsStats } from 'node:fs';
import { access, link, lstat, mkdir, open, readdir, realpath, rename, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Logger } from 'pino';
import { WraithError } from '@wraith/core';
import { DirSyncer, makeDirsSync, processUmask } from '../fsutil.js';
import { isMemoryFs } from '../fs-kind.js';
import type { OnConflict } from '../config/schema.js';
import type { Stats } from '../stats.js';
import { Admission, downloadDirGone, statfsFree, type FreeSpaceFn } from './admission.js';
import { Beneath, ioError, type BeneathLstat, type BeneathMkdir, type BeneathOpener } from './beneath.js';
import { openDirect, type WriteTarget } from './direct-writes.js';
import { fdClose, fdDatasync, fdOpen, fdSetModeAndTime, fdStat, fdSyncAndClose, fdTruncateNow, fdWriteAll } from './fdio.js';
import { conflictName, isPartialName, partialName, validateRelativeName } from './names.js';
import { OpenSlots, openFilesLimit, slotsFor } from './open-slots.js';
import { chunkCount, normalizeRanges, rangesBytes, ResumeStore, type ChunkRanges, type ResumeState } from './resume.js';

/** The content root of an open file (hex or bytes), computed the way the sender's manifest is. */
/** `stop` true between batches ends the hashing with an error (the offer went away). */
export type ContentRootFn = (fd: number, size: number, chunkSize: number, stop?: () => boolean) => Promise<string | Uint8Array>;
/** renameat2(RENAME_NOREPLACE): fails with code EEXIST when `to` exists. */
export type RenameNoReplaceFn = (from: string, to: string) => Promise<void>;

/** An offer on its way to a partial file (FileStore.begin). */
interface Opening {
  offer: IncomingFile;
  /** The final name's components. */
  parts: string[];
  rootHex: string;
  /** Its resume state's key (sender and content). */
  resumeKey: string;
  partialParts: string[];
  /** Its key among the store's active files. */
  key: string;
  resumable: boolean;
}

/** An older copy of a file being received, open for reading: its bytes in `spans` ([start, end)) are worth comparing. */
export interface Basis {
  fd: number;
  size: number;
  spans: Array<[number, number]>;
}

export interface FileStoreOptions {
  readonly downloadDir: string;
  /** <home>/state */
  readonly stateDir: string;
  readonly onConflict: OnConflict;
  readonly maxFileSize: number | null;
  readonly maxTotalBytes: number | null;
  readonly minFree: number;
  readonly partialTtlMs: number;
  /** Offer older copies (the file under the name, an earlier version's partial) for reuse ([receive] reuse_existing); default true. */
  readonly reuse?: boolean;
  /** Keep partials and resume state across interruptions ([transfer] enable_resume). */
  readonly resume: boolean;
  /** Mode of directories the store creates (before the sender's mode is applied). */
  readonly dirMode?: number;
  /** Bits cleared from every received mode; default the process's umask. */
  readonly umask?: number;
  /** Without it, an existing file of the same name is always a conflict (never already_present). */
  readonly contentRoot?: ContentRootFn;
  readonly renameNoReplace?: RenameNoReplaceFn;
  readonly opener?: BeneathOpener;
  /**
   * Renames `from` to `to` (names in the directory `dir`, relative to `root`; '' for root
   * itself) with the directory opened beneath root, no symlink followed; without replacing when
   * `noReplace` (code EEXIST). Node-style errors. Replaces the parent check and renameNoReplace.
   */
  readonly renameBeneath?: (root: string, dir: string, from: string, to: string, noReplace: boolean) => Promise<void>;
  /**
   * Unlinks the file `name` in `dir` (relative to `root`, '' for root) with the directory opened
   * beneath root, no symlink followed: a parent swapped for a symlink cannot point the removal of
   * a partial at a file of the same name elsewhere. Node-style errors. Without it: by path.
   */
  readonly unlinkBeneath?: (root: string, dir: string, name: string) => Promise<void>;
  /** mkdir of one name in a directory opened beneath root (beneath.ts); by path without it. */
  readonly mkdirBeneath?: BeneathMkdir;
  /** A one-step lstat beneath the download directory (beneath.ts); the component walk without it. */
  readonly lstatBeneath?: BeneathLstat;
  readonly freeSpace?: FreeSpaceFn;
  readonly now?: () => number;
  readonly logger?: Logger;
  readonly stats?: Stats;
  /** Sweep old partials when opening (default true). */
  readonly sweepOnOpen?: boolean;
  /** Give each partial file an O_DIRECT fd for aligned chunk writes (direct-writes.ts). */
  readonly directWrites?: boolean;
  /** Files open at once; more offers wait (default: from RLIMIT_NOFILE, open-slots.ts). */
  readonly maxOpenFiles?: number;
}

/** Smaller files go through the page cache: a second open per file costs more than the copy saves. */
export const DIRECT_MIN_BYTES = 256 * 1024;

export interface IncomingFile {
  readonly peerId: string;
  /** Manifest root, 64 hex or 32 bytes. */
  readonly root: string | Uint8Array;
  /** Relative name as sent ("dir/file.txt"); validated here. */
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly chunkSize: number;
  /** Of `size`, bytes the sender says are all-zero chunks: they stay holes and need no room. */
  readonly zeroBytes?: number;
  /** True once the offer is withdrawn: hashing the file under its name for it stops. */
  readonly stop?: () => boolean;
}

export type BeginResult =
  | { readonly status: 'already_present'; readonly path: string }
  | { readonly status: 'ready'; readonly file: PartialFile };

export interface InstallResult {
  readonly status: 'installed' | 'already_present';
  /** Absolute path of the final file. */
  readonly path: string;
  /** Relative name it was installed under (differs from the offer after a rename). */
  readonly name: string;
}

const rootHexOf = (root: string | Uint8Array): string => {
  const hex = typeof root === 'string' ? root.toLowerCase() : Buffer.from(root).toString('hex');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new WraithError('E_MANIFEST', `a manifest root is 32 bytes, got ${JSON.stringify(hex)}`);
  return hex;
};

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** Said at start: a read-only or immutable download directory refuses every offer. */
async function warnIfNotWritable(dir: string, logger: Logger | undefined): Promise<void> {
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    const code = errnoOf(e);
    const why = code === 'EROFS' ? 'its file system is mounted read-only' : code === 'EPERM' ? 'it is immutable (chattr +i)' : code ?? 'not writable';
    logger?.warn({ dir, code }, `the download directory ${dir} is not writable: ${why}; every file offered will be refused until it is`);
  }
}

/** The download directory's device when it is a memory file system, else null. */
async function memoryDevOf(dir: string): Promise<number | null> {
  try {
    if (!isMemoryFs((await statfs(dir)).type)) return null;
    return (await stat(dir)).dev;
  } catch {
    return null; // unknown: sync as on any disk
  }
}

export class FileStore {
  readonly downloadDir: string;
  private readonly beneath: Beneath;
  private readonly resumeStore: ResumeStore;
  private readonly admission: Admission;
  private readonly slots: OpenSlots;
  /** Offers being opened (partial path -> resume key), before they enter `active`. */
  private readonly opening = new Map<string, string>();
  /** The same offers: final name -> content root (hex). */
  private readonly openingNames = new Map<string, string>();
  private readonly active = new Map<string, PartialFile>();
  /** Installs in one directory share its fsyncs. */
  private readonly dirSync = new DirSyncer();
  private readonly dirMode: number;
  private readonly umask: number;
  private readonly now: () => number;
  private directRefused = false;
  /** Device of the download directory if it is tmpfs or ramfs (files there skip fsync). */
  private memoryDev: number | null = null;

  private constructor(
    realDir: string,
    readonly opts: FileStoreOptions,
  ) {
    this.downloadDir = realDir;
    this.beneath = new Beneath(realDir, opts.opener ?? null, opts.lstatBeneath ?? null, opts.mkdirBeneath ?? null);
    this.resumeStore = new ResumeStore(opts.stateDir);
    // statfs once a second at most for small files; an injected reader is asked every time.
    this.admission = new Admission(realDir, opts, opts.freeSpace ?? statfsFree, opts.freeSpace === undefined ? 1000 : 0, opts.now ?? Date.now);
    this.dirMode = opts.dirMode ?? 0o700;
    this.umask = opts.umask ?? processUmask();
    this.slots = new OpenSlots(opts.maxOpenFiles ?? slotsFor(openFilesLimit()));
    this.now = opts.now ?? Date.now;
  }

  /** Creates the download directory (0700) if needed and sweeps expired partials. */
  static async open(opts: FileStoreOptions): Promise<FileStore> {
    for (const dir of [opts.downloadDir, opts.stateDir]) {
      try {
        makeDirsSync(dir, 0o700);
      } catch (e) {
        throw ioError('mkdir', dir, e);
      }
    }
    const store = new FileStore(await realpath(opts.downloadDir), opts);
    store.memoryDev = await memoryDevOf(store.downloadDir);
    // On a memory file system there is nothing to make durable.
    if (store.memoryDev === null) store.beneath.onMade = (dir) => store.dirSync.sync(dir);
    await warnIfNotWritable(store.downloadDir, opts.logger);
    if (opts.sweepOnOpen ?? true) await store.sweep();
    return store;
  }

  /** Sizes of unfinished transfers (counted against max_total_bytes). */
  get reservedBytes(): number {
    return this.admission.reservedBytes;
  }

  /** Bytes unfinished transfers still have to write (held back from the free space). */
  get pendingBytes(): number {
    return this.admission.pendingBytes;
  }

  /** Starts (or resumes) receiving a file. */
  async begin(offer: IncomingFile): Promise<BeginResult> {
    const parts = validateRelativeName(offer.name);
    const rootHex = rootHexOf(offer.root);
    if (!Number.isSafeInteger(offer.size) || offer.size < 0) throw new WraithError('E_MANIFEST', `bad size ${offer.size} for ${offer.name}`);
    if (!Number.isSafeInteger(offer.chunkSize) || offer.chunkSize <= 0) throw new WraithError('E_CHUNK_SIZE', `bad chunk size ${offer.chunkSize}`);
    const resumeKey = `${offer.peerId}.${rootHex}`;
    const dirParts = parts.slice(0, -1);
    const base = parts[parts.length - 1]!;
    const partialParts = [...dirParts, partialName(base, rootHex)];
    const partialRel = partialParts.join('/');
    const key = `${resumeKey}:${partialRel}`;
    // Resume state is kept per sender and content. The same content under another name at the
    // same time (empty files, copies in a tree) is received too, without resume: the first
    // keeps the state.
    let resumable = this.opts.resume;
    const taken = (rel: string, rk: string): void => {
      if (rel === partialRel) {
        throw new WraithError('E_EXISTS', `${offer.name} is already being received`, { name: offer.name },
          'wait for the running transfer to finish');
      }
      if (rk === resumeKey) resumable = false;
    };
    // Offers still opening count too: begin awaits (a slot, the disk) before its entry in active.
    let otherRoot = this.openingNames.get(offer.name);
    for (const f of this.active.values()) {
      taken(f.partialRel, f.resumeKey);
      if (f.offer.name === offer.name) otherRoot = f.rootHex;
    }
    for (const [rel, rk] of this.opening) taken(rel, rk);
    // Under "refuse" only one content can end up under a name: the first offer keeps it, and
    // another content is refused now rather than after all of it has arrived.
    if (this.opts.onConflict === 'refuse' && otherRoot !== undefined && otherRoot !== rootHex) {
      throw new WraithError('E_EXISTS', `${offer.name} is being received from another send, with different content`, { name: offer.name });
    }
    this.opening.set(partialRel, resumeKey);
    this.openingNames.set(offer.name, rootHex);
    try {
      return await this.beginUnique({ offer, parts, rootHex, resumeKey, partialParts, key, resumable });
    } catch (e) {
      throw e instanceof WraithError ? namingEntry(offer.name, e) : e;
    } finally {
      this.opening.delete(partialRel);
      this.openingNames.delete(offer.name);
    }
  }

  private async beginUnique(c: Opening): Promise<BeginResult> {
    const { offer, parts, rootHex, partialParts, resumable } = c;
    const partialRel = partialParts.join('/');
    // An existing final name: same content -> nothing to do; otherwise refuse early if asked to.
    const existing = await this.lstatOrNull(parts);
    if (existing !== null) {
      if (await this.alreadyHeld(parts, existing, offer, rootHex)) {
        if (resumable) await this.resumeStore.delete(offer.peerId, rootHex);
        return { status: 'already_present', path: this.beneath.abs(parts) };
      }
      if (existing.isDirectory() && this.opts.onConflict !== 'rename') {
        throw new WraithError('E_EXISTS', `${offer.name} is a directory in ${this.downloadDir}; a file cannot take its place`, { name: offer.name },
          'move the directory away and send again, or set [receive] on_conflict = "rename"');
      }
      if (this.opts.onConflict === 'refuse') throw this.conflict(offer.name);
    }

    let state = resumable ? await this.resumeStore.load(offer.peerId, rootHex) : null;
    if (state !== null && (state.name !== offer.name || state.size !== offer.size || state.chunk_size !== offer.chunkSize || state.partial !== partialRel)) {
      await this.resumeStore.delete(offer.peerId, rootHex);
      state = null;
    }
    // Only a multi-chunk file can have left a state behind.
    const superseded = state === null && resumable && offer.size > offer.chunkSize ? await this.dropSuperseded(offer, rootHex) : null;
    try {
      return await this.openPartial(c, state, superseded);
    } catch (e) {
      if (superseded !== null) await fdClose(superseded.fd).catch(() => undefined);
      throw e;
    }
  }

  private async openPartial(c: Opening, loaded: ResumeState | null, superseded: Basis | null): Promise<BeginResult> {
    const { offer, parts, rootHex, resumeKey, partialParts, key, resumable } = c;
    let state = loaded;
    const dirParts = parts.slice(0, -1);
    const partialRel = partialParts.join('/');
    // Held chunks and zero chunks may overlap: the larger of the two is sure not to need room.
    const held = state === null ? 0 : rangesBytes(state.have, state.size, state.chunk_size);
    const needed = Math.max(0, offer.size - Math.max(held, offer.zeroBytes ?? 0));
    await this.admission.admit(key, offer.name, offer.size, needed);
    await this.takeSlot(offer.name);

    let fd: number | null = null;
    try {
      await this.beneath.mkdirs(dirParts, this.dirMode);
      if (state !== null) {
        fd = await this.openExistingPartial(partialParts, offer.size);
        if (fd === null) {
          await this.resumeStore.delete(offer.peerId, rootHex);
          state = null;
        }
      }
      if (fd === null) {
        fd = await this.createPartial(partialParts);
        if (fd === null) {
          // A leftover partial without state cannot be trusted: start it over, and another
          // sender's state naming it is void. A new file, not a truncation: another process
          // writing the old one (a second node on this directory) then finds it unlinked at its
          // next checkpoint and fails that file, rather than installing zeros where it wrote.
          await fdClose(await this.beneath.open(partialParts, constants.O_RDWR | constants.O_CREAT, 0o600)); // refuses a planted symlink
          await this.removePartial(partialParts);
          fd = await this.createPartial(partialParts);
          if (fd === null) {
            throw new WraithError('E_EXISTS', `${offer.name} is being received by another process on ${this.downloadDir}`, { name: offer.name });
          }
          await this.forgetOtherStates(rootHex, offer.peerId, partialRel);
        }
        if (offer.size > 0) fdTruncateNow(fd, offer.size); // sparse at full size
      }
      this.opts.stats?.fileIo('open', 'fs');
    } catch (e) {
      this.admission.release(key);
      this.slots.release();
      if (fd !== null) await fdClose(fd).catch(() => undefined);
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(this.downloadDir)) throw downloadDirGone(this.downloadDir);
      throw e instanceof WraithError ? e : ioError('open', this.beneath.abs(partialParts), e);
    }
    const file = new PartialFile(this, {
      key,
      resumeKey,
      resumable,
      fd,
      direct: offer.size >= DIRECT_MIN_BYTES ? await this.directFd(fd) : null,
      offer,
      rootHex,
      parts,
      partialParts,
      have: state?.have ?? [],
      superseded,
      // Same device as a tmpfs download directory (a mount below it may be a disk).
      inMemory: this.memoryDev !== null && fstatSync(fd).dev === this.memoryDev,
    });
    this.active.set(key, file);
    return { status: 'ready', file };
  }

  /** An O_DIRECT fd beside `fd` when asked for and the file system takes it (said once if not). */
  private async directFd(fd: number): Promise<number | null> {
    if (!this.opts.directWrites) return null;
    const r = await openDirect(fd);
    if ('fd' in r) return r.fd;
    if (!this.directRefused) this.opts.logger?.info({ reason: r.reason }, `writing received files through the page cache: ${r.reason}`);
    this.directRefused = true;
    return null;
  }

  /** Creates a received directory (and its parents) with the store's directory mode. */
  async makeDirectory(name: string): Promise<string> {
    try {
      return await this.beneath.mkdirs(validateRelativeName(name), this.dirMode);
    } catch (e) {
      if (!existsSync(this.downloadDir)) throw downloadDirGone(this.downloadDir);
      throw e instanceof WraithError ? namingEntry(name, e) : e;
    }
  }

  /**
   * The mode a received file or directory gets: the sender's permission bits less this
   * receiver's umask, as cp, scp and tar (run as a user) do. A sender's 0666 or 0777 left
   * world-writable files on the receiver whatever its operator had set.
   */
  modeFor(mode: number): number {
    return mode & 0o777 & ~this.umask;
  }

  /**
   * Applies a received directory's mode (modeFor) and mtime. Call it after the directory's
   * contents are installed: creating files inside changes the mtime, and a mode without owner
   * write would stop them from being created, which `open` (more may still go in) prevents by
   * keeping owner rwx.
   */
  async finishDirectory(name: string, mode: number, mtimeMs: number, open = false): Promise<void> {
    const parts = validateRelativeName(name);
    const fd = await this.beneath.open(parts, constants.O_RDONLY | constants.O_DIRECTORY, 0);
    try {
      fdSetModeAndTime(fd, this.modeFor(mode) | (open ? 0o700 : 0), mtimeMs);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Deletes partials (and resume states) not touched for partial_ttl. Runs at open; call it from
   * a daily timer too (see `scheduleSweeps`).
   */
  async sweep(): Promise<{ partials: number; states: number }> {
    const cutoff = this.now() - this.opts.partialTtlMs;
    let partials = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        this.opts.logger?.warn({ dir, err: (e as Error).message }, 'sweep: cannot read directory');
        return;
      }
      for (const ent of entries) {
        const path = join(dir, ent.name);
        if (ent.isDirectory()) await walk(path); // Dirent types come from lstat: symlinks are not followed
        else if (ent.isFile() && isPartialName(ent.name)) {
          const st = await this.lstatAbs(path);
          // Asked at each deletion, not once per sweep: a daily sweep of a large tree runs long
          // enough for a resume to open an old partial meanwhile.
          if (st !== null && st.mtimeMs < cutoff && !this.partialInUse(path)) {
            await this.removePartial(relative(this.downloadDir, path).split(sep));
            partials++;
          }
        }
      }
    };
    await walk(this.downloadDir);

    let states = 0;
    for (const s of await this.resumeStore.list()) {
      const key = `${s.peerId}.${s.root}`;
      if (this.resumeKeyInUse(key)) continue;
      let expired = s.mtimeMs < cutoff;
      if (!expired) {
        const st = await this.resumeStore.load(s.peerId, s.root);
        expired = st === null || (await this.lstatOrNull(st.partial.split('/')).catch(() => null)) === null;
      }
      if (expired && !this.resumeKeyInUse(key)) {
        await this.resumeStore.delete(s.peerId, s.root);
        states++;
      }
    }
    if (partials + states > 0) this.opts.logger?.info({ partials, states }, 'removed expired partial files');
    return { partials, states };
  }

  /** A partial an active transfer holds, or an offer being opened (a resume opens an old one). */
  private partialInUse(path: string): boolean {
    for (const f of this.active.values()) if (f.path === path) return true;
    for (const rel of this.opening.keys()) if (this.beneath.abs(rel.split('/')) === path) return true;
    return false;
  }

  private resumeKeyInUse(key: string): boolean {
    for (const f of this.active.values()) if (f.resumeKey === key) return true;
    for (const rk of this.opening.values()) if (rk === key) return true;
    return false;
  }

  /** Runs `sweep()` every `intervalMs` (default daily) without keeping the process alive. */
  scheduleSweeps(intervalMs = 86_400_000): () => void {
    const timer = setInterval(() => {
      this.sweep().catch((e: unknown) => this.opts.logger?.warn({ err: (e as Error).message }, 'sweep failed'));
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  // --- used by PartialFile -------------------------------------------------------------------

  /** @internal Persist leaf hashes of newly held chunks (before the state names them). */
  async saveLeaves(file: PartialFile, leaves: Map<number, Uint8Array>): Promise<void> {
    if (!file.resumable || leaves.size === 0) return;
    await this.resumeStore.trackLeaves(file.offer.peerId, file.rootHex);
    const fh = await file.leavesHandle(() => open(this.resumeStore.leavesPath(file.offer.peerId, file.rootHex), 'a+', 0o600).then(async (h) => {
      await h.close();
      return open(this.resumeStore.leavesPath(file.offer.peerId, file.rootHex), 'r+');
    }));
    // Runs of consecutive chunks go out in one write.
    const sorted = [...leaves.keys()].sort((a, b) => a - b);
    for (let k = 0; k < sorted.length; ) {
      let end = k + 1;
      while (end < sorted.length && (sorted[end] as number) === (sorted[end - 1] as number) + 1) end++;
      const buf = Buffer.allocUnsafe((end - k) * 32);
      for (let j = k; j < end; j++) buf.set(leaves.get(sorted[j] as number) as Uint8Array, (j - k) * 32);
      await fh.write(buf, 0, buf.length, (sorted[k] as number) * 32);
      k = end;
    }
    await fh.datasync();
  }

  /**
   * @internal The leaves file of an earlier attempt: 32 bytes per chunk, all zero where no
   * leaf was saved (null if there is none). One read: a resume checks thousands of chunks.
   */
  async readLeaves(file: PartialFile): Promise<Uint8Array | null> {
    if (!file.resumable || !(await this.resumeStore.has(file.offer.peerId, file.rootHex))) return null;
    const path = this.resumeStore.leavesPath(file.offer.peerId, file.rootHex);
    let fh;
    try {
      fh = await open(path, 'r');
    } catch {
      return null;
    }
    try {
      const buf = new Uint8Array(file.chunkCount * 32);
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  /** @internal */
  async saveState(file: PartialFile, have: ChunkRanges): Promise<void> {
    if (!file.resumable) return;
    const state: ResumeState = {
      version: 1,
      peer_id: file.offer.peerId,
      root: file.rootHex,
      name: file.offer.name,
      size: file.offer.size,
      chunk_size: file.offer.chunkSize,
      partial: file.partialRel,
      have,
      updated_ms: this.now(),
    };
    await this.resumeStore.save(state);
  }

  /** @internal */
  async install(file: PartialFile): Promise<InstallResult> {
    const { offer, parts, partialParts, rootHex } = file;
    const partialAbs = this.beneath.abs(partialParts);
    const parentAbs = this.beneath.abs(parts.slice(0, -1));
    // A rename beneath the download directory checks the parents itself, in the kernel.
    if (this.opts.renameBeneath === undefined) await this.beneath.checkParents(parts);

    const done = async (status: InstallResult['status'], finalParts: string[]): Promise<InstallResult> => {
      if (!file.inMemory) await this.dirSync.sync(parentAbs);
      if (file.resumable) await this.resumeStore.delete(offer.peerId, rootHex);
      this.opts.stats?.fileIo('install', 'fs');
      return { status, path: this.beneath.abs(finalParts), name: finalParts.join('/') };
    };

    if (await this.place(partialParts, parts, false)) return done('installed', parts);

    const existing = await this.lstatOrNull(parts);
    if (existing !== null && (await this.alreadyHeld(parts, existing, offer, rootHex))) {
      await this.removePartial(partialParts);
      return done('already_present', parts);
    }
    switch (this.opts.onConflict) {
      case 'refuse':
        // The verified data stays as the partial (until partial_ttl): moving the other file away
        // and sending again completes at once.
        throw this.conflict(offer.name, partialParts.join('/'));
      case 'overwrite':
        try {
          await this.place(partialParts, parts, true);
        } catch (e) {
          const code = errnoOf(e);
          if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
            throw new WraithError('E_EXISTS', `${offer.name} exists and is a directory; it cannot be overwritten by a file`, { name: offer.name });
          }
          throw e instanceof WraithError ? e : ioError('rename', partialAbs, e);
        }
        return done('installed', parts);
      case 'rename': {
        const base = parts[parts.length - 1]!;
        for (let n = 1; n < 10_000; n++) {
          const candidate = [...parts.slice(0, -1), conflictName(base, n)];
          if (await this.place(partialParts, candidate, false)) return done('installed', candidate);
        }
        throw new WraithError('E_EXISTS', `no free name for ${offer.name} after 9999 tries`, { name: offer.name });
      }
    }
  }

  /** @internal */
  wrote(file: PartialFile, n: number): void {
    this.admission.consume(file.key, n);
  }

  /** @internal */
  forget(file: PartialFile): void {
    this.active.delete(file.key);
    this.admission.release(file.key);
    this.slots.release();
  }

  /** Waits for a slot among the files open at once (open-slots.ts); says so once per busy spell. */
  private async takeSlot(name: string): Promise<void> {
    const wait = this.slots.acquire();
    if (wait === null) return;
    if (this.slots.queued === 1) {
      this.opts.logger?.info({ name, open_files: this.slots.max }, 'as many files are being received as descriptors allow: more offers wait for one to finish');
    }
    await wait;
  }

  /** @internal */
  async discard(file: PartialFile): Promise<void> {
    await this.removePartial(file.partialParts);
    if (file.resumable) await this.resumeStore.delete(file.offer.peerId, file.rootHex);
  }

  /** @internal */
  abs(parts: readonly string[]): string {
    return this.beneath.abs(parts);
  }

  // --- helpers ------------------------------------------------------------------------------

  /**
   * Renames the partial to `to`, its sibling: replacing only with `replace`; false when `to`
   * exists and may not be replaced. With renameBeneath, in one step relative to the directory
   * opened beneath the download directory (no symlink on the way, no race); otherwise by path.
   * Replacing, errors keep their errno code for the caller; otherwise they are WraithErrors.
   */
  private async place(from: readonly string[], to: readonly string[], replace: boolean): Promise<boolean> {
    const rb = this.opts.renameBeneath;
    if (rb !== undefined) {
      try {
        await rb(this.downloadDir, to.slice(0, -1).join('/'), from[from.length - 1]!, to[to.length - 1]!, !replace);
        return true;
      } catch (e) {
        const code = errnoOf(e);
        if (code === 'EEXIST' && !replace) return false;
        if (code === 'ELOOP' || code === 'EXDEV') {
          throw new WraithError('E_PATH_INVALID', `received name ${JSON.stringify(to.join('/'))} refused: it resolves through a symlink or outside the download directory`, { name: to.join('/') });
        }
        // EINVAL: this file system has no RENAME_NOREPLACE; the portable way below.
        if (code !== 'EINVAL') throw replace ? e : ioError('renameat2', this.beneath.abs(to), e);
      }
      await this.beneath.checkParents(to);
    }
    if (replace) {
      await rename(this.beneath.abs(from), this.beneath.abs(to));
      return true;
    }
    return this.installNoReplace(this.beneath.abs(from), this.beneath.abs(to));
  }

  /**
   * Removes a partial (`parts` under the download directory): with unlinkBeneath relative to its
   * directory opened beneath, else by path. Never throws, as before: a missing one is fine, and
   * anything else (a symlink refused on the way) is only logged.
   */
  private async removePartial(parts: readonly string[]): Promise<void> {
    const ub = this.opts.unlinkBeneath;
    try {
      if (ub !== undefined) await ub(this.downloadDir, parts.slice(0, -1).join('/'), parts[parts.length - 1]!);
      else await unlink(this.beneath.abs(parts));
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') this.opts.logger?.warn({ name: parts.join('/'), err: (e as Error).message }, 'could not remove a partial file');
    }
  }

  /** link(2) + unlink, or the injected renameat2(RENAME_NOREPLACE); false if `to` exists. */
  private async installNoReplace(from: string, to: string): Promise<boolean> {
    try {
      if (this.opts.renameNoReplace !== undefined) {
        await this.opts.renameNoReplace(from, to);
      } else {
        await link(from, to); // fails with EEXIST, never replaces; does not follow `from`
        await unlink(from);
      }
      return true;
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') return false;
      throw ioError(this.opts.renameNoReplace !== undefined ? 'renameat2' : 'link', to, e);
    }
  }

  private conflict(name: string, keptAs?: string): WraithError {
    return new WraithError(
      'E_EXISTS',
      `${name} already exists in ${this.downloadDir} with different content${keptAs !== undefined ? `; the received data is kept as ${keptAs}` : ''}`,
      { name },
      'move the existing file away and send again, or set [receive] on_conflict = "rename" or "overwrite"',
    );
  }

  /**
   * Whether the file at `parts` has the offer's content. If so it takes the offer's mode
   * (modeFor) and mtime through the same descriptor, as a received file does: a send again after
   * a chmod or a touch left the old ones for ever. Only what differs is set (each change moves
   * the ctime, which the hash cache keys on). A file this user may not change keeps its own, with
   * a warning, and so does one with other hard links.
   */
  private async alreadyHeld(parts: string[], st: FsStats, offer: IncomingFile, rootHex: string): Promise<boolean> {
    if (this.opts.contentRoot === undefined || !st.isFile() || st.size !== offer.size) return false;
    let fd: number;
    try {
      fd = await this.beneath.open(parts, constants.O_RDONLY, 0);
    } catch (e) {
      const code = errnoOf(e);
      // A file received with a mode without owner read (0000, 0200) by a daemon not run as root.
      if (code !== 'EACCES' && code !== 'EPERM') throw e;
      const name = parts.join('/');
      throw new WraithError(
        'E_PERMISSION',
        `${name} is already in ${this.downloadDir}, and the receiver may not read it to compare it with the offer (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): give the user it runs as read access to it, or move it away`,
        { name },
      );
    }
    try {
      const root = await this.opts.contentRoot(fd, offer.size, offer.chunkSize, offer.stop);
      if ((typeof root === 'string' ? root.toLowerCase() : Buffer.from(root).toString('hex')) !== rootHex) return false;
      await this.applyMeta(fd, offer);
      return true;
    } finally {
      await fdClose(fd);
    }
  }

  /**
   * The regular file under a partial's final name (what an overwrite replaces, or a rename
   * keeps), open for reading, or null: the receiver copies the chunks it shares with the offer.
   */
  async openBasis(file: PartialFile): Promise<Basis | null> {
    if (this.opts.reuse === false) return null;
    const open = await this.openRegular(file.parts, null);
    return open === null ? null : { ...open, spans: [[0, open.size]] };
  }

  /** alreadyHeld's mode and mtime, on its descriptor; never throws. */
  private async applyMeta(fd: number, offer: IncomingFile): Promise<void> {
    const mode = this.modeFor(offer.mode);
    try {
      const st = await fdStat(fd);
      // An inode with other names is not only this one: a hard link planted in the download
      // directory must not make the receiver chmod a file elsewhere.
      if (st.nlink > 1) {
        this.opts.logger?.info({ name: offer.name, links: st.nlink }, 'a file already present has other hard links: its mode and mtime are left as they are');
        return;
      }
      if ((st.mode & 0o777) !== mode || Math.floor(st.mtimeMs) !== offer.mtimeMs) fdSetModeAndTime(fd, mode, offer.mtimeMs);
    } catch (e) {
      this.opts.logger?.warn({ name: offer.name, err: (e as Error).message }, 'could not set the mode and mtime of a file already present');
    }
  }

  private async openExistingPartial(partialParts: string[], size: number): Promise<number | null> {
    let fd: number;
    try {
      fd = await this.beneath.open(partialParts, constants.O_RDWR, 0o600);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return null;
      throw e;
    }
    const st = await fdStat(fd);
    if (!st.isFile() || st.size !== size) {
      await fdClose(fd);
      return null;
    }
    return fd;
  }

  /**
   * An unfinished earlier version of this file from the same sender (same name, other content)
   * can no longer complete: the sender's file changed. Its partial and state go now, rather
   * than holding disk space for partial_ttl. A partial another sender's state names stays.
   * The one holding the most is returned open (unlinked or not) with the spans it held: the
   * new version may share most of its chunks (see node/reuse-basis.ts).
   */
  private async dropSuperseded(offer: IncomingFile, rootHex: string): Promise<Basis | null> {
    const busy = new Set<string>([...this.active.values()].map((f) => f.partialRel));
    for (const rel of this.opening.keys()) busy.add(rel);
    let best: Basis | null = null;
    let bestBytes = 0;
    for (const root of await this.resumeStore.rootsOf(offer.peerId)) {
      if (root === rootHex) continue;
      const st = await this.resumeStore.load(offer.peerId, root);
      if (st === null || st.name !== offer.name || busy.has(st.partial)) continue;
      const bytes = rangesBytes(st.have, st.size, st.chunk_size);
      if (bytes > bestBytes && this.opts.reuse !== false) {
        const open = await this.openRegular(st.partial.split('/'), st.size);
        if (open !== null) {
          if (best !== null) await fdClose(best.fd).catch(() => undefined);
          const spans = st.have.map(([first, count]): [number, number] => [first * st.chunk_size, Math.min(st.size, (first + count) * st.chunk_size)]);
          best = { ...open, spans };
          bestBytes = bytes;
        }
      }
      await this.resumeStore.delete(offer.peerId, root);
      if ((await this.resumeStore.peersWith(root)).length === 0) await this.removePartial(st.partial.split('/'));
      this.opts.logger?.info({ name: offer.name, peer: offer.peerId, root }, 'removed the partial of an earlier version of this file');
    }
    return best;
  }

  /** `parts` open read-only, with its size, when it is a regular file (of `size` bytes if given; never waiting on a FIFO), else null. */
  private async openRegular(parts: string[], size: number | null): Promise<{ fd: number; size: number } | null> {
    let fd: number;
    try {
      fd = await this.beneath.open(parts, constants.O_RDONLY | constants.O_NONBLOCK, 0);
    } catch {
      return null; // gone, or not readable by this user
    }
    try {
      const st = await fdStat(fd);
      if (st.isFile() && (size === null || st.size === size)) return { fd, size: st.size };
    } catch {
      // fall through
    }
    await fdClose(fd).catch(() => undefined);
    return null;
  }

  /** A new partial file (O_EXCL), or null when one is left over. */
  private async createPartial(partialParts: string[]): Promise<number | null> {
    try {
      return await this.beneath.open(partialParts, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') return null;
      throw e;
    }
  }

  /** Other senders' resume states for the same partial become wrong once it is restarted. */
  private async forgetOtherStates(rootHex: string, peerId: string, partialRel: string): Promise<void> {
    for (const other of await this.resumeStore.peersWith(rootHex)) {
      if (other === peerId) continue;
      const st = await this.resumeStore.load(other, rootHex);
      if (st !== null && st.partial === partialRel) await this.resumeStore.delete(other, rootHex);
    }
  }

  private async lstatOrNull(parts: readonly string[]): Promise<FsStats | null> {
    try {
      return await this.beneath.lstat(parts);
    } catch (e) {
      if (e instanceof WraithError && e.code === 'E_NOT_FOUND') return null;
      throw e;
    }
  }

  private async lstatAbs(path: string): Promise<FsStats | null> {
    return lstat(path).catch(() => null);
  }
}

interface PartialInit {
  /** This file among the store's active ones (sender, content and partial name). */
  readonly key: string;
  /** Its resume state's key (sender and content). */
  readonly resumeKey: string;
  /** It keeps resume state (another file of the same content may hold it already). */
  readonly resumable: boolean;
  readonly fd: number;
  readonly direct: number | null;
  readonly offer: IncomingFile;
  readonly rootHex: string;
  readonly parts: string[];
  readonly partialParts: string[];
  readonly have: ChunkRanges;
  readonly superseded: Basis | null;
  readonly inMemory: boolean;
}

/** Chunk i's leaf hash in what readLeaves returned, or null if none was saved. */
export function savedLeaf(leaves: Uint8Array | null, i: number): Uint8Array | null {
  if (leaves === null || (i + 1) * 32 > leaves.length) return null;
  const leaf = leaves.subarray(i * 32, (i + 1) * 32);
  return leaf.every((b) => b === 0) ? null : leaf;
}

/** A file being received. Not safe to use after complete() or abort(). */
export class PartialFile implements WriteTarget {
  readonly key: string;
  readonly resumeKey: string;
  readonly resumable: boolean;
  readonly fd: number;
  /** The O_DIRECT fd for aligned chunk writes, or null (see direct-writes.ts). */
  direct: number | null;
  readonly offer: IncomingFile;
  readonly rootHex: string;
  readonly parts: string[];
  readonly partialParts: string[];
  readonly partialRel: string;
  /** Absolute path of the partial file. */
  readonly path: string;
  /** Chunks already verified on disk from an earlier attempt (send them in ACCEPT). */
  readonly resumed: ChunkRanges;
  /** Bytes those chunks hold. */
  readonly resumedBytes: number;
  /** On tmpfs or ramfs: nothing to make durable, so no fsync. */
  readonly inMemory: boolean;
  /** The partial of an earlier version this one replaced, open, until takeSuperseded(). */
  private superseded: Basis | null;
  private closed = false;
  /** Saving resume state failed once: no more tries for this file (saveProgress). */
  private stateUnsaved = false;
  /** Leaf hashes of chunks written since the last saveProgress. */
  private pendingLeaves = new Map<number, Uint8Array>();
  private leavesFh: Promise<FileHandle> | null = null;

  /** @internal The open leaves file, opened once per partial. */
  leavesHandle(openIt: () => Promise<FileHandle>): Promise<FileHandle> {
    this.leavesFh ??= openIt();
    return this.leavesFh;
  }

  private async closeDirect(): Promise<void> {
    const fd = this.direct;
    this.direct = null;
    if (fd !== null) await fdClose(fd).catch(() => undefined);
  }

  private async closeLeaves(): Promise<void> {
    const fh = this.leavesFh;
    this.leavesFh = null;
    if (fh) await (await fh).close().catch(() => undefined);
  }

  constructor(
    private readonly store: FileStore,
    init: PartialInit,
  ) {
    this.key = init.key;
    this.resumeKey = init.resumeKey;
    this.resumable = init.resumable;
    this.fd = init.fd;
    this.direct = init.direct;
    this.offer = init.offer;
    this.rootHex = init.rootHex;
    this.parts = init.parts;
    this.partialParts = init.partialParts;
    this.partialRel = init.partialParts.join('/');
    this.path = store.abs(init.partialParts);
    this.resumed = init.have;
    this.resumedBytes = rangesBytes(init.have, init.offer.size, init.offer.chunkSize);
    this.inMemory = init.inMemory;
    this.superseded = init.superseded;
  }

  /** The replaced partial of an earlier version (see FileStore.dropSuperseded), once; the caller closes it. */
  takeSuperseded(): Basis | null {
    const b = this.superseded;
    this.superseded = null;
    return b;
  }

  private async closeSuperseded(): Promise<void> {
    const b = this.takeSuperseded();
    if (b !== null) await fdClose(b.fd).catch(() => undefined);
  }

  get chunkCount(): number {
    return chunkCount(this.offer.size, this.offer.chunkSize);
  }

  private assertOpen(): void {
    if (this.closed) throw new WraithError('E_INTERNAL', `${this.offer.name}: the partial file is already closed`);
  }

  /** A partial deleted from under the node (nlink 0) can never be installed: say so at once. */
  private assertLinked(): void {
    let nlink: number;
    try {
      nlink = fstatSync(this.fd).nlink;
    } catch {
      return;
    }
    if (nlink === 0) {
      throw new WraithError('E_IO', `${this.path} was deleted while it was being received (by something else on the receiving host)`, { path: this.path },
        'leave .*.wraith-part files alone while wraith receives them, and send again');
    }
  }

  /** Writes verified bytes at `offset`. */
  async write(data: Uint8Array, offset: number): Promise<void> {
    this.assertOpen();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > this.offer.size) {
      throw new WraithError('E_PROTOCOL', `write of ${data.length} bytes at ${offset} is outside ${this.offer.name} (${this.offer.size} bytes)`);
    }
    try {
      await fdWriteAll(this.fd, data, offset);
    } catch (e) {
      throw ioError('write', this.path, e);
    }
    this.store.wrote(this, data.length);
    this.store.opts.stats?.fileIo('write', 'fs', data.length);
  }

  /** Remember chunk i's leaf hash; saved with the next saveProgress. */
  noteLeaf(i: number, leaf: Uint8Array): void {
    this.pendingLeaves.set(i, leaf);
  }

  /** The leaf hashes an earlier attempt saved (see FileStore.readLeaves). */
  readLeaves(): Promise<Uint8Array | null> {
    return this.store.readLeaves(this);
  }

  /**
   * Records the verified chunks (all of them, as ranges): flushes the data first so the state
   * never claims bytes that are not on disk. Call it now and then (every few MiB or seconds),
   * not per chunk.
   */
  async saveProgress(have: ChunkRanges): Promise<void> {
    this.assertOpen();
    this.assertLinked();
    if (this.stateUnsaved) return;
    const ranges = normalizeRanges(have, this.chunkCount);
    if (ranges === null) throw new WraithError('E_INTERNAL', `saveProgress: malformed chunk ranges for ${this.offer.name}`);
    // The leaves noted so far cover `have`; chunks written during the awaits below note theirs
    // in a fresh map for the next call (clearing the shared one lost them).
    const leaves = this.pendingLeaves;
    this.pendingLeaves = new Map();
    try {
      if (!this.inMemory) {
        await fdDatasync(this.fd);
        this.store.opts.stats?.fileIo('fsync', 'fs');
      }
    } catch (e) {
      for (const [i, leaf] of leaves) if (!this.pendingLeaves.has(i)) this.pendingLeaves.set(i, leaf);
      throw e;
    }
    try {
      await this.store.saveLeaves(this, leaves);
      await this.store.saveState(this, ranges);
    } catch (e) {
      // The state directory (the home), not the received data, failed (full, read-only): the
      // file still arrives, it only cannot resume from here on. What was saved before stays
      // true: it names chunks synced then.
      this.stateUnsaved = true;
      this.pendingLeaves.clear();
      this.store.opts.logger?.warn({ name: this.offer.name, err: (e as Error).message }, 'cannot save resume state (is the home full?): the file is still received; after an interruption it resumes from the last state saved');
    }
  }

  /** Applies mode and mtime, makes the data durable and installs the final name. */
  async complete(): Promise<InstallResult> {
    this.assertOpen();
    this.closed = true;
    await this.closeLeaves();
    await this.closeDirect();
    await this.closeSuperseded();
    try {
      try {
        this.assertLinked();
        fdSetModeAndTime(this.fd, this.store.modeFor(this.offer.mode), this.offer.mtimeMs);
      } catch (e) {
        await fdClose(this.fd).catch(() => undefined);
        throw e;
      }
      if (this.inMemory) {
        closeSync(this.fd);
      } else {
        await fdSyncAndClose(this.fd);
        this.store.opts.stats?.fileIo('fsync', 'fs');
      }
      return await this.store.install(this);
    } finally {
      this.store.forget(this);
    }
  }

  /**
   * Stops receiving. With `keep` (and resume state kept for this file) the partial and its
   * state stay for a later resume; otherwise both are deleted.
   */
  async abort(opts: { keep?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeLeaves();
    await this.closeDirect();
    await this.closeSuperseded();
    await fdClose(this.fd).catch(() => undefined);
    if (!(opts.keep && this.resumable)) await this.store.discard(this);
    this.store.forget(this);
  }
}

/**
 * A file or directory in the way of a component above `name` (`tree` a file, `tree/b` offered):
 * the error names the entry that failed too, or every entry below says the same line.
 */
function namingEntry(name: string, e: WraithError): WraithError {
  const blocking = e.details?.['name'];
  if (e.code !== 'E_EXISTS' || typeof blocking !== 'string' || blocking === name) return e;
  return new WraithError(e.code, `${name}: ${e.message}`, { ...e.details, name }, e.hint);
}
