import { ChunkSet, WraithError, bytesEqual, chunkCount, leafHash, type ErrorCode, type FileManifest, type SessionEvent } from '@wraith/core';
import type { Logger } from 'pino';
import type { Stats } from '../stats.js';
import { monoMs } from '../clock.js';
import type { Basis, FileStore, PartialFile } from '../store/index.js';
import { writeBatch } from '../store/direct-writes.js';
import type { ReceiveUi } from '../ui/types.js';
import { nowMicros } from './driver.js';
import type { WraithNode } from './node.js';
import { RateMeter } from './rate.js';
import { verifyHeld } from './verify-held.js';
import { copyMatchingChunks, holdZeros, reuseCandidates } from './reuse-basis.js';
import { fdClose } from '../store/fdio.js';
import { OpenSlots } from '../store/open-slots.js';
import { refusesWrites } from '../store/read-only.js';
import type { PeerDirs } from './peer-dirs.js';

/** Files at least this big say "receiving" at info level when they start; smaller ones at debug. */
const RECEIVING_INFO_BYTES = 1 << 20;
/** Make verified chunks durable (fdatasync + resume state) at least this often. */
const SYNC_BYTES = 32 * 1024 * 1024;
const SYNC_DELAY_MS = 250;

interface Rx {
  key: string;
  session: number;
  transferId: number;
  peerId: string;
  manifest: FileManifest;
  file: PartialFile | null;
  /** Chunks held: synced, or found before the accept (zeros, an older copy's), which the next resume-state save (after its fdatasync) names too. */
  held: ChunkSet;
  /** Written but not yet synced. */
  unsynced: number[];
  unsyncedBytes: number;
  /** Verified chunks to write; a `zero` one is shared zeros the sparse partial already reads as. */
  queue: Array<{ index: number; offset: number; bytes: Uint8Array; leaf: Uint8Array; zero: boolean }>;
  writing: boolean;
  /** The write batch in flight: the fd must outlive it (a closed number can be reused at once). */
  inflight: Promise<unknown> | null;
  syncTimer: NodeJS.Timeout | null;
  syncing: Promise<void> | null;
  received: boolean;
  failed: boolean;
  bytesDone: number;
  /** Held already when the offer was taken (a resume). */
  resumedBytes: number;
  /** Wall clock (ms) when the offer was taken. */
  startedMs: number;
  /** monoMs() then: durations, whatever the wall clock does. */
  startedMono: number;
}

/** An offer of a file not yet accepted, while the node checks what it holds of it. */
interface Preparing {
  entry: ReceiveEntry;
  startedMono: number;
  session: number;
  transferId: number;
  /** The operator cancelled it (the offer is refused already). */
  cancelled: boolean;
}

/** A file being received, or one of the last RECENT_KEPT finished (for the admin API). */
export interface ReceiveEntry {
  key: string;
  peerId: string;
  name: string;
  size: number;
  done: number;
  /** Of `done`, what a resume found already held: it did not arrive in this receive. */
  resumed: number;
  /** `preparing`: offered, not yet accepted: the receiver checks what it already holds (a partial, a copy). */
  state: 'preparing' | 'receiving' | 'installing' | 'completed' | 'failed' | 'cancelled';
  startedMs: number;
  finishedMs: number | null;
  /** Time since the offer was taken, or until it ended, on the monotonic clock. */
  elapsedMs: number;
  error: { code: string; message: string } | null;
}

const RECENT_KEPT = 200;
/**
 * How long a receiver waits for more of a leaf row it asked for (a 1 TiB file's row takes ~2000
 * round trips of the control stream) before it receives every chunk instead.
 */
const LEAVES_STALL_MS = 30_000;
/** Older copies read at once: each pass holds 16 MiB of buffers, and the reads compete for the disk. */
const REUSE_PASSES = 2;
/**
 * A sparse offer with this much in all-zero chunks asks for the leaf row even with no older copy
 * around: its zero chunks are then held at once, and nothing at all is sent for them. Fewer fit
 * in one flow window as ZERO_CHUNK frames, where the row's round trip would cost more.
 */
const ZERO_PREFILL_MIN = 32 << 20;
/** Older copies at least this big say "comparing" at info level when their compare starts. */
const COMPARE_INFO_BYTES = 256 << 20;
/** Largest leaf row asked for (128 MiB: a 1 TiB file at 256 KiB chunks); a bigger file is received whole. */
const MAX_REUSE_LEAVES = 4 << 20;
/** Why a receive ends whose offer the sender cancelled before it was accepted. */
const CANCELLED_EARLY = 'cancelled by the sender before it was accepted';
const CANCELLED_HERE = "cancelled by the receiver's operator";

export interface IncomingStats {
  /** Files received and verified, and their bytes. */
  files: number;
  bytes: number;
  /** Files this host already held whole (not sent again). */
  present: number;
  /** Directories of trees. */
  dirs: number;
  errors: WraithError[];
}

/**
 * The receive side of a node: offers become partial files in the store,
 * verified chunks are written through FileIo and count as held only once
 * synced, and completed files are installed under their final names.
 */
