import { closeSync, fstatSync, type Stats as FileStats } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import {
  MerkleTree,
  WraithError,
  chunkRange,
  type ErrorCode,
  type FileManifest,
  type SessionEvent,
  type SocketAddr,
} from '@wraith/core';
import type { Logger } from 'pino';
import { formatAddr, type PeerSpec } from '../peer.js';
import { humanDuration } from '../units.js';
import { fsError } from '../fsutil.js';
import { monoMs } from '../clock.js';
import type { Stats } from '../stats.js';
import type { SendUi } from '../ui/types.js';
import { assertUnchanged, grewOnly, snapshotFd, sourceChanges, walk, type SourceSnapshot, type WalkEntry, type WalkOptions } from '../walk.js';
import type { Excludes } from '../exclude.js';
import { nowMicros } from './driver.js';
import type { WraithNode } from './node.js';
import { RateMeter, TokenBucket } from './rate.js';
import type { EarlyHash } from './hash-jobs.js';
import type { HashCache } from './hash-cache.js';
import { SourceHasher } from './source-hash.js';
import { dialFirst, peerAddresses } from './dial.js';
import { openFilesLimit } from '../store/open-slots.js';
import type { FileIo } from '@wraith/io-uring';

/** Descriptors a send keeps for Node, the socket, io_uring and the hash workers. */
const SENDER_RESERVED_FDS = 48;

/**
 * Bytes of unfinished files in flight beyond the first: small files are offered many at once
 * (up to [transfer] max_concurrent, so per-file round trips overlap), big ones a few at a time
 * (the next is hashed while the last ones send; they finish one after another, not all at the
 * end).
 */
const IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** How long the end of a send waits for the receiver to acknowledge its last control messages. */
const CONTROL_SETTLE_MS = 2000;

/** A source modified this close before it was opened is not removed: a later write could keep its mtime (coarse timestamps). */
const RECENT_MS = 1000;

interface Tx {
  entry: WalkEntry;
  manifest: FileManifest;
  tree: MerkleTree | null;
  fd: number | null;
  before: SourceSnapshot | null;
  session: number;
  transferId: number;
  done: boolean;
  /** Bytes already counted as done by completed attempts. */
  bytesDone: number;
  /** Reads in flight on `fd`: closing it under them could read another file that reuses the number. */
  reads: number;
  /** The receiver's last WRITTEN for this attempt, once one came: the disk rate counts its growth. */
  written?: number;
  /** A descriptor closeFd() left for the last read in flight to close. */
  closeAfterReads: number | null;
  /** A small file's bytes as hashed: its chunks are supplied from them, not read again. */
  kept: Uint8Array | null;
  /** Wall clock when the file was opened to be read (--remove-source-files' recency rule). */
  openedMs: number;
  /** Its ctime then: a write whose mtime was set back still moves it (--remove-source-files). */
  openedCtimeMs: number;
}

export interface OutgoingOptions {
  node: WraithNode;
  peer: PeerSpec;
  paths: readonly string[];
  followSymlinks: boolean;
  /**
   * A file that grows while it is sent (a log) is sent as it was when opened, its first bytes,
   * with a warning; without it that fails with E_SOURCE_CHANGED.
   */
  allowGrowth?: boolean;
  /** The directory below the receiver's download directory that everything goes into (`--dest`). */
  dest?: string;
  /** --relative: PATHs named by the path given. */
  relative?: boolean;
  /** --files-from: paths sent alone. */
  listed?: readonly string[];
  /** --remove-source-files: a file the receiver confirmed is removed here (removeSource). */
  removeSources?: boolean;
  /** What the walk leaves out (`--exclude`). */
  exclude?: Excludes;
  reconnectForMs: number;
  rateBps: number | null;
  chunkSize: number;
  /** Files in flight at once ([transfer] max_concurrent). */
  maxConcurrent: number;
  ui: SendUi;
  /**
   * The ui prints each failed file to the user (`wraith send`): the log records it at info,
   * not again as a warning on the same terminal. Otherwise (admin API sends) the log warns.
   */
  uiShowsErrors?: boolean;
  log: Logger;
  stats: Stats;
  signal: AbortSignal;
  transferId: string;
  /** The first file's hashing, begun before the node started (the job owns it from here). */
  earlyHash?: EarlyHash | null;
  /** Leaf rows of big files remembered across sends ([transfer] hash_cache). */
  hashCache?: HashCache | null;
}

export interface OutgoingResult {
  files: number;
  payloadBytesSent: number;
  bytesRetransmitted: number;
  bytesSkippedResume: number;
  /** Of bytesSkippedResume, files the receiver already had whole. */
  bytesAlreadyPresent: number;
  /** Bytes of all-zero chunks sent as ZERO_CHUNK frames (no data on the wire). */
  bytesZero: number;
  /** Of bytesSkippedResume, chunks the receiver found in its older copy of a file. */
  bytesReused: number;
  root: string | null;
  errors: WraithError[];
}

/**
 * Session close codes that mean the peer is gone or busy (not that it refused the files):
 * re-dial and resume. E_TOO_MANY_SESSIONS: the receiver holds max_sessions_per_peer sessions
 * of this node already (parallel sends), so this one waits for a slot.
 */
