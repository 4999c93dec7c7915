/**
 * The receiving side of one verified chunked transfer (PROTOCOL.md §7), sans-IO.
 *
 * CHUNK and PROOF frames go in (`onChunk`, `onProof`); a chunk is buffered
 * until all of its bytes and its proof are in, then verified against the root.
 * Verified chunks come out of `pollVerified` for the node to write; only after
 * `chunkWritten` (write + fsync) does a chunk count as held, free its buffer
 * and open the window. A chunk that fails is dropped and comes out of
 * `pollResend`.
 *
 * Memory is bounded by the window whatever the file size: buffers exist only
 * for granted chunks not yet held (FlowWindow), plus a bitmap of held chunks.
 */
import { WraithError } from '../errors.js';
import { ByteRanges } from './byte-ranges.js';
import { ChunkSet, type ChunkRanges, type ReadonlyChunkRanges } from './chunk-set.js';
import { FlowWindow } from './flow-window.js';
import { HASH_LEN, type Blake3 } from './hasher.js';
import { chunkCount, chunkRange, validateManifest, type FileManifest } from './manifest.js';
import { zeroBytes } from './bytes.js';
import { leafHash, treeDepth, zeroLeaf } from './merkle.js';
import { ProofVerifier } from './proof-verifier.js';
import { makeResumeState, type ResumeState } from './resume.js';

/** Suggested window: room for several chunks in flight, at least 16 MiB. */
export function defaultWindowBytes(chunkSize: number): number {
  return Math.max(4 * chunkSize, 16 * 1024 * 1024);
}

/** Failed verifications of one chunk before the transfer is abandoned (the peer or path is broken). */
export const MAX_FAILURES_PER_CHUNK = 8;

export interface TransferReceiverOptions {
  id: number;
  manifest: FileManifest;
  hasher: Blake3;
  /** Chunks already written and fsynced (from a ResumeState). */
  held?: ReadonlyChunkRanges;
  /** Bytes of not-held chunk data the sender may have outstanding; default defaultWindowBytes. */
  windowBytes?: number;
  /**
   * Allocates a zeroed chunk buffer of `size` bytes (default `new Uint8Array`): lets a node hand
   * out buffers its file writes can use as they are (O_DIRECT wants aligned memory).
   */
  allocChunk?: (size: number) => Uint8Array;
}

export interface ReceiverStats {
  /** CHUNK data bytes received, duplicates included. */
  bytesReceived: number;
  /** Of those, bytes already received, verified or held. */
  duplicateBytes: number;
  integrityFailures: number;
  chunksVerified: number;
}

export interface VerifiedChunk {
  index: number;
  offset: number;
  bytes: Uint8Array;
  /** Its verified leaf hash (kept by the node to re-check the chunk after a crash). */
  leaf: Uint8Array;
  /** Sent as a ZERO_CHUNK: `bytes` are shared zeros, read-only. */
  zero: boolean;
}

interface InChunk {
  readonly index: number;
  readonly offset: number;
  readonly length: number;
  verified: boolean;
  data: Uint8Array | null;
  /** The pooled chunkSize buffer `data` views. */
  buf: Uint8Array | null;
  got: ByteRanges;
  proof: Uint8Array | null;
  proofHave: boolean[];
  proofCount: number;
  leaf: Uint8Array | null;
  /** Announced all zeros by a ZERO_CHUNK: no buffer, verified against the zero leaf. */
  zero: boolean;
}

export class TransferReceiver {
  readonly id: number;
  readonly manifest: FileManifest;
  private readonly pool: Uint8Array[] = [];
  private readonly allocChunk: (size: number) => Uint8Array;
  private poolMax = 0;
  readonly windowBytes: number;
  readonly stats: ReceiverStats = { bytesReceived: 0, duplicateBytes: 0, integrityFailures: 0, chunksVerified: 0 };

  private readonly hasher: Blake3;
  private readonly n: number;
  private readonly depth: number;
  private readonly held: ChunkSet;
  private readonly window: FlowWindow;
  private readonly chunks = new Map<number, InChunk>();
  private readonly verifiedQueue: number[] = [];
  private readonly resendQueue: number[] = [];
  private readonly failures = new Map<number, number>();
  private advertised = 0;
  private buffered = 0;