export class IncomingTransfers {
  private readonly rx = new Map<string, Rx>();
  /** Sessions ended by a refusal that holds for every file (download directory gone or read-only). */
  private readonly endedWide = new Set<number>();
  /** Receives whose write or sync failed: failWrite answers once. */
  private readonly failingWrites = new WeakSet<Rx>();
  /** Failed receives still letting go of their partial (fail() under way), and when they are done. */
  private readonly releasing = new Map<Rx, Promise<void>>();
  /** Offers being opened, by name and content: one at a time (see onOffer). */
  private readonly opening = new Map<string, Promise<void>>();
  /** Offers waiting for the leaf row they asked for: the row, null (none coming) or the error that ended the offer. */
  private readonly leafWaits = new Map<string, (got: Uint8Array | null | WraithError) => void>();
  private readonly reusePasses = new OpenSlots(REUSE_PASSES);
  /** Offers of files not yet accepted, while the receiver checks what it holds of them (for the admin API). */
  private readonly preparing = new Map<string, Preparing>();
  private readonly recent: ReceiveEntry[] = [];
  readonly totals: IncomingStats = { files: 0, bytes: 0, present: 0, dirs: 0, errors: [] };
  private readonly meter = new RateMeter();
  /** Received directories per session: mode and mtime wait until their contents are in. */
  private readonly dirs = new Map<number, Map<string, { mode: number; mtimeMs: number; dirty: boolean; exact: boolean }>>();
  /** Fires when a session has no transfer left (for `receive --once`). */
  onIdle: ((session: number) => void) | null = null;

  constructor(
    private readonly node: WraithNode,
    private readonly store: FileStore,
    private readonly log: Logger,
    private readonly stats: Stats,
    private readonly ui: ReceiveUi | null,
    /** [receive] peer_dirs: where each sender's names go. */
    private readonly peerDirs: PeerDirs | null = null,
  ) {}

  get activeCount(): number {
    return this.rx.size;
  }

  /** The last finished receives (oldest first), then those in progress. */
  list(): ReceiveEntry[] {
    const active = [...this.rx.values()].map((r): ReceiveEntry => ({
      ...this.entryOf(r, r.received ? 'installing' : 'receiving', null),
      finishedMs: null,
    }));
    const now = monoMs();
    const preparing = [...this.preparing.values()].map((p): ReceiveEntry => ({ ...p.entry, elapsedMs: now - p.startedMono }));
    return [...this.recent, ...preparing, ...active];
  }

  private entryOf(r: Rx, state: ReceiveEntry['state'], error: ReceiveEntry['error']): ReceiveEntry {
    const { key, peerId, startedMs } = r;
    return {
      key,
      peerId,
      name: r.manifest.name,
      size: r.manifest.size,
      done: r.bytesDone,
      resumed: r.resumedBytes,
      state,
      startedMs,
      finishedMs: Date.now(),
      elapsedMs: monoMs() - r.startedMono,
      error,
    };
  }

  private remember(e: ReceiveEntry): void {
    this.recent.push(e);
    if (this.recent.length > RECENT_KEPT) this.recent.shift();
  }

  handle(e: SessionEvent): void {
    switch (e.type) {
      case 'offer':
        this.onOffer(e.session, e.transferId, e.peerId, this.placed(e.peerId, e.manifest), e.zeroBytes).catch((err) => {
          // onOffer answers every failure itself: this is the last guard, the daemon stays up.
          this.log.error({ peer: e.peerId, name: e.manifest.name, err: asWraith(err).message }, 'offer handling failed');
        });
        return;
      case 'chunk_verified': {
        const r = this.rx.get(key(e.session, e.transferId));
        if (!r || this.stopped(r)) return;
        r.queue.push({ index: e.index, offset: e.offset, bytes: e.bytes, leaf: e.leaf, zero: e.zero });
        void this.pump(r);
        return;
      }
      case 'leaves':
        this.leafWaits.get(key(e.session, e.transferId))?.(e.leaves);
        return;
      case 'transfer_received': {
        const r = this.rx.get(key(e.session, e.transferId));
        if (!r) return;
        r.received = true;
        void this.pump(r);
        return;
      }
      case 'transfer_failed': {
        // The sender's cancel ends an offer as if it came before the leaf row was asked for.
        this.leafWaits.get(key(e.session, e.transferId))?.(e.byPeer ? null : new WraithError(e.code, e.reason));
        const r = this.rx.get(key(e.session, e.transferId));
        if (r) void this.fail(r, e.code, e.reason, false);
        return;
      }
      case 'closed': {
        // Refusals of the offers that came with it may still be under way: let them find it.
        const ended = e.session;
        for (const [k, wake] of this.leafWaits) if (k.startsWith(`${ended}/`)) wake(null);
        if (this.endedWide.has(ended)) setTimeout(() => this.endedWide.delete(ended), 5000).unref();
        for (const r of [...this.rx.values()]) if (r.session === e.session) void this.fail(r, e.code ?? 'E_PEER_CLOSED', e.reason, false);
        void this.flushDirs(e.session, true).finally(() => this.dirs.delete(e.session));
        return;
      }
      default:
        return;
    }
  }

  /** The offer under the name it is stored as: below the sender's own directory with peer_dirs. */
  private placed(peerId: string, m: FileManifest): FileManifest {
    const name = this.peerDirs?.place(peerId, m.name) ?? m.name;
    return name === m.name ? m : { ...m, name };
  }