function sessionGone(code: ErrorCode): boolean {
  return code === 'E_PEER_CLOSED' || code === 'E_IDLE_TIMEOUT' || code === 'E_SHUTTING_DOWN' || code === 'E_PEER_RESET' || code === 'E_TOO_MANY_SESSIONS' || code === 'E_PEER_UNREACHABLE';
}

const RESUME_HINT = 'the receiver keeps what arrived: the same send again resumes it';

/** Waits ms, or less when the signal aborts first. */
const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** Wait before dialling a receiver that is at its session limit: 0.25-1 s, spread out. */
const busyPause = (): Promise<void> => new Promise((r) => setTimeout(r, 250 + Math.random() * 750));

/**
 * Sends files and directories to one peer: walks the paths, hashes each file
 * into a Merkle tree, offers it, supplies chunks on request, and follows the
 * receiver's confirmations. A lost peer is re-dialled for `reconnectForMs`
 * and unfinished files are offered again (the receiver resumes them).
 */
export class OutgoingJob {
  private readonly o: OutgoingOptions;
  private session = -1;
  private readonly pending: Tx[] = [];
  private readonly active = new Map<number, Tx>();
  private readonly finished: Tx[] = [];
  private walker: AsyncGenerator<WalkEntry> | null = null;
  private walkDone = false;
  private preparing = 0;
  /** Sizes of the files being prepared. */
  private preparingBytes = 0;
  private readonly hashing: SourceHasher;
  private totalBytes = 0;
  /** Bytes the first pass found (the walk's own total replaces it once it is done). */
  private expectedBytes = 0;
  private doneBytes = 0;
  /** bytesSkippedResume at the last progress report (see reportProgress). */
  private lastSkipped = 0;
  private readonly meter = new RateMeter();
  private readonly bucket: TokenBucket | null;
  private readonly result: OutgoingResult = {
    files: 0,
    payloadBytesSent: 0,
    bytesRetransmitted: 0,
    bytesSkippedResume: 0,
    bytesAlreadyPresent: 0,
    bytesZero: 0,
    bytesReused: 0,
    root: null,
    errors: [],
  };
  private wake: (() => void) | null = null;
  /** Keys of files waiting for a session (negative: never an engine transfer id). */
  private parkedKey = -1;
  /** Something happened since the loop last looked. */
  private woken = false;
  private lastDone = 0;
  /** The receiver's disk progress (WRITTEN), where it reports one: its rate is the finishing ETA's. */
  private readonly writtenMeter = new RateMeter();
  private sessionLost: WraithError | null = null;
  /** A session was established at least once: failing to dial after that is a lost peer. */
  private everConnected = false;
  /** The address of the last session up: dialled first next time. */
  private reached: SocketAddr | null = null;
  /** Since when the receiver has turned every session away as over its limit (ms), or null. */
  private busySince: number | null = null;
  /** Files prepared or in flight at once under the descriptor limit (one each, and hashing's). */
  private readonly fdRoom: number;

  constructor(o: OutgoingOptions) {
    this.o = o;
    this.fdRoom = Math.max(1, Math.floor((openFilesLimit() - SENDER_RESERVED_FDS) / 2));
    if (this.fdRoom < o.maxConcurrent) {
      o.log.info({ files: this.fdRoom, max_concurrent: o.maxConcurrent }, `the open-files limit (RLIMIT_NOFILE) allows ${this.fdRoom} files in flight at once`);
    }
    this.hashing = new SourceHasher(o.node.io, o.node.hasher, (bytes) => o.stats.fileIo('read', o.node.io.backend, bytes), {
      early: o.earlyHash ?? null,
      cache: o.hashCache ?? null,
    });
    this.bucket = o.rateBps ? new TokenBucket(o.rateBps, Math.max(o.chunkSize * 2, o.rateBps / 10)) : null;
  }