  /** Remembers proven tree nodes, so in-order chunks need a node hash or two, not a full path. */
  private verifier: ProofVerifier | null = null;

  constructor(opts: TransferReceiverOptions) {
    validateManifest(opts.manifest);
    if (!Number.isSafeInteger(opts.id) || opts.id < 0) {
      throw new WraithError('E_INTERNAL', `a transfer id is a non-negative integer, got ${opts.id}`);
    }
    const windowBytes = opts.windowBytes ?? defaultWindowBytes(opts.manifest.chunkSize);
    if (!Number.isSafeInteger(windowBytes) || windowBytes < 1) {
      throw new WraithError('E_INTERNAL', `windowBytes must be a positive integer, got ${windowBytes}`);
    }
    this.id = opts.id;
    this.manifest = opts.manifest;
    this.hasher = opts.hasher;
    this.allocChunk = opts.allocChunk ?? ((size) => new Uint8Array(size));
    this.windowBytes = windowBytes;
    this.n = chunkCount(opts.manifest);
    this.depth = this.n > 0 ? treeDepth(this.n) : 0;
    this.held = opts.held ? ChunkSet.fromRanges(this.n, opts.held, 'E_RESUME_STATE') : new ChunkSet(this.n);
    this.window = new FlowWindow(opts.manifest.size, opts.manifest.chunkSize, this.held, windowBytes);
    this.poolMax = Math.ceil(windowBytes / opts.manifest.chunkSize) + 2;
    // An empty file's one chunk has no bytes and no proof: verify it right away.
    if (this.n === 1 && opts.manifest.size === 0 && !this.held.has(0)) {
      const c = this.slot(0);
      this.tryVerify(c);
      if (!c.verified) {
        throw new WraithError('E_INTEGRITY', `the root offered for empty file ${JSON.stringify(opts.manifest.name)} is not BLAKE3(0x00)`);
      }
    }
  }

  /** ACCEPT ranges: the chunks already held. */
  acceptRanges(): ChunkRanges {
    return this.held.toRanges();
  }

  /** max_offset to grant in a WINDOW frame right after ACCEPT. */
  initialWindow(): number {
    this.advertised = this.window.maxOffset;
    return this.advertised;
  }

  /** The largest max_offset granted so far, advertised or not: data beyond it is a violation. */
  get grantedOffset(): number {
    return this.window.maxOffset;
  }

  get complete(): boolean {
    return this.held.full;
  }

  /** Bytes of chunk buffers allocated (received, verified or waiting to be written). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  get heldChunks(): number {
    return this.held.count;
  }

  /** Bytes of the file held (written and verified): whole chunks, the last one as long as it is. */
  get heldBytes(): number {
    const { chunkSize, size } = this.manifest;
    const last = this.n - 1;
    const short = this.held.has(last) ? chunkSize * this.n - size : 0;
    return Math.max(0, this.held.count * chunkSize - short);
  }

  /** PROOF: `hashes` (count × 32 bytes) are the chunk's path siblings from position `first`. */
  onProof(chunkIndex: number, first: number, hashes: Uint8Array): void {
    this.checkIndex(chunkIndex, 'PROOF');
    const count = hashes.length / HASH_LEN;
    if (!Number.isSafeInteger(first) || first < 0 || !Number.isInteger(count) || first + count > this.depth) {
      throw new WraithError(
        'E_PROTOCOL',
        `PROOF for chunk ${chunkIndex} covers positions ${first}..${first + count - 1} of a path of ${this.depth}`,
        { chunkIndex, first, bytes: hashes.length },
      );
    }
    if (this.held.has(chunkIndex)) return;
    const { offset } = chunkRange(this.manifest, chunkIndex);
    if (offset >= this.window.maxOffset && this.manifest.size > 0) {
      throw new WraithError('E_FLOW_CONTROL', `PROOF for chunk ${chunkIndex} at offset ${offset}, beyond the window ${this.window.maxOffset}`, {
        chunkIndex,
        maxOffset: this.window.maxOffset,
      });
    }
    const c = this.slot(chunkIndex);
    if (c.verified || count === 0) return;
    c.proof ??= new Uint8Array(this.depth * HASH_LEN);
    for (let k = 0; k < count; k++) {
      const p = first + k;
      if (c.proofHave[p]) continue; // keep the first copy; a wrong one fails verification and is resent
      c.proof.set(hashes.subarray(k * HASH_LEN, (k + 1) * HASH_LEN), p * HASH_LEN);
      c.proofHave[p] = true;
      c.proofCount++;
    }
    this.tryVerify(c);
  }