  private async onOffer(session: number, transferId: number, peerId: string, m: FileManifest, zeroBytes: number): Promise<void> {
    const ep = this.node.endpoint;
    const k = key(session, transferId);
    let release: (() => void) | null = null;
    const openKey = `${m.name}\0${Buffer.from(m.root).toString('hex')}`;
    try {
      // The engine closes an unauthorised initiator's session at its FINISH, but offers that
      // arrive with it were still delivered (and created partial files): check here too.
      const authorize = this.node.opts.authorize;
      if (authorize && !authorize(peerId, this.node.sessionPeers.get(session)?.addr ?? { host: 'unknown', port: 0 })) {
        throw new WraithError('E_PEER_NOT_AUTHORIZED', 'this peer is not authorised here');
      }
      if (m.kind === 'dir') {
        // A directory has no data: accept and confirm it at once. Its mode and mtime are applied
        // once its contents are in (installing a file changes the mtime), see flushDirs.
        await this.store.makeDirectory(m.name);
        this.noteDir(session, m.name, m.mode, m.mtimeMs);
        if (!ep.sessionOpen(session) || !this.accepted(session, transferId, [])) return;
        if (!this.busy(session)) await this.flushDirs(session, false);
        if (ep.hasSession(session)) ep.finishTransfer(session, transferId, 'verified');
        this.node.driver.kick();
        this.totals.dirs++;
        this.ui?.file({ transfer_id: k, name: m.name, status: 'received', kind: 'dir', bytes: 0, root: null });
        return;
      }
      const entry: ReceiveEntry = {
        key: k, peerId, name: m.name, size: m.size, done: 0, resumed: 0, state: 'preparing', startedMs: Date.now(), finishedMs: null, elapsedMs: 0, error: null,
      };
      const prep: Preparing = { entry, startedMono: monoMs(), session, transferId, cancelled: false };
      this.preparing.set(k, prep);
      // One name and content opens one offer at a time. Two runs of the same send at once would
      // both reach the store, and the second be refused as "already being received"; this way
      // it finds the first receive below, waits for it, and then finds the file already present.
      for (let o = this.opening.get(openKey); o !== undefined; o = this.opening.get(openKey)) await o;
      release = this.holdOpening(openKey);
      await this.supersede(session, peerId, m);
      if (!ep.sessionOpen(session)) return; // gone while it waited for another receive of the file
      const begun = await this.store.begin({
        peerId,
        root: m.root,
        name: m.name,
        size: m.size,
        mode: m.mode,
        mtimeMs: m.mtimeMs,
        chunkSize: m.chunkSize,
        zeroBytes,
        stop: () => this.withdrawn(prep),
      });
      if (!ep.sessionOpen(session)) {
        if (begun.status === 'ready') await begun.file.abort({ keep: begun.file.resumed.length > 0 });
        return;
      }
      const n = chunkCount(m);
      if (begun.status === 'already_present') {
        const r = this.newRx(k, session, transferId, peerId, m, null, ChunkSet.fromRanges(n, n > 0 ? [[0, n]] : []));
        this.rx.set(k, r);
        this.preparing.delete(k);
        if (!this.accepted(session, transferId, n > 0 ? [[0, n]] : [])) await this.fail(r, 'E_TRANSFER_CANCELLED', prep.cancelled ? CANCELLED_HERE : CANCELLED_EARLY, false);
      } else {
        // An empty file's one chunk has no bytes and no proof: check its root here and accept it
        // as held (the engine then reports it received without any data).
        if (m.size === 0 && !bytesEqual(m.root, leafHash(this.node.hasher, new Uint8Array(0)))) {
          await begun.file.abort({ keep: false });
          throw new WraithError('E_INTEGRITY', `the root offered for empty file ${JSON.stringify(m.name)} is not the hash of no data`);
        }
        let held: ChunkSet;
        let reused = 0;
        let zeros = 0;
        try {
          held = m.size === 0 ? ChunkSet.fromRanges(1, [[0, 1]]) : await this.verifyHeld(prep, begun.file, m);
          ({ reused, zeros } = await this.prefill(prep, begun.file, m, held, zeroBytes));
        } catch (e) {
          // A leaf row that lied about the content: nothing of this partial is worth keeping.
          await begun.file.abort({ keep: begun.file.resumed.length > 0 && asWraith(e).code !== 'E_INTEGRITY' }).catch(() => undefined);
          throw e;
        }
        // Re-hashing a big partial takes a while: the sender may have gone meanwhile, and no
        // closed event will come for a receive not yet registered.
        if (!ep.sessionOpen(session)) {
          // Only what a resume state names is worth keeping: a fresh partial holds nothing yet.
          await begun.file.abort({ keep: begun.file.resumed.length > 0 });
          return;
        }
        const r = this.newRx(k, session, transferId, peerId, m, begun.file, held);
        r.bytesDone = r.resumedBytes = begun.file.resumedBytes + reused + zeros;
        this.rx.set(k, r);
        this.preparing.delete(k);
        this.stats.transfersActive.inc({ direction: 'receive' });
        this.ui?.started({ transfer_id: k, direction: 'receive', peer: peerId, files: 1, bytes_total: m.size });
        // One info line per small file (at its end): a tree of 20000 files logged 40000 lines.
        const level = m.size >= RECEIVING_INFO_BYTES ? 'info' : 'debug';
        this.log[level]({ peer: peerId, name: m.name, size: m.size, resumed_chunks: held.count, ...(reused > 0 ? { reused_bytes: reused } : {}), ...(zeros > 0 ? { zero_bytes: zeros } : {}) }, 'receiving');
        if (!this.accepted(session, transferId, held.toRanges(), reused)) await this.fail(r, 'E_TRANSFER_CANCELLED', prep.cancelled ? CANCELLED_HERE : CANCELLED_EARLY, false);
      }
      this.node.driver.kick();
    } catch (err) {
      const e = asWraith(err);
      const prep = this.preparing.get(k);
      if (prep !== undefined && this.withdrawn(prep) && e.code === 'E_TRANSFER_CANCELLED') {
        // Stopped on purpose: the operator refused it (already told the sender), or the sender left.
        this.log[prep.cancelled ? 'info' : 'debug']({ peer: peerId, name: m.name, reason: e.message }, 'offer withdrawn while it was prepared');
        if (prep.cancelled) {
          this.stats.transferFinished('receive', 'cancelled');
          this.remember({ ...prep.entry, elapsedMs: monoMs() - prep.startedMono });
        }
        return;
      }
      // Offers of a session a receiver-wide refusal already ended (a tree's files, offered
      // together) were refused with it: once at warn is enough.
      this.log[this.endedWide.has(session) ? 'debug' : 'warn']({ peer: peerId, name: m.name, code: e.code, err: e.message }, 'offer refused');
      this.stats.transferFinished('receive', 'rejected');
      if (ep.hasSession(session)) {
        try {
          ep.reject(session, transferId, e.code, this.wireReason(e.message));
        } catch {
          // the sender cancelled it meanwhile
        }
        // Every other file would be refused the same way: the sender stops at this, not after
        // one refusal per file of its tree.
        if (e.details?.['receiverWide'] === true && !this.endedWide.has(session)) {
          this.endedWide.add(session);
          ep.close(nowMicros(), session, e.code, this.wireReason(e.message));
        }
        this.node.driver.kick();
      }
    } finally {
      release?.();
      this.preparing.delete(k);
    }
  }