  async run(): Promise<OutgoingResult> {
    const o = this.o;
    // What the PATHs hold now is what goes: files that appear meanwhile are left out.
    const bornBefore = Date.now(); // compared with file birth times: the wall clock
    this.walker = walk(o.paths, {
      followSymlinks: o.followSymlinks,
      ...(o.dest !== undefined ? { under: o.dest } : {}),
      ...(o.exclude !== undefined ? { exclude: o.exclude } : {}),
      relative: o.relative === true,
      ...(o.listed !== undefined ? { listed: o.listed } : {}),
      bornBefore,
      // Like an unreadable file: that directory's contents fail, the rest goes (exit 7 at the end).
      onUnsendable: (_path, name, err) => this.fileFailed(name, err),
      onWarning: (w) => o.ui.warning({ transfer_id: o.transferId, code: null, message: w.message }),
    });
    // A first pass (stat only) for the totals of the started line and the progress, while the
    // handshake runs (a big tree takes a while to stat).
    const counting = countFiles(o.paths, o.followSymlinks, bornBefore, o.hashCache ?? null, o.chunkSize, o.exclude, { relative: o.relative === true, ...(o.listed !== undefined ? { listed: o.listed } : {}) }).then((expected) => {
      this.hashing.prepareFor(expected.largestToHash);
      return expected;
    });
    counting.catch(() => undefined); // a failed dial is reported first; the walk reports its own errors again
    await this.connect(monoMs() + Math.max(o.reconnectForMs, 0));
    const expected = await counting;
    this.expectedBytes = expected.bytes;
    o.ui.started({ transfer_id: o.transferId, direction: 'send', peer: `${o.peer.id}@${formatAddr(o.peer.addr)}`, files: expected.files, bytes_total: expected.bytes });
    const progress = setInterval(() => {
      this.reportProgress();
      // Big files in flight drain below IN_FLIGHT_BYTES as they send: prepare the next one then.
      if (!this.walkDone && this.preparing === 0 && this.roomForMore()) this.wakeUp();
    }, 250);
    const onAbort = (): void => this.wakeUp();
    o.signal.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (o.signal.aborted) throw new WraithError('E_CANCELLED', 'cancelled by the user', undefined, RESUME_HINT);
        if (this.sessionLost) await this.recover();
        await this.fill();
        if (this.walkDone && this.pending.length === 0 && this.active.size === 0 && this.preparing === 0) break;
        if (!this.woken) {
          await new Promise<void>((r) => {
            this.wake = r;
          });
        }
        this.wake = null;
        this.woken = false;
      }
      this.reportProgress();
      return this.result;
    } catch (e) {
      if (e instanceof WraithError && e.code === 'E_CANCELLED' && this.session >= 0) {
        o.node.endpoint.close(nowMicros(), this.session, 'E_CANCELLED', 'cancelled by the sender');
        o.node.driver.run();
      }
      throw e;
    } finally {
      await this.hashing.close();
      clearInterval(progress);
      o.signal.removeEventListener('abort', onAbort);
      for (const t of [...this.active.values(), ...this.pending]) closeFd(t);
      if (this.session >= 0 && o.node.endpoint.hasSession(this.session)) {
        // The CANCEL of a failed file must reach the receiver before CLOSE ends the control
        // stream: otherwise it sees only "done" and keeps a partial that can never complete.
        const until = monoMs() + CONTROL_SETTLE_MS;
        while (!o.node.endpoint.controlSettled(this.session) && monoMs() < until) await new Promise((r) => setTimeout(r, 5));
      }
      if (this.session >= 0 && o.node.endpoint.hasSession(this.session)) {
        o.node.endpoint.close(nowMicros(), this.session, null, 'done');
        o.node.driver.run();
      }
    }
  }

  private wakeUp(): void {
    // An event that comes while the loop is not waiting (fill() is hashing) must not be lost.
    this.woken = true;
    this.wake?.();
  }

  private async connect(deadline: number): Promise<void> {
    const o = this.o;
    const began = monoMs();
    const addr = formatAddr(o.peer.addr);
    let last: WraithError | null = null;
    let dials = 0;
    for (;;) {
      dials++;
      try {
        const addrs = await peerAddresses(o.peer.addr, o.node.localAddr);
        // The address that answered last time goes first.
        const lastKey = this.reached === null ? null : formatAddr(this.reached);
        addrs.sort((a, b) => Number(formatAddr(b) === lastKey) - Number(formatAddr(a) === lastKey));
        const won = await dialFirst(
          addrs,
          // --rate holds on the wire per session: a daemon's other sessions keep their own pace.
          (a, signal) => o.node.connect(o.peer.id, a, (e) => this.onEvent(e), signal, { maxSendRate: o.rateBps }),
          (session) => o.node.endpoint.close(nowMicros(), session, null, 'another address answered first'),
          o.signal,
        );
        this.session = won.session;
        if (addrs.length > 1 || won.addr.host !== o.peer.addr.host) o.log.info({ addr: formatAddr(won.addr), tried: addrs.map(formatAddr) }, `${o.peer.addr.host} answered at ${formatAddr(won.addr)}`);
        this.reached = won.addr;
        // Walking and hashing come before the first offer and between files: nothing flows then.
        o.node.endpoint.holdOpen(this.session, true);
        this.sessionLost = null;
        this.everConnected = true;
        return;
      } catch (e) {
        last = e instanceof WraithError ? e : new WraithError('E_PEER_LOST', String(e));
        if (last.code === 'E_CANCELLED') throw this.everConnected ? new WraithError('E_CANCELLED', 'cancelled by the user', undefined, RESUME_HINT) : last;
        // This node is stopping (not the peer): no dial can go out any more.
        if (last.details?.['local'] === true) throw last;
        // A name that does not exist fails the first dial at once; a resolver that did not
        // answer, or a name gone while re-dialling, is tried again like a silent peer.
        if (last.code === 'E_ADDR_INVALID' && !this.everConnected && last.details?.['retriable'] !== true) throw last;
        // Nothing listens there (ICMP port unreachable, at every address): a wrong port or a
        // daemon not running. A first dial says so at once; a re-dial waits for a restart.
        if (last.code === 'E_PEER_UNREACHABLE' && !this.everConnected) break;
        if (last.category === 'auth' || monoMs() >= deadline || o.signal.aborted) break;
        // Until the first session nothing else is printed: say why the command waits.
        if (dials === 1 && !this.everConnected) {
          o.ui.warning({ transfer_id: o.transferId, code: last.code, message: `no answer from ${addr} yet (${last.message}); dialling again for up to ${humanDuration(o.reconnectForMs / 1000)} (--reconnect-for)` });
        }
        o.log.info({ attempt: dials, err: last.message }, 'peer unreachable, retrying');
        await abortableSleep(1000, o.signal);
      }
    }
    if (last && last.code !== 'E_PEER_ID_MISMATCH' && last.category !== 'auth') {
      const tried = `${dials} dial${dials === 1 ? '' : 's'} over ${humanDuration((monoMs() - began) / 1000)}; last: ${last.message}`;
      if (!this.everConnected && last.code === 'E_PEER_UNREACHABLE') {
        // The message names the address that refused: for a host name, the one it resolved to.
        throw new WraithError(last.code, `could not connect${isIP(o.peer.addr.host) !== 0 ? '' : ` to ${addr}`}: ${last.message}`, last.details);
      }
      if (!this.everConnected) {
        const what = last.code === 'E_HANDSHAKE_TIMEOUT' ? `no wraith node answered at ${addr}` : `could not connect to ${addr}`;
        throw new WraithError(last.code, `${what} (${tried})`, last.details);
      }
      if (o.reconnectForMs > 0) throw new WraithError('E_PEER_LOST', `the peer could not be reached again within --reconnect-for (${tried})`);
    }
    throw last ?? new WraithError('E_PEER_LOST', 'could not connect');
  }

  /** The session died: dial again and re-offer everything unfinished. */
  private async recover(): Promise<void> {
    const lost = this.sessionLost as WraithError;
    // The peer refused us (not authorised, wrong key) or cannot store anything (its download
    // directory is gone): dialling again cannot help.
    if (this.o.reconnectForMs <= 0 || lost.category === 'auth' || lost.category === 'io') throw lost;
    if (lost.code === 'E_TOO_MANY_SESSIONS') {
      const now = monoMs();
      if (this.busySince === null) {
        this.busySince = now;
        this.o.ui.warning({ transfer_id: this.o.transferId, code: lost.code, message: `the receiver has as many sessions from this node as it takes (max_sessions_per_peer); waiting up to ${humanDuration(this.o.reconnectForMs / 1000)} (--reconnect-for) for one to end` });
      } else if (now - this.busySince >= this.o.reconnectForMs) {
        throw new WraithError('E_TOO_MANY_SESSIONS', `the receiver stayed at its limit of sessions from this node for ${humanDuration((now - this.busySince) / 1000)} (--reconnect-for)`);
      }
      this.o.log.info({ code: lost.code }, 'receiver at its session limit; dialling again');
      await busyPause();
      if (this.o.signal.aborted) return;
    } else {
      // A warning of the send (human line, NDJSON event): a script sees why the send pauses.
      this.o.log[this.shownLevel]({ code: lost.code, reason: lost.message }, 'session lost; reconnecting');
      this.o.ui.warning({ transfer_id: this.o.transferId, code: lost.code, message: `${lost.message}; dialling again for up to ${humanDuration(this.o.reconnectForMs / 1000)} (--reconnect-for), then resuming` });
    }
    await this.connect(monoMs() + this.o.reconnectForMs);
    const again = [...this.active.values()];
    this.active.clear();
    for (const t of again) this.offer(t);
  }

  /** Walk and prepare more files until enough are in flight. */
  private async fill(): Promise<void> {
    while (!this.walkDone && this.roomForMore() && !this.sessionLost) {
      const next = await (this.walker as AsyncGenerator<WalkEntry>).next();
      if (next.done) {
        this.walkDone = true;
        break;
      }
      const entry = next.value;
      this.totalBytes += entry.size;
      this.preparing++;
      this.preparingBytes += entry.size;
      let t: Tx;
      try {
        t = await this.prepare(entry);
      } catch (e) {
        // Gone since the walk saw it: inside a directory that is a skip with a warning, as when
        // the walk itself finds it gone. A PATH the user named is an error.
        if (e instanceof WraithError && e.code === 'E_NOT_FOUND' && entry.name.includes('/')) {
          this.o.ui.warning({ transfer_id: this.o.transferId, code: null, message: `${entry.path} disappeared before it was read: skipped` });
          this.totalBytes -= entry.size;
        } else {
          this.fileFailed(entry.name, e);
        }
        this.preparing--;
        this.preparingBytes -= entry.size;
        continue;
      }
      try {
        if (!this.sessionLost) this.offer(t);
        else this.park(t);
      } catch (e) {
        if (!(e instanceof WraithError && e.code === 'E_PEER_CLOSED')) {
          this.fileFailed(entry.name, e);
          closeFd(t);
        } else {
          // The session closed under us (its `closed` event is on its way and decides what
          // happens, e.g. an auth refusal ends the send): keep the file for recover().
          this.park(t);
          if (!this.o.node.endpoint.hasSession(this.session)) this.sessionLost ??= new WraithError('E_PEER_LOST', e.message);
        }
      } finally {
        this.preparing--;
        this.preparingBytes -= entry.size;
      }
    }
  }

  private roomForMore(): boolean {
    const files = this.active.size + this.preparing;
    const peerLimit = this.o.node.endpoint.offerLimit(this.session) ?? this.o.maxConcurrent;
    if (files >= Math.min(this.o.maxConcurrent, peerLimit, this.fdRoom)) return false;
    if (files === 0) return true;
    // The oldest file counts what it has left to send, every later one counts whole until the
    // receiver confirms it: big files finish one after another (an interrupted send leaves most
    // of them done), and at most ~IN_FLIGHT_BYTES of files beyond the first are open there.
    let unfinished = this.preparingBytes;
    let oldest = true;
    for (const t of this.active.values()) {
      unfinished += oldest ? t.manifest.size - this.sentOf(t) : t.manifest.size;
      oldest = false;
    }
    return unfinished < IN_FLIGHT_BYTES;
  }

  /** Payload bytes of `t` sent so far (resumed ones included), from its live counters. */
  private sentOf(t: Tx, p = this.o.node.endpoint.transferProgress(t.session, t.transferId)): number {
    return p === null ? 0 : Math.min(t.manifest.size, p.payloadBytesSent - p.bytesRetransmitted + p.bytesSkippedResume + p.bytesZero);
  }

  /** Keep a prepared file, not offered, for recover() to offer on the next session. */
  private park(t: Tx): void {
    this.active.set(this.parkedKey--, t);
  }

  /** The wire carries mtimes from 1970 on: an earlier one goes as the epoch, with a warning. */
  private wireMtime(path: string, ms: number): number {
    const t = Math.floor(ms);
    if (t >= 0) return t;
    this.o.ui.warning({ transfer_id: this.o.transferId, code: null, message: `${path}: its mtime ${new Date(t).toISOString()} is before 1970: sent as 1970-01-01T00:00:00Z` });
    return 0;
  }

  /** Open and hash a file (or describe a directory) into a manifest. */
  private async prepare(entry: WalkEntry): Promise<Tx> {
    const o = this.o;
    const cs = o.chunkSize;
    if (entry.kind === 'dir') {
      const manifest: FileManifest = { name: entry.name, kind: 'dir', size: 0, chunkSize: cs, mode: entry.mode, mtimeMs: this.wireMtime(entry.path, entry.mtimeMs), root: new Uint8Array(32) };
      return { entry, manifest, tree: null, fd: null, before: null, session: -1, transferId: -1, done: false, bytesDone: 0, reads: 0, closeAfterReads: null, kept: null, openedMs: 0, openedCtimeMs: 0 };
    }
    const openedMs = Date.now();
    const fd = await openForRead(o.node.io, entry.path);
    try {
      const before = snapshotFd(fd);
      const openedCtimeMs = o.removeSources === true ? fstatSync(fd).ctimeMs : 0;
      const size = before.size;
      const t0 = performance.now();
      const leaves = await this.hashing.leaves(entry.path, fd, size, cs);
      if (size >= 1 << 20) {
        const h = this.hashing;
        o.log.debug({ path: entry.path, bytes: size, ms: Math.round(performance.now() - t0), worker_batches: h.workerBatches, hash_workers: h.workerThreads, from_cache: h.fromCache }, 'source hashed');
      }
      const tree = new MerkleTree(o.node.hasher, leaves);
      const manifest: FileManifest = {
        name: entry.name,
        kind: 'file',
        size,
        chunkSize: cs,
        mode: entry.mode,
        mtimeMs: this.wireMtime(entry.path, before.mtimeMs),
        root: tree.root,
      };
      // Keep the descriptor: the file is read again through it, never re-opened.
      const kept = this.hashing.takeSmall();
      return { entry, manifest, tree, fd, before, session: -1, transferId: -1, done: false, bytesDone: 0, reads: 0, closeAfterReads: null, kept, openedMs, openedCtimeMs };
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
  }

  private offer(t: Tx): void {
    const ep = this.o.node.endpoint;
    // A directory has no chunks; its tree is never asked for a proof.
    const tree = t.tree ?? new MerkleTree(this.o.node.hasher, new Uint8Array(32));
    t.session = this.session;
    t.transferId = ep.offer(this.session, t.manifest, tree);
    delete t.written; // a new attempt: its ACCEPT says what the receiver holds
    this.active.set(t.transferId, t);
    this.o.node.driver.kick();
  }

  private onEvent(e: SessionEvent): void {
    switch (e.type) {
      case 'read_chunks': {
        const t = this.active.get(e.transferId);
        if (t && t.session === e.session) {
          this.busySince = null; // a session got through
          void this.read(t, e.chunks);
        }
        return;
      }
      case 'transfer_complete': {
        const t = this.active.get(e.transferId);
        if (!t || t.session !== e.session) return;
        this.busySince = null;
        this.active.delete(e.transferId);
        void this.complete(t, e.status, e.stats, e.storedAs);
        return;
      }
      case 'transfer_failed': {
        const t = this.active.get(e.transferId);
        if (!t || t.session !== e.session) return;
        if (sessionGone(e.code)) return; // handled with the session
        this.active.delete(e.transferId);
        closeFd(t);
        this.fileFailed(t.manifest.name, new WraithError(e.code, e.reason || 'the receiver refused the file'));
        this.wakeUp();
        return;
      }
      case 'closed': {
        if (e.session !== this.session) return;
        const code = e.code ?? 'E_PEER_CLOSED';
        const unfinished = this.active.size > 0 || this.pending.length > 0 || !this.walkDone;
        if (!unfinished) return;
        // A stateless reset (the receiver restarted or lost the session) is a lost peer like an
        // idle timeout, only noticed within a round trip: --reconnect-for dials again.
        this.sessionLost = new WraithError(
          sessionGone(code) && code !== 'E_TOO_MANY_SESSIONS' ? 'E_PEER_LOST' : code,
          `the session to the peer closed (${code}${e.reason ? `: ${e.reason}` : ''})`,
        );
        this.wakeUp();
        return;
      }
      default:
        return;
    }
  }

  /** Read requested chunks (rate-limited by --rate) and hand them to the engine. */
  private async read(t: Tx, chunks: number[]): Promise<void> {
    if (t.fd === null) return;
    const o = this.o;
    // The request belongs to this session and transfer id. After a reconnect recover() gives the
    // file a new session and transfer id: what this read brings back then was not asked for there.
    const session = t.session;
    const transferId = t.transferId;
    // Another read of the file may have failed it meanwhile (it left `active` then).
    const current = (): boolean =>
      t.session === session && t.transferId === transferId && this.active.get(transferId) === t && o.node.endpoint.hasSession(session);
    if (t.kept !== null && this.bucket === null) {
      // Hashed from these very bytes: nothing to read (or to find changed) again.
      await null; // not from inside the engine's event dispatch
      if (!current()) return;
      for (const i of chunks) {
        const r = chunkRange(t.manifest, i);
        o.node.endpoint.supplyChunk(session, transferId, i, t.kept.subarray(r.offset, r.offset + r.length));
      }
      o.node.driver.kick();
      return;
    }
    try {
      const pool = o.node.chunkPool;
      const reqs = chunks.map((i) => {
        const r = chunkRange(t.manifest, i);
        // Whole-chunk buffers from the pool (the last chunk reads into a prefix of one).
        return { offset: r.offset, length: r.length, buf: pool.acquire(t.manifest.chunkSize) };
      });
      const ep = o.node.endpoint;
      let n = 0;
      // With --rate, disk reads follow the rate too (the wire cap itself is the sessions' pacer,
      // maxSendRate), and chunks go out as their tokens arrive: waiting for a whole request (up to 64
      // chunks, more than the bucket holds) stalled, and releasing it at once wasted the tokens
      // that accrue while the window is closed.
      for (let first = 0; first < reqs.length; ) {
        let end = reqs.length;
        if (this.bucket) {
          const bucket = this.bucket;
          const len = (reqs[first] as { length: number }).length;
          while (bucket.take(len) === 0) await new Promise((r) => setTimeout(r, bucket.waitMs(len)));
          end = first + 1;
          while (end < reqs.length && bucket.take((reqs[end] as { length: number }).length) > 0) end++;
        }
        // The session may have gone while we waited: recover() offers the file again.
        if (t.fd === null || !current()) return;
        const part = reqs.slice(first, end);
        const fd = t.fd;
        t.reads++;
        let bufs: Uint8Array[];
        try {
          bufs = await o.node.io.readChunks(fd, part);
        } finally {
          readDone(t);
        }
        if (!current()) return;
        // A change seen now fails the file before its last chunks go out, so the receiver
        // cannot install it and discards the partial (see complete() for a later change).
        if (t.before) {
          const now = snapshotFd(fd);
          if (!(o.allowGrowth === true && grewOnly(t.before, now))) assertUnchanged(t.entry.path, t.before, now);
        }
        for (let k = 0; k < part.length; k++) {
          const b = bufs[k] as Uint8Array;
          n += b.length;
          if (b.length !== part[k]?.length) throw new WraithError('E_SOURCE_CHANGED', `${t.entry.path} changed while it was being sent`);
          // Copy out of the I/O buffer: the engine keeps chunk bytes until acknowledged.
          ep.supplyChunk(session, transferId, chunks[first + k] as number, b);
        }
        if (end < reqs.length) o.node.driver.kick();
        first = end;
      }
      o.stats.fileIo('read', o.node.io.backend, n);
      o.node.driver.kick();
    } catch (e) {
      if (!current()) return; // failed, finished or re-offered meanwhile: reported there
      const err = e instanceof WraithError ? e : new WraithError('E_IO', (e as Error).message);
      try {
        // The receiver knows the file by its name; where it lives here is not its business.
        o.node.endpoint.cancel(session, transferId, err.code, err.message.split(t.entry.path).join(t.manifest.name));
      } catch {
        // already finished
      }
      this.active.delete(transferId);
      closeFd(t);
      this.fileFailed(t.manifest.name, err);
      this.wakeUp();
    }
  }

  private async complete(
    t: Tx,
    status: 'verified' | 'already_present',
    st: { payloadBytesSent: number; bytesRetransmitted: number; bytesSkippedResume: number; bytesZero: number; bytesReused: number },
    storedAs?: string,
  ): Promise<void> {
    const o = this.o;
    try {
      // Every chunk was checked against the root when it arrived: the receiver holds the file as
      // it was read. A change after the last read is news for the user, not a failure.
      const after = t.fd !== null && t.before ? snapshotFd(t.fd) : null;
      const changes = after !== null && t.before ? sourceChanges(t.before, after) : [];
      if (changes.length > 0) {
        const message =
          o.allowGrowth === true && after !== null && t.before && grewOnly(t.before, after)
            ? `${t.entry.path} grew while it was sent (to ${after.size} bytes): the receiver has its first ${t.before.size} bytes, as they were read`
            : `${t.entry.path} changed after it was read (${changes.join(', ')}): the receiver has it as it was read`;
        o.log[this.shownLevel]({ name: t.manifest.name, path: t.entry.path }, message);
        o.ui.warning({ transfer_id: o.transferId, code: 'E_SOURCE_CHANGED', message });
      }
      this.result.files++;
      this.result.payloadBytesSent += st.payloadBytesSent - st.bytesRetransmitted;
      this.result.bytesRetransmitted += st.bytesRetransmitted;
      this.result.bytesSkippedResume += st.bytesSkippedResume;
      this.result.bytesZero += st.bytesZero;
      this.result.bytesReused += st.bytesReused;
      if (status === 'already_present') this.result.bytesAlreadyPresent += st.bytesSkippedResume;
      // The manifest root of a send of one file; a tree has no single root (a directory's is zeros).
      this.result.root = this.result.files === 1 && t.manifest.kind === 'file' ? Buffer.from(t.manifest.root).toString('hex') : null;
      this.doneBytes += t.manifest.size;
      // The rest of a file whose receiver reported its disk is on it now.
      if (t.written !== undefined) this.writtenMeter.add(t.manifest.size - t.written);
      o.stats.payloadBytes.inc({ direction: 'tx' }, Math.max(0, st.payloadBytesSent - st.bytesRetransmitted));
      o.stats.retransmittedBytes.inc(st.bytesRetransmitted);
      o.stats.zeroBytes.inc({ direction: 'tx' }, st.bytesZero);
      o.stats.transferFinished('send', status === 'verified' ? 'completed' : 'already_present');
      const removed = o.removeSources === true && t.manifest.kind === 'file' ? await this.removeSource(t, changes.length > 0) : undefined;
      o.ui.file({
        transfer_id: o.transferId,
        name: t.manifest.name,
        status: status === 'verified' ? 'sent' : 'already_present',
        kind: t.manifest.kind,
        bytes: t.manifest.size,
        root: t.manifest.kind === 'file' ? Buffer.from(t.manifest.root).toString('hex') : null,
        ...(storedAs !== undefined ? { stored_as: storedAs } : {}),
        ...(removed !== undefined ? { source_removed: removed } : {}),
      });
    } catch (e) {
      this.fileFailed(t.manifest.name, e);
    } finally {
      closeFd(t);
      this.wakeUp();
    }
  }

  /**
   * --remove-source-files, once the receiver confirmed `t` (installed and synced, or already
   * there): removes the source, unless it may hold anything the receiver does not have. Kept,
   * with a warning: a file that changed after it was read; one modified within RECENT_MS before
   * it was opened (a write since could have left its mtime as it was); a path that is no longer
   * that file (replaced, or a symlink whose target was sent). A failed unlink is an error.
   */
  private async removeSource(t: Tx, changed: boolean): Promise<boolean> {
    const o = this.o;
    const path = t.entry.path;
    const keep = (why: string): boolean => {
      const message = `${path} was not removed: ${why}`;
      o.log[this.shownLevel]({ name: t.manifest.name, path }, message);
      o.ui.warning({ transfer_id: o.transferId, code: null, message });
      return false;
    };
    if (changed || t.before === null) return keep('it changed after it was read (the receiver has it as it was read)');
    if (t.before.mtimeMs > t.openedMs - RECENT_MS) return keep('it was modified just before it was read, and a write since might not show; send it again to remove it');
    let st: FileStats;
    try {
      st = await lstat(path);
    } catch (e) {
      return keep(fsError('lstat', path, e).message);
    }
    if (st.isSymbolicLink()) return keep('it is a symlink, which stays (what it points to was sent)');
    if (!st.isFile() || st.dev !== t.entry.dev || st.ino !== t.before.ino) return keep('another file is under its name now');
    if (st.size !== t.before.size || st.mtimeMs !== t.before.mtimeMs) return keep('it changed after it was sent');
    // Also what set the mtime back after a write (cp -p, touch -d): the ctime cannot be set back.
    if (st.ctimeMs !== t.openedCtimeMs) return keep('its inode changed after it was read (content, mode, owner or links)');
    try {
      await unlink(path);
    } catch (e) {
      const cause = fsError('unlink', path, e);
      const err = new WraithError(cause.code, `${path} was sent, but not removed: ${cause.message}`, { path }, cause.hint);
      this.result.errors.push(err);
      o.ui.error(err, o.transferId);
      o.log[this.shownLevel]({ name: t.manifest.name, code: err.code, err: err.message }, 'sent, but not removed');
      return false;
    }
    o.log.debug({ name: t.manifest.name, path }, 'source removed');
    return true;
  }

  private fileFailed(name: string, e: unknown): void {
    const err = e instanceof WraithError ? e : new WraithError('E_IO', `${name}: ${(e as Error).message}`);
    this.result.errors.push(err);
    this.o.stats.transferFinished('send', err.code === 'E_CANCELLED' ? 'cancelled' : err.code === 'E_TRANSFER_REJECTED' ? 'rejected' : 'failed');
    // The user's own cancel is reported once, for the whole send, not again for each file.
    if (err.code === 'E_CANCELLED' && this.o.signal.aborted) {
      this.o.log.debug({ name }, 'file not sent: cancelled');
      return;
    }
    this.o.ui.error(err, this.o.transferId);
    this.o.log[this.shownLevel]({ name, code: err.code, err: err.message }, 'file not sent');
  }

  /** What the ui shows the user is logged at info; without such a ui (admin API sends), warn. */
  private get shownLevel(): 'info' | 'warn' {
    return this.o.uiShowsErrors === true ? 'info' : 'warn';
  }

  private reportProgress(): void {
    let live = 0;
    let offered = 0;
    let accepted = 0;
    let told = 0;
    let anyTold = false;
    // What the receiver already held (resumed chunks, files it had) is done, but never moved.
    let skipped = this.result.bytesSkippedResume;
    const ep = this.o.node.endpoint;
    for (const t of this.active.values()) {
      const p = ep.transferProgress(t.session, t.transferId);
      live += this.sentOf(t, p);
      const a = ep.transferAccepted(t.session, t.transferId);
      if (a !== null) offered++;
      if (a === true) accepted++;
      // Held on the receiver's disk: its last WRITTEN, else what it held at the ACCEPT. Only
      // growth the receiver reports is the disk's pace (resumed chunks were there before).
      const held = p?.bytesSkippedResume ?? 0;
      skipped += held;
      const w = ep.transferWritten(t.session, t.transferId);
      if (w !== null) {
        anyTold = true;
        if (w > (t.written ?? held)) this.writtenMeter.add(w - (t.written ?? held));
        t.written = w;
      }
      told += w ?? held;
    }
    const written = this.doneBytes + told;
    // Everything in flight is offered and none accepted yet: the receiver is deciding (on a
    // big file it already has, that means hashing its copy).
    const waiting = !this.hashing.busy && offered > 0 && accepted === 0;
    const done = this.doneBytes + live;
    // The rate is of bytes sent: a resume's held chunks would show as a burst, and an ETA too short.
    const moved = done - this.lastDone - (skipped - this.lastSkipped);
    if (done > this.lastDone) {
      if (moved > 0) this.meter.add(moved);
    }
    // Nothing can move while the next file is hashed or the receiver decides: the rate (and
    // ETA) start when data does.
    else if (this.hashing.busy || waiting) this.meter.restart();
    this.lastDone = done;
    this.lastSkipped = skipped;
    const rate = this.meter.rate();
    const total = Math.max(this.walkDone ? this.totalBytes : Math.max(this.totalBytes, this.expectedBytes), done);
    // All sent, files still unconfirmed: the receiver writes what it buffered (its disk's pace).
    const finishing = !waiting && this.walkDone && this.pending.length === 0 && this.active.size > 0 && done >= total;
    // Then only the disk's pace says when: from the receiver's WRITTEN, where it sends them.
    const diskRate = this.writtenMeter.rate();
    const finishingEta = anyTold && diskRate > 0 ? Math.max(0, (total - written) / diskRate) : null;
    this.o.ui.progress({
      transfer_id: this.o.transferId,
      bytes_total: total,
      bytes_done: done,
      rate_bps: rate,
      eta_s: finishing ? finishingEta : rate > 0 ? Math.max(0, (total - done) / rate) : null,
      ...(finishing && anyTold ? { bytes_written: Math.min(total, written) } : {}),
      ...(this.hashing.busy ? { bytes_hashed: Math.min(total, this.hashing.hashedBytes()) } : {}),
      ...(waiting ? { waiting_for_receiver: true as const } : {}),
      ...(finishing ? { receiver_finishing: true as const } : {}),
    });
  }
}