  /** CHUNK: `data` at file `offset`; copied into the chunk's buffer. */
  onChunk(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || end > this.manifest.size) {
      throw new WraithError('E_PROTOCOL', `CHUNK data ${offset}..${end} lies outside the ${this.manifest.size}-byte file`, {
        offset,
        length: data.length,
      });
    }
    if (end > this.window.maxOffset) {
      throw new WraithError('E_FLOW_CONTROL', `CHUNK data ${offset}..${end} goes beyond the window ${this.window.maxOffset}`, {
        offset,
        length: data.length,
        maxOffset: this.window.maxOffset,
      });
    }
    if (data.length === 0) return;
    this.stats.bytesReceived += data.length;
    const cs = this.manifest.chunkSize;
    for (let i = Math.floor(offset / cs); i * cs < end; i++) {
      const cStart = i * cs;
      const a = Math.max(offset, cStart) - cStart;
      const b = Math.min(end, cStart + cs) - cStart;
      const from = cStart + a - offset;
      const to = cStart + b - offset;
      // Mostly the data lies in one chunk: no view needed.
      const src = from === 0 && to === data.length ? data : data.subarray(from, to);
      if (this.held.has(i)) {
        this.stats.duplicateBytes += b - a;
        continue;
      }
      const c = this.slot(i);
      if (c.verified || c.zero) {
        this.stats.duplicateBytes += b - a;
        continue;
      }
      if (c.data === null) {
        // Reused buffers: fresh memory costs a page fault per 4 KiB on first touch. A short
        // chunk (a small file's only one) gets a buffer of its own size, never pooled: a tree
        // of small files would otherwise allocate a whole chunk per file.
        const buf = c.length < cs ? this.newBuffer(alignUp(c.length)) : (this.pool.pop() ?? this.newBuffer(cs));
        c.buf = buf;
        c.data = buf.subarray(0, c.length);
        this.buffered += c.length;
      }
      const added = c.got.add(a, b);
      this.stats.duplicateBytes += b - a - added;
      if (added > 0) c.data.set(src, a);
      this.tryVerify(c);
    }
  }

  /**
   * ZERO_CHUNK: chunk `chunkIndex` is all zeros. Its proof still checks it against the root (as
   * the zero leaf), and the window holds it as it would its data. Bytes of it that came before as
   * data are dropped: the announcement and the proof decide.
   */
  onZeroChunk(chunkIndex: number): void {
    this.checkIndex(chunkIndex, 'ZERO_CHUNK');
    const { offset, length } = chunkRange(this.manifest, chunkIndex);
    if (length === 0) throw new WraithError('E_PROTOCOL', `ZERO_CHUNK for the empty file's chunk`, { chunkIndex });
    if (offset + length > this.window.maxOffset) {
      throw new WraithError('E_FLOW_CONTROL', `ZERO_CHUNK ${chunkIndex} ends at ${offset + length}, beyond the window ${this.window.maxOffset}`, {
        chunkIndex,
        maxOffset: this.window.maxOffset,
      });
    }
    if (this.held.has(chunkIndex)) {
      this.stats.duplicateBytes += length;
      return;
    }
    const c = this.slot(chunkIndex);
    if (c.verified || c.zero) {
      this.stats.duplicateBytes += length;
      return;
    }
    if (c.data !== null) this.buffered -= c.length;
    this.recycle(c);
    c.got.clear();
    c.got.add(0, length);
    c.zero = true;
    this.tryVerify(c);
  }

  /** The next verified chunk for the node to write, or null. */
  pollVerified(): VerifiedChunk | null {
    const index = this.verifiedQueue.shift();
    if (index === undefined) return null;
    const c = this.chunks.get(index) as InChunk;
    const bytes = c.zero ? zeroBytes(c.length) : (c.data ?? new Uint8Array(0));
    return { index, offset: c.offset, bytes, leaf: c.leaf ?? new Uint8Array(32), zero: c.zero };
  }

  /** The node wrote and fsynced chunk `index`: it is held now. */
  chunkWritten(index: number): void {
    const c = this.chunks.get(index);
    if (c === undefined || !c.verified) {
      throw new WraithError('E_INTERNAL', `chunk ${index} of transfer ${this.id} was written without being verified`);
    }
    if (this.verifiedQueue.includes(index)) {
      throw new WraithError('E_INTERNAL', `chunk ${index} was written before pollVerified returned it`);
    }
    this.chunks.delete(index);
    if (c.data !== null) this.buffered -= c.length;
    this.recycle(c);
    this.held.add(index);
    this.failures.delete(index);
    this.window.onHeld(index);
  }

  /** Bytes granted and not yet held: what this transfer may have buffered or in flight. */
  get outstandingBytes(): number {
    return this.window.outstandingBytes;
  }

  /** A new flow-control budget from the session's share (FlowWindow.setBudget). */
  setWindowBudget(bytes: number): void {
    this.window.setBudget(bytes);
    this.poolMax = Math.ceil(bytes / this.manifest.chunkSize) + 2;
  }

  /** A larger max_offset to advertise in a WINDOW frame, or null if it did not move. */
  pollWindow(): number | null {
    const m = this.window.maxOffset;
    if (m <= this.advertised) return null;
    this.advertised = m;
    return m;
  }

  /** A chunk that failed verification and was dropped: ask the sender for it again. */
  pollResend(): number | null {
    return this.resendQueue.shift() ?? null;
  }

  resumeState(peerId: string): ResumeState {
    return makeResumeState(peerId, this.manifest, this.held);
  }

  private newBuffer(size: number): Uint8Array {
    const buf = this.allocChunk(size);
    if (buf.length !== size) throw new WraithError('E_INTERNAL', `allocChunk(${size}) returned ${buf.length} bytes`);
    return buf;
  }

  /** Return a chunk's buffer to the pool (bounded by the window). */
  private recycle(c: InChunk): void {
    const buf = c.buf;
    c.buf = null;
    c.data = null;
    if (buf && buf.length === this.manifest.chunkSize && this.pool.length < this.poolMax) this.pool.push(buf);
  }

  private checkIndex(i: number, what: string): void {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.n) {
      throw new WraithError('E_PROTOCOL', `${what} for chunk ${i}, outside 0..${this.n - 1}`, { chunkIndex: i });
    }
  }

  private slot(index: number): InChunk {
    let c = this.chunks.get(index);
    if (c === undefined) {
      const { offset, length } = chunkRange(this.manifest, index);
      c = {
        index,
        offset,
        length,
        verified: false,
        data: null,
        buf: null,
        got: new ByteRanges(),
        proof: null,
        proofHave: [],
        proofCount: 0,
        leaf: null,
        zero: false,
      };
      this.chunks.set(index, c);
    }
    return c;
  }

  private tryVerify(c: InChunk): void {
    if (c.verified || c.got.covered < c.length || c.proofCount < this.depth) return;
    const leaf = c.zero ? zeroLeaf(this.hasher, c.length) : leafHash(this.hasher, c.data ?? new Uint8Array(0));
    this.verifier ??= new ProofVerifier(this.hasher, this.manifest.root, this.n);
    const ok = this.verifier.verify(c.index, leaf, c.proof ?? new Uint8Array(0));
    if (ok) {
      c.verified = true;
      c.leaf = leaf;
      c.proof = null;
      c.proofHave = [];
      this.stats.chunksVerified++;
      this.verifiedQueue.push(c.index);
      return;
    }
    this.stats.integrityFailures++;
    if (this.n === 1 && this.manifest.size === 0) return; // the constructor reports it
    const failures = (this.failures.get(c.index) ?? 0) + 1;
    this.failures.set(c.index, failures);
    this.chunks.delete(c.index);
    if (c.data !== null) this.buffered -= c.length;
    this.recycle(c);
    if (failures >= MAX_FAILURES_PER_CHUNK) {
      throw new WraithError('E_INTEGRITY', `chunk ${c.index} failed verification ${failures} times`, {
        chunkIndex: c.index,
        failures,
      });
    }
    this.resendQueue.push(c.index);
  }
}

/** Short-chunk buffers keep 4 KiB multiples (what O_DIRECT writers expect of a buffer). */
function alignUp(n: number): number {
  return Math.max(4096, Math.ceil(n / 4096) * 4096);
}