  /** The offer being prepared went away: the operator refused it, or its session ended. */
  private withdrawn(prep: Preparing): boolean {
    return prep.cancelled || !this.node.endpoint.sessionOpen(prep.session);
  }

  /** Marks a name and content as being opened; the returned call ends that and wakes who waits. */
  private holdOpening(openKey: string): () => void {
    let wake!: () => void;
    this.opening.set(openKey, new Promise<void>((r) => (wake = r)));
    return () => {
      this.opening.delete(openKey);
      wake();
    };
  }

  /**
   * ACCEPT, unless the sender cancelled the offer while it was being prepared (its CANCEL may
   * come right behind the OFFER): then false, and the caller drops what it set up.
   */
  private accepted(session: number, transferId: number, held: Array<[number, number]>, reused?: number): boolean {
    try {
      this.node.endpoint.accept(session, transferId, held, reused);
      return true;
    } catch (err) {
      if (asWraith(err).code === 'E_TRANSFER_UNKNOWN') return false;
      throw err;
    }
  }

  /**
   * What the receiver can hold before any data comes, with the offer's leaf row (asked of the
   * sender): its all-zero chunks, which a fresh or same-content partial already reads as
   * zeros, and the chunks an older copy has (see reuse-basis.ts): the partial of an earlier
   * version this offer replaced, then the file under the offered name, copied into the partial.
   * Adds them to `held`. A copy that cannot be read costs only the reuse: those chunks are
   * received.
   */
  private async prefill(prep: Preparing, file: PartialFile, m: FileManifest, held: ChunkSet, zeroBytes: number): Promise<{ reused: number; zeros: number }> {
    const { session, transferId } = prep;
    const none = { reused: 0, zeros: 0 };
    const ep = this.node.endpoint;
    const n = chunkCount(m);
    const bases: Array<{ basis: Basis; what: string }> = [];
    const earlier = file.takeSuperseded();
    if (earlier !== null) bases.push({ basis: earlier, what: 'the partial of an earlier version' });
    try {
      if (n < 2 || n > MAX_REUSE_LEAVES || held.count === n || !ep.sessionOpen(session) || !ep.peerSendsLeaves(session)) return none;
      const named = await this.store.openBasis(file);
      if (named !== null) bases.push({ basis: named, what: 'the file already under this name' });
      const hasher = this.node.hasher;
      if (zeroBytes < ZERO_PREFILL_MIN && !bases.some((b) => reuseCandidates(hasher, m, b.basis, held, null).length > 0)) return none;
      const leaves = await this.leavesOf(session, transferId);
      if (leaves === null) return none;
      const zeros = zeroBytes > 0 ? holdZeros(hasher, m, leaves, held, (i, leaf) => file.noteLeaf(i, leaf)) : 0;
      let reused = 0;
      for (const { basis, what } of bases) {
        const todo = reuseCandidates(hasher, m, basis, held, leaves);
        if (todo.length === 0) continue;
        let got: Awaited<ReturnType<typeof copyMatchingChunks>>;
        // A big copy takes a while to read, before the transfer shows anywhere: say so.
        if (todo.length * m.chunkSize >= COMPARE_INFO_BYTES) this.log.info({ name: m.name, from: what, bytes: todo.length * m.chunkSize }, 'comparing an older copy with the offer');
        await this.reusePasses.acquire();
        try {
          got = await copyMatchingChunks(
            this.node.io,
            hasher,
            basis,
            file,
            m,
            leaves,
            todo,
            (err) => this.log.warn({ name: m.name, err: asWraith(err).message }, 'an O_DIRECT write failed: this file goes through the page cache from here'),
            () => this.withdrawn(prep),
          );
        } catch (err) {
          // A session that ended meanwhile (the daemon stopping cancels its I/O) is no news.
          this.log[ep.sessionOpen(session) ? 'warn' : 'debug']({ name: m.name, err: asWraith(err).message }, `could not copy chunks from ${what}: they are received`);
          continue;
        } finally {
          this.reusePasses.release();
        }
        this.log.debug({ name: m.name, from: what, candidates: todo.length, reused_chunks: got.chunks.length, read: got.read }, 'compared an older copy with the offer');
        this.stats.fileIo('read', this.node.io.backend, got.read);
        if (got.chunks.length === 0) continue;
        this.store.wrote(file, got.bytes);
        this.stats.fileIo('write', this.node.io.backend, got.bytes);
        for (const i of got.chunks) {
          file.noteLeaf(i, leaves.slice(i * 32, i * 32 + 32));
          held.add(i);
        }
        reused += got.bytes;
      }
      // No sync of its own: the next resume-state save (within 250 ms of the first data written)
      // names these chunks too, after its fdatasync; a crash before it only means receiving them.
      if (reused > 0) this.stats.reusedBytes.inc(reused);
      if (zeros > 0) this.stats.zeroBytes.inc({ direction: 'rx' }, zeros);
      return { reused, zeros };
    } finally {
      for (const { basis } of bases) await fdClose(basis.fd).catch(() => undefined);
    }
  }