/**
 * Regular files and their bytes under the PATHs (no warnings: the real walk reports them), and
 * the size of the largest that the cache does not know (the one hash workers are started for).
 */
async function countFiles(
  paths: readonly string[],
  followSymlinks: boolean,
  bornBefore: number,
  cache: HashCache | null,
  chunkSize: number,
  exclude: Excludes | undefined,
  naming: Pick<WalkOptions, 'relative' | 'listed'>,
): Promise<{ files: number; bytes: number; largestToHash: number }> {
  let files = 0;
  let bytes = 0;
  let largestToHash = 0;
  for await (const e of walk(paths, { followSymlinks, bornBefore, ...naming, onUnsendable: () => undefined, ...(exclude !== undefined ? { exclude } : {}) })) {
    if (e.kind !== 'file') continue;
    files++;
    bytes += e.size;
    if (e.size > largestToHash && cache?.hasPath(e.path, chunkSize, followSymlinks) !== true) largestToHash = e.size;
  }
  return { files, bytes, largestToHash };
}

/** No more reads of `t`; its descriptor closes once the reads in flight are done with it. */
function closeFd(t: Tx): void {
  if (t.fd === null) return;
  if (t.reads === 0) closeQuietly(t.fd);
  else t.closeAfterReads = t.fd;
  t.fd = null;
}

function readDone(t: Tx): void {
  t.reads--;
  if (t.reads === 0 && t.closeAfterReads !== null) {
    closeQuietly(t.closeAfterReads);
    t.closeAfterReads = null;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // a read-only descriptor: nothing is lost if its close fails
  }
}

/**
 * open(2) O_RDONLY through the FileIo: io_uring completes a lookup the dentry cache answers
 * inline, where the thread pool cost two thread switches per file of a tree; a lookup that
 * must wait (a network file system) still runs off the event loop.
 */
async function openForRead(io: FileIo, path: string): Promise<number> {
  try {
    return await io.open(path, 'r');
  } catch (e) {
    const w = e instanceof WraithError ? e : null;
    // Worded as the walk words its own failures (opendir(X): permission denied).
    if (w?.code === 'E_PERMISSION') throw new WraithError('E_PERMISSION', `open(${path}): permission denied`, { path });
    if (w?.code === 'E_NOT_FOUND') throw new WraithError('E_NOT_FOUND', `${path}: no such file or directory`, { path });
    throw new WraithError('E_IO', (e as Error).message, { path });
  }
}