  /** The leaf row of an offer, asked of its sender; null when none comes (the offer or session ended, or too slow). */
  private leavesOf(session: number, transferId: number): Promise<Uint8Array | null> {
    const k = key(session, transferId);
    // A session that closed while the offer was being opened still takes the request (it drains),
    // but its `closed` event, which wakes the waits, has passed: this one would sit out the stall timer.
    if (!this.node.endpoint.sessionOpen(session)) return Promise.resolve(null);
    try {
      this.node.endpoint.requestLeaves(session, transferId);
    } catch (err) {
      if (asWraith(err).code === 'E_TRANSFER_UNKNOWN') return Promise.resolve(null);
      throw err;
    }
    this.node.driver.kick();
    return new Promise((resolve, reject) => {
      let seen = 0;
      const timer = setInterval(() => {
        const now = this.node.endpoint.leavesReceived(session, transferId);
        if (now !== null && now > seen) {
          seen = now;
          return;
        }
        this.log.warn({ peer: this.node.sessionPeers.get(session)?.peerId, transfer: transferId }, 'the sender stopped sending the leaf row: every chunk is received');
        wake(null);
      }, LEAVES_STALL_MS);
      timer.unref();
      const wake = (got: Uint8Array | null | WraithError): void => {
        clearInterval(timer);
        this.leafWaits.delete(k);
        if (got instanceof WraithError) reject(got);
        else resolve(got);
      };
      this.leafWaits.set(k, wake);
    });
  }

  private async verifyHeld(prep: Preparing, file: PartialFile, m: FileManifest): Promise<ChunkSet> {
    // A fresh partial has nothing to re-hash: no leaves file to look for.
    const leaves = file.resumed.length > 0 ? await file.readLeaves() : null;
    const { held, claimed, stopped } = await verifyHeld(this.node.io, this.node.hasher, file.fd, m, file.resumed, leaves, () => this.withdrawn(prep));
    // What was not checked yet is not lost: the resume state still names it.
    if (stopped) throw new WraithError('E_TRANSFER_CANCELLED', `re-hashing the partial of ${m.name} stopped: the offer was withdrawn`);
    if (held.count < claimed) {
      this.log.warn({ name: m.name, claimed, verified: held.count }, 'resume: some held chunks failed re-hashing and will be fetched again');
    }
    return held;
  }

  private newRx(k: string, session: number, transferId: number, peerId: string, m: FileManifest, file: PartialFile | null, held: ChunkSet): Rx {
    return {
      key: k,
      session,
      transferId,
      peerId,
      manifest: m,
      file,
      held,
      unsynced: [],
      unsyncedBytes: 0,
      queue: [],
      writing: false,
      inflight: null,
      syncTimer: null,
      syncing: null,
      received: false,
      failed: false,
      bytesDone: 0,
      resumedBytes: 0,
      startedMs: Date.now(),
      startedMono: monoMs(),
    };
  }

  /** Writes queued chunks in batches, syncs, and installs when everything is in. */
  private async pump(r: Rx): Promise<void> {
    if (r.writing || this.stopped(r)) return;
    r.writing = true;
    try {
      while (r.queue.length > 0 && !this.stopped(r)) {
        const batch = r.queue.splice(0, 64);
        if (r.file) {
          const file = r.file;
          const w = writeBatch(
            this.node.io,
            file,
            batch.filter((c) => !c.zero).map((c) => ({ offset: c.offset, data: c.bytes })),
            (err) => this.log.warn({ name: r.manifest.name, err: asWraith(err).message }, 'an O_DIRECT write failed: this file goes through the page cache from here'),
          );
          r.inflight = w;
          let n: Awaited<typeof w>;
          try {
            n = await w;
          } finally {
            r.inflight = null;
          }
          this.store.wrote(file, n.direct + n.buffered);
          if (n.buffered > 0) this.stats.fileIo('write', this.node.io.backend, n.buffered);
          if (n.direct > 0) this.stats.fileIo('write_direct', this.node.io.backend, n.direct);
          for (const c of batch) {
            r.unsynced.push(c.index);
            r.unsyncedBytes += c.bytes.length;
            r.file.noteLeaf(c.index, c.leaf);
          }
        }
        if (this.stopped(r)) break; // fail() saves what this batch wrote
        // Written (in the page cache): flow control may move on at once. What a resume may
        // trust ("held") is only what a later sync made durable (see sync()).
        this.written(r, batch);
        // The file's last chunks need no resume state: complete() fsyncs the file before the
        // sender hears it is done (a crash before that re-fetches them).
        if (r.held.count + r.unsynced.length >= chunkCount(r.manifest)) r.unsyncedBytes = 0;
        else if (r.unsyncedBytes >= SYNC_BYTES) void this.sync(r).catch((err) => void this.failWrite(r, err));
        else this.armSync(r);
      }
      if (r.received && !this.stopped(r) && r.queue.length === 0) await this.finish(r);
    } catch (err) {
      await this.failWrite(r, err);
    } finally {
      r.writing = false;
    }
    if (r.queue.length > 0 && !this.stopped(r)) void this.pump(r);
  }

  /** Failed, or failing (its write error being looked into): nothing more is written. */
  private stopped(r: Rx): boolean {
    return r.failed || this.failingWrites.has(r);
  }

  private armSync(r: Rx): void {
    if (r.syncTimer || r.unsynced.length === 0) return;
    r.syncTimer = setTimeout(() => {
      r.syncTimer = null;
      this.sync(r).catch((err) => void this.failWrite(r, err));
    }, SYNC_DELAY_MS);
  }

  /** Chunks are on their way to disk: tell the engine (opens the window) and report progress. */
  private written(r: Rx, batch: ReadonlyArray<{ index: number; bytes: Uint8Array; zero: boolean }>): void {
    const ep = this.node.endpoint;
    let bytes = 0;
    let zeros = 0;
    for (const c of batch) {
      bytes += c.bytes.length;
      if (c.zero) zeros += c.bytes.length;
    }
    if (ep.hasSession(r.session)) for (const c of batch) ep.chunkWritten(r.session, r.transferId, c.index);
    r.bytesDone += bytes;
    this.meter.add(bytes);
    this.stats.payloadBytes.inc({ direction: 'rx' }, bytes - zeros);
    if (zeros > 0) this.stats.zeroBytes.inc({ direction: 'rx' }, zeros);
    this.ui?.progress({
      transfer_id: r.key,
      bytes_total: r.manifest.size,
      bytes_done: r.bytesDone,
      rate_bps: this.meter.rate(),
      eta_s: null,
    });
    this.node.driver.kick();
  }

  /**
   * fdatasync, then the resume state names the chunks written before it: only those count as
   * held for a later resume. Runs beside the writes, one at a time.
   */
  private async sync(r: Rx): Promise<void> {
    while (r.syncing) await r.syncing;
    if (r.unsynced.length === 0 || !r.file) return;
    if (r.syncTimer) clearTimeout(r.syncTimer);
    r.syncTimer = null;
    const chunks = r.unsynced;
    r.unsynced = [];
    r.unsyncedBytes = 0;
    const file = r.file;
    const job = (async () => {
      const held = ChunkSet.fromRanges(chunkCount(r.manifest), r.held.toRanges());
      for (const i of chunks) held.add(i);
      await file.saveProgress(held.toRanges());
      for (const i of chunks) r.held.add(i);
    })();
    r.syncing = job;
    try {
      await job;
    } finally {
      r.syncing = null;
    }
  }

  private async finish(r: Rx): Promise<void> {
    const ep = this.node.endpoint;
    let status: 'verified' | 'already_present' = 'already_present';
    /** The name it was installed under when the offered one was taken (on_conflict = "rename"). */
    let storedAs: string | undefined;
    if (r.file) {
      // complete() fsyncs the whole file itself: no resume-state sync may start after this (a
      // pending timer would run saveProgress on the closed file and cancel the transfer).
      if (r.syncTimer) clearTimeout(r.syncTimer);
      r.syncTimer = null;
      r.unsynced = [];
      r.unsyncedBytes = 0;
      while (r.syncing) await r.syncing;
      const res = await r.file.complete();
      status = res.status === 'installed' ? 'verified' : 'already_present';
      if (res.name !== r.manifest.name) storedAs = res.name;
      this.touchDir(r.session, res.name);
      // The root lets an operator check the file later (`wraith hash`) against what the sender printed.
      this.log.info({ name: res.name, path: res.path, size: r.manifest.size, root: Buffer.from(r.manifest.root).toString('hex'), status: res.status }, 'file received');
    }
    this.rx.delete(r.key);
    // The admin API lists a receive under the name it was stored as.
    this.remember({ ...this.entryOf(r, 'completed', null), done: r.manifest.size, ...(storedAs !== undefined ? { name: storedAs } : {}) });
    if (r.file) this.stats.transfersActive.dec({ direction: 'receive' });
    this.stats.transferFinished('receive', status === 'verified' ? 'completed' : 'already_present');
    if (status === 'verified') {
      this.totals.files++;
      this.totals.bytes += r.manifest.size;
    } else this.totals.present++;
    this.ui?.file({
      transfer_id: r.key,
      name: r.manifest.name,
      status: status === 'verified' ? 'received' : 'already_present',
      kind: r.manifest.kind,
      bytes: r.manifest.size,
      root: r.manifest.kind === 'file' ? Buffer.from(r.manifest.root).toString('hex') : null,
      ...(storedAs !== undefined ? { stored_as: storedAs } : {}),
    });
    // The sender may be about to finish: directories get their metadata before the last confirmation.
    if (!this.busy(r.session)) await this.flushDirs(r.session, false);
    if (ep.hasSession(r.session)) {
      ep.finishTransfer(r.session, r.transferId, status, storedAs);
      this.node.driver.kick();
    }
    this.checkIdle(r.session);
  }

  /**
   * The operator stops a receive (`wraith cancel`, DELETE /v1/transfers/:id): the sender is told
   * (E_TRANSFER_CANCELLED) and the partial stays for a resume, as after a sender's Ctrl-C.
   * False when the file is not being received (any more).
   */
  async cancel(key: string): Promise<boolean> {
    const prep = this.preparing.get(key);
    if (prep !== undefined && !prep.cancelled && !this.rx.has(key)) {
      // Not accepted yet: refuse the offer; the preparation stops at its next step.
      prep.cancelled = true;
      prep.entry = { ...prep.entry, state: 'cancelled', finishedMs: Date.now(), error: { code: 'E_TRANSFER_CANCELLED', message: `${prep.entry.name}: ${CANCELLED_HERE}` } };
      try {
        this.node.endpoint.reject(prep.session, prep.transferId, 'E_TRANSFER_CANCELLED', CANCELLED_HERE);
        this.node.driver.kick();
      } catch {
        // the session or the offer ended meanwhile
      }
      this.leafWaits.get(key)?.(null);
      return true;
    }
    const r = this.rx.get(key);
    if (r === undefined || r.received || r.failed) return false;
    await this.fail(r, 'E_TRANSFER_CANCELLED', CANCELLED_HERE, true);
    return true;
  }

  /**
   * A write, sync or install of `r` failed. A file system gone read-only (remounted after an
   * error) fails every file the same way: the session ends with it, as for a download directory
   * gone, and the sender stops instead of sending the rest of its tree to be refused.
   */
  private async failWrite(r: Rx, err: unknown): Promise<void> {
    // A write and a sync of one file can fail together: one answer (the check below takes a while).
    if (this.failingWrites.has(r)) return;
    this.failingWrites.add(r);
    const e = asWraith(err);
    const errno = e.details?.['errnoName'] ?? (err as NodeJS.ErrnoException).code;
    // ext4 turning read-only fails what is in flight with EIO first.
    const readOnly = errno === 'EROFS' || (errno === 'EIO' && await refusesWrites(this.store.downloadDir));
    const reason = readOnly ? `the receiver's download directory ${this.store.downloadDir} is on a file system now mounted read-only (EROFS): ${e.message}` : e.message;
    await this.fail(r, e.code, reason, true);
    // Another file of the session found it first: said and ended already.
    if (!readOnly || this.endedWide.has(r.session)) return;
    this.log.error({ dir: this.store.downloadDir, err: e.message }, 'the download directory is on a read-only file system: no file can be received until it is remounted read-write (after an error: see the kernel log, fsck first)');
    const ep = this.node.endpoint;
    if (ep.hasSession(r.session)) {
      this.endedWide.add(r.session);
      ep.close(nowMicros(), r.session, e.code, this.wireReason(reason));
      this.node.driver.kick();
    }
  }

  /** A reason for the sender: where this host keeps its files is not its business (the log has the path). */
  private wireReason(reason: string): string {
    const dir = this.store.downloadDir;
    return dir.length > 1 ? reason.split(dir).join('<download dir>') : reason;
  }

  /** Stop a receive: keep the partial for resume unless the disk is full, the file is bad or its source changed. */
  private async fail(r: Rx, code: ErrorCode, reason: string, local: boolean): Promise<void> {
    if (r.failed) return;
    r.failed = true;
    if (r.syncTimer) clearTimeout(r.syncTimer);
    this.rx.delete(r.key);
    const ep = this.node.endpoint;
    if (local && ep.hasSession(r.session)) {
      try {
        ep.cancel(r.session, r.transferId, code, this.wireReason(reason));
        this.node.driver.kick();
      } catch {
        // the transfer already ended on the engine side
      }
    }
    if (r.file) {
      const done = this.release(r, r.file, code, local).finally(() => this.releasing.delete(r));
      this.releasing.set(r, done);
      await done;
    }
    this.touchDir(r.session, r.manifest.name);
    this.stats.transferFinished('receive', code === 'E_TRANSFER_CANCELLED' ? 'cancelled' : 'failed');
    const err = new WraithError(code, `${r.manifest.name}: ${reason}`);
    this.remember(this.entryOf(r, code === 'E_TRANSFER_CANCELLED' ? 'cancelled' : 'failed', { code, message: err.message }));
    this.totals.errors.push(err);
    // `wraith receive` prints it to the user: the log keeps it at info, not twice on the terminal.
    if (this.ui) {
      this.ui.error(err, r.key);
      this.log.info({ name: r.manifest.name, code, reason }, 'receive stopped');
    } else {
      this.log.warn({ name: r.manifest.name, code, reason }, 'receive stopped');
    }
    this.checkIdle(r.session);
  }

  /** fail()'s file part: checkpoint what is worth keeping, then close (and maybe delete) the partial. Never throws. */
  private async release(r: Rx, file: PartialFile, code: ErrorCode, local: boolean): Promise<void> {
    this.stats.transfersActive.dec({ direction: 'receive' });
    // A changed source is never offered with this root again: its partial could only wait for the sweep.
    const worth = code !== 'E_NO_SPACE' && code !== 'E_INTEGRITY' && code !== 'E_SOURCE_CHANGED';
    let keep = worth;
    try {
      // A sync in flight names its chunks when it ends; this save must come after it. And no
      // write may still be queued on the fd when abort() closes it: its number could already
      // belong to another file by the time the write runs.
      while (r.syncing || r.inflight) await (r.syncing ?? r.inflight)?.catch(() => undefined);
      // A partial with nothing in it is not worth keeping: a resume would start it over.
      keep = worth && (r.held.count > 0 || r.unsynced.length > 0);
      if (keep && r.unsynced.length > 0 && !local) {
        for (const i of r.unsynced) r.held.add(i);
        await file.saveProgress(r.held.toRanges());
      }
    } catch {
      // best effort: the next attempt re-hashes whatever is there
    }
    await file.abort({ keep }).catch(() => undefined);
  }

  /** Whether the session still has files being received. */
  private busy(session: number): boolean {
    for (const r of this.rx.values()) if (r.session === session) return true;
    return false;
  }

  /** Remembers a received directory's metadata; creating it changed its parent's mtime. */
  private noteDir(session: number, name: string, mode: number, mtimeMs: number): void {
    let dirs = this.dirs.get(session);
    if (!dirs) this.dirs.set(session, (dirs = new Map()));
    dirs.set(name, { mode, mtimeMs, dirty: true, exact: false });
    this.touchDir(session, name);
  }

  /** Something was created in the parent of `name`: its mtime must be set again. */
  private touchDir(session: number, name: string): void {
    const parent = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : null;
    const d = parent === null ? undefined : this.dirs.get(session)?.get(parent);
    if (d) d.dirty = true;
  }

  /**
   * Applies mode and mtime to the session's received directories that changed, deepest first.
   * Until the session ends a directory keeps owner rwx (more files may still go in); `final`
   * applies the exact mode.
   */
  private async flushDirs(session: number, final: boolean): Promise<void> {
    const dirs = this.dirs.get(session);
    if (!dirs) return;
    const todo = [...dirs].filter(([, d]) => d.dirty || (final && !d.exact));
    todo.sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [name, d] of todo) {
      d.dirty = false;
      d.exact = final || (this.store.modeFor(d.mode) & 0o700) === 0o700;
      try {
        await this.store.finishDirectory(name, d.mode, d.mtimeMs, !final);
      } catch (err) {
        this.log.warn({ name, err: asWraith(err).message }, 'could not set the mode and mtime of a received directory');
      }
    }
  }

  private checkIdle(session: number): void {
    for (const r of this.rx.values()) if (r.session === session) return;
    this.onIdle?.(session);
  }

  /**
   * Before an offer is opened: another session receiving the same name. A sender that restarted
   * (killed, crashed) offers it on a new session before its old session timed out: the new offer
   * takes over once the old session has gone quiet, and resumes what it wrote. While the other
   * receive's sender is still there, the offer waits for it to end.
   */
  private async supersede(session: number, peerId: string, m: FileManifest): Promise<void> {
    // One that already failed (its session closed) may still hold the partial for a moment: a
    // receiver woken from a long pause meets the sender's reset and its new offer together.
    for (const [old, done] of this.releasing) {
      if (old.manifest.name === m.name && bytesEqual(old.manifest.root, m.root)) await done;
    }
    const ep = this.node.endpoint;
    for (const old of [...this.rx.values()]) {
      if (old.session === session || old.file === null || old.failed || old.manifest.name !== m.name) continue;
      const same = bytesEqual(old.manifest.root, m.root);
      if (!same && old.peerId !== peerId) continue; // another sender's other content: the store refuses it
      // The same file is being received on another session. While its sender is still there
      // (a second run of the same send, from this or another sender), this offer waits for it
      // and then finds the file already present. A sender that went quiet has re-dialled:
      // the receive moves to the new session and resumes there. Other content under the name
      // from the same sender (its file changed, e.g. after it was killed) waits the same way,
      // and replaces a receive whose sender went quiet.
      let waited = false;
      while (this.rx.get(old.key) === old && !old.failed) {
        if (!ep.hasSession(session)) return;
        if (old.peerId === peerId && !old.received && ep.peerQuiet(old.session, nowMicros())) {
          while (old.writing) await new Promise((res) => setTimeout(res, 5));
          await this.sync(old).catch(() => undefined);
          this.log.info({ peer: peerId, name: m.name, old_session: old.session, session }, same ? 'the sender offered the file again on a new session: resuming there' : 'the sender offered other content under the name on a new session: receiving that');
          await this.fail(old, 'E_TRANSFER_CANCELLED', `the same ${same ? 'file' : 'name'} was offered again by the same sender on a new session`, true);
          break;
        }
        if (!waited) this.log.info({ peer: peerId, name: m.name, other_session: old.session, session }, same ? 'the same file is being received on another session: waiting for it' : "the sender's other content under the name is being received on another session: waiting for it");
        waited = true;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  }

  /** Checkpoint everything (shutdown): sync and keep partials. */
  async checkpoint(): Promise<void> {
    const all = [...this.rx.values()].filter((r) => !r.failed);
    for (const r of all) {
      // Chunks keep arriving until the sessions close: none may be written after the partial
      // is closed below (a write there failed as E_INTERNAL, or a sync timer did). A file with
      // everything received is left to install.
      if (!r.received) r.failed = true;
      if (r.syncTimer) clearTimeout(r.syncTimer);
      r.syncTimer = null;
    }
    for (const r of all) {
      try {
        while (r.writing) await new Promise((res) => setTimeout(res, 5));
        if (r.received) continue; // pump installed it (or failed it itself)
        await this.sync(r);
        await r.file?.abort({ keep: true });
      } catch {
        // keep going: other transfers still deserve a checkpoint
      }
      this.rx.delete(r.key);
    }
  }

  /** Microseconds, for callers that want the engine's clock. */
  static now(): number {
    return nowMicros();
  }
}

function key(session: number, transferId: number): string {
  return `${session}/${transferId}`;
}

function asWraith(e: unknown): WraithError {
  return e instanceof WraithError ? e : new WraithError('E_IO', e instanceof Error ? e.message : String(e));
}
