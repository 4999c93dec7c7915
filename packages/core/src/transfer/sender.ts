/**
 * The sending side of one verified chunked transfer (PROTOCOL.md §7), sans-IO.
 *
 * The node reads chunks the sender asks for (`wantedChunks` → `supplyChunk`),
 * the session packs what `nextItem` returns into PROOF and CHUNK frames and
 * reports each item's fate (`onItemAcked` / `onItemLost`, with the very object
 * nextItem returned). Control messages arrive as `onAccept`, `onWindow` and
 * `onResend`.
 *
 * Per chunk: proof first, then data, in chunk order below the window; lost
 * items are re-sent before anything new. Chunk bytes are dropped as soon as
 * all of their data is acked. A RESEND (the receiver failed to verify the
 * chunk and dropped it) starts a new generation of the chunk: acks and losses
 * of items from older generations are then ignored.
 *
 * A chunk whose leaf is the all-zero leaf goes out as a ZERO_CHUNK item when
 * the receiver takes them: its proof, then no data, and the node never reads it.
 */
import { WraithError } from '../errors.js';
import { ByteRanges } from './byte-ranges.js';
import { bytesEqual } from './bytes.js';
import { ChunkSet, type ReadonlyChunkRanges } from './chunk-set.js';
import { FlowWindow } from './flow-window.js';
import { HASH_LEN, type Blake3 } from './hasher.js';
import { chunkCount, chunkRange, validateManifest, type FileManifest } from './manifest.js';
import { leafHash, zeroLeaf } from './merkle.js';
import { MerkleTree } from './merkle-tree.js';

/** Reads are asked for once this much buffer room is free (see wantedChunks). */
const READ_BATCH_BYTES = 2 * 1024 * 1024;

/** PROOF frames carry a u8 count of hashes. */
export const MAX_PROOF_HASHES_PER_FRAME = 255;

export type SendItem =
  | { kind: 'proof'; transferId: number; chunkIndex: number; first: number; hashes: Uint8Array }
  | {
      kind: 'chunk';
      transferId: number;
      offset: number;
      /** The bytes: a view of src[start, end), made when asked for. */
      data: Uint8Array;
      /** The chunk buffer the bytes are in, and where. */
      src: Uint8Array;
      start: number;
      end: number;
    }
  | { kind: 'zero'; transferId: number; chunkIndex: number };

export interface TransferSenderOptions {
  id: number;
  manifest: FileManifest;
  /** The file's tree, or its leaf row (chunkCount × 32 bytes) to build one from. Not needed for directories. */
  tree?: MerkleTree;
  leaves?: Uint8Array;
  hasher: Blake3;
  /** Bytes of chunk data requested or held in memory at once (at least one chunk is always allowed). */
  maxBufferedBytes: number;
  /** The receiver's initial_window transport parameter (bytes; see FlowWindow). */
  initialWindow: number;
  /**
   * When a chunk's bytes are hashed against its leaf, so that a file changed since it was hashed
   * fails with E_SOURCE_CHANGED: 'supply' every chunk before it goes out; 'resend' (default) only
   * a chunk the receiver asked for again. The receiver verifies every chunk against the root, so
   * changed bytes never land either way; 'resend' saves the sender a second pass over the file
   * and names the cause one round trip later.
   */
  verifySource?: 'supply' | 'resend';
  /**
   * The receiver takes ZERO_CHUNK frames (its zero_chunks transport parameter): chunks whose leaf
   * is the all-zero leaf are sent as such, never read. Their bytes are the ones hashed at the
   * offer, so no source check covers them.
   */
  zeroChunks?: boolean;
  /**
   * Called when all of a chunk's data is acked and the sender drops the bytes,
   * so the node may reuse the buffer. Items are views into it: the session must
   * have encoded every item it took from nextItem before the next ack is processed.
   */
  release?: (index: number, bytes: Uint8Array) => void;
}

export interface SenderStats {
  /** CHUNK data bytes handed out, retransmissions included. */
  payloadBytesSent: number;
  /** Of those, bytes sent again: after a loss or a RESEND. */
  bytesRetransmitted: number;
  /** Bytes of chunks the receiver already held (ACCEPT), never sent. */
  bytesSkippedResume: number;
  /** Chunk transmissions whose data was all handed out once (a resent chunk counts again). */
  chunksSent: number;
  /** Bytes of all-zero chunks sent as ZERO_CHUNK frames, without their bytes (first pass only). */
  bytesZero: number;
}

type Phase =
  | 'requested' // handed out by wantedChunks, bytes not supplied yet
  | 'ready' // bytes supplied (they are dropped once all data is acked)
  | 'reread'; // RESEND after the bytes were dropped: wantedChunks asks for them again

interface OutChunk {
  readonly index: number;
  readonly offset: number;
  readonly length: number;
  gen: number;
  /** This generation answers a RESEND: its data counts as retransmitted. */
  resend: boolean;
  /** All zeros, sent as a ZERO_CHUNK item: never read, `bytes` stays null. */
  zero: boolean;
  phase: Phase;
  bytes: Uint8Array | null;
  proof: Uint8Array | null;
  /** Next proof position / data byte to hand out on the first pass of this generation. */
  proofNext: number;
  sentUpTo: number;
  proofAcked: boolean[];
  proofAckedCount: number;
  acked: ByteRanges;
}

/** A CHUNK item with its bookkeeping: one object per data packet, nothing beside it. */
class ChunkItem {
  readonly kind = 'chunk' as const;
  live = true;
  constructor(
    readonly owner: TransferSender,
    readonly transferId: number,
    readonly offset: number,
    readonly src: Uint8Array,
    readonly index: number,
    readonly gen: number,
    readonly start: number,
    readonly end: number,
  ) {}

  get data(): Uint8Array {
    return this.src.subarray(this.start, this.end);
  }
}

/** A PROOF item with its bookkeeping. */
class ProofItem {
  readonly kind = 'proof' as const;
  live = true;
  constructor(
    readonly owner: TransferSender,
    readonly transferId: number,
    readonly chunkIndex: number,
    readonly first: number,
    readonly hashes: Uint8Array,
    readonly gen: number,
    readonly count: number,
  ) {}
}

/** A ZERO_CHUNK item with its bookkeeping. */
class ZeroItem {
  readonly kind = 'zero' as const;
  live = true;
  constructor(
    readonly owner: TransferSender,
    readonly transferId: number,
    readonly chunkIndex: number,
    readonly gen: number,
  ) {}
}

/** The item as this sender issued it, or null (not ours, or already resolved). */
function ownItem(item: SendItem, owner: TransferSender): ChunkItem | ProofItem | ZeroItem | null {
  if (!(item instanceof ChunkItem || item instanceof ProofItem || item instanceof ZeroItem)) return null;
  return item.owner === owner && item.live ? item : null;
}

interface LostProof {
  index: number;
  gen: number;
  first: number;
  count: number;
}
interface LostData {
  index: number;
  gen: number;
  start: number;
  end: number;
}

export class TransferSender {
  readonly id: number;
  readonly manifest: FileManifest;
  readonly stats: SenderStats = { payloadBytesSent: 0, bytesRetransmitted: 0, bytesSkippedResume: 0, chunksSent: 0, bytesZero: 0 };

  private readonly n: number;
  private readonly depth: number;
  private readonly tree: MerkleTree | null;
  private readonly hasher: Blake3;
  private readonly maxBuffered: number;
  private readonly initialWindowBytes: number;
  private readonly verifySource: 'supply' | 'resend';
  private readonly zeroChunks: boolean;
  private readonly release: ((index: number, bytes: Uint8Array) => void) | undefined;

  private isAccepted = false;
  private peerHeld: ChunkSet;
  private readonly done: ChunkSet;
  private maxOffset = 0;
  /** Lowest chunk index never requested. */
  private nextNew = 0;
  /** Bytes requested or held in memory. */
  private budgetUsed = 0;
  private genCounter = 0;

  private readonly chunks = new Map<number, OutChunk>();
  /** Supplied chunks with first-pass work left, ascending. */
  private readonly active: number[] = [];
  private readonly rereads: number[] = [];
  /** The most window seen ahead of the next new chunk: about the receiver's window size. */
  private peakRoom = 0;
  private lostProofs: LostProof[] = [];
  private lostData: LostData[] = [];

  constructor(opts: TransferSenderOptions) {
    validateManifest(opts.manifest);
    if (!Number.isSafeInteger(opts.id) || opts.id < 0) {
      throw new WraithError('E_INTERNAL', `a transfer id is a non-negative integer, got ${opts.id}`);
    }
    if (!Number.isSafeInteger(opts.maxBufferedBytes) || opts.maxBufferedBytes < 1) {
      throw new WraithError('E_INTERNAL', `maxBufferedBytes must be a positive integer, got ${opts.maxBufferedBytes}`);
    }
    if (!Number.isSafeInteger(opts.initialWindow) || opts.initialWindow < 0) {
      throw new WraithError('E_INTERNAL', `initialWindow must be a non-negative integer, got ${opts.initialWindow}`);
    }
    this.id = opts.id;
    this.manifest = opts.manifest;
    this.hasher = opts.hasher;
    this.maxBuffered = opts.maxBufferedBytes;
    this.initialWindowBytes = opts.initialWindow;
    this.verifySource = opts.verifySource ?? 'resend';
    this.zeroChunks = opts.zeroChunks === true;
    this.release = opts.release;
    this.n = chunkCount(opts.manifest);
    this.peerHeld = new ChunkSet(this.n);
    this.done = new ChunkSet(this.n);
    if (this.n === 0) {
      this.tree = null;
      this.depth = 0;
      return;
    }
    const tree = opts.tree ?? (opts.leaves ? new MerkleTree(opts.hasher, opts.leaves) : undefined);
    if (tree === undefined) throw new WraithError('E_INTERNAL', 'a file sender needs its Merkle tree or leaves');
    if (tree.leafCount !== this.n) {
      throw new WraithError('E_INTERNAL', `the tree has ${tree.leafCount} leaves but the file has ${this.n} chunks`);
    }
    if (!bytesEqual(tree.root, opts.manifest.root)) {
      throw new WraithError('E_INTERNAL', 'the tree root differs from the manifest root');
    }
    this.tree = tree;
    this.depth = tree.depth;
  }

  get accepted(): boolean {
    return this.isAccepted;
  }

  /** Every chunk the receiver needed has its data and proof acked (a later RESEND reopens it). */
  get finished(): boolean {
    return this.isAccepted && this.done.count + this.peerHeld.count === this.n;
  }

  /** Bytes of the chunks that go as ZERO_CHUNK items (0 without zeroChunks). */
  get zeroBytes(): number {
    let bytes = 0;
    for (let i = 0; i < this.n; i++) if (this.isZero(i)) bytes += chunkRange(this.manifest, i).length;
    return bytes;
  }

  /** The current grant: file bytes below it may be sent. */
  get windowOffset(): number {
    return this.maxOffset;
  }

  /** Bytes of chunk data requested from the node or held in memory. */
  get bufferedBytes(): number {
    return this.budgetUsed;
  }

  /** ACCEPT: `held` are chunks the receiver already holds, never sent. */
  /**
   * `zerosHeld`: the receiver had the leaf row, so the all-zero chunks it holds are ones it
   * took as zeros from the row: they count in bytesZero, not bytesSkippedResume.
   */
  onAccept(held: ReadonlyChunkRanges, zerosHeld = false): void {
    if (this.isAccepted) throw new WraithError('E_PROTOCOL', `transfer ${this.id} was accepted twice`);
    this.peerHeld = ChunkSet.fromRanges(this.n, held, 'E_PROTOCOL');
    for (const [first, count] of this.peerHeld.toRanges()) {
      const last = chunkRange(this.manifest, first + count - 1);
      let bytes = last.offset + last.length - first * this.manifest.chunkSize;
      if (zerosHeld && this.zeroChunks) {
        for (let i = first; i < first + count; i++) {
          if (!this.isZero(i)) continue;
          const { length } = chunkRange(this.manifest, i);
          bytes -= length;
          this.stats.bytesZero += length;
        }
      }
      this.stats.bytesSkippedResume += bytes;
    }
    this.isAccepted = true;
    const initial = new FlowWindow(this.manifest.size, this.manifest.chunkSize, this.peerHeld, this.initialWindowBytes);
    this.maxOffset = Math.max(this.maxOffset, initial.maxOffset);
    // An empty file's only chunk has no bytes and (depth 0) no proof: nothing to send.
    if (this.n === 1 && this.manifest.size === 0 && !this.peerHeld.has(0)) {
      this.done.add(0);
      this.nextNew = 1;
    }
  }

  /** WINDOW: grants are monotonic; a smaller value is a reordered old frame and is ignored. */
  onWindow(maxOffset: number): void {
    if (!Number.isSafeInteger(maxOffset) || maxOffset < 0) {
      throw new WraithError('E_PROTOCOL', `WINDOW max_offset ${maxOffset} is not a non-negative integer`);
    }
    if (maxOffset > this.maxOffset) this.maxOffset = maxOffset;
  }

  /** RESEND: the receiver failed to verify `chunkIndex` and dropped it; send it again in full. */
  onResend(chunkIndex: number): void {
    if (!this.isAccepted) throw new WraithError('E_PROTOCOL', `RESEND for transfer ${this.id} before ACCEPT`);
    if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= this.n) {
      throw new WraithError('E_PROTOCOL', `RESEND of chunk ${chunkIndex} outside 0..${this.n - 1}`, { chunkIndex });
    }
    if (this.peerHeld.has(chunkIndex)) {
      throw new WraithError('E_PROTOCOL', `RESEND of chunk ${chunkIndex}, which the receiver said it holds`);
    }
    const c = this.chunks.get(chunkIndex);
    if (c === undefined) {
      // Not requested yet: it will be sent anyway. A zero-length chunk has nothing to resend.
      if (!this.done.has(chunkIndex) || this.manifest.size === 0) return;
      this.done.delete(chunkIndex);
      if (this.isZero(chunkIndex)) {
        this.newZero(chunkIndex).resend = true;
        return;
      }
      this.newChunk(chunkIndex, 'reread');
      this.rereads.push(chunkIndex);
      return;
    }
    // Requested but not supplied: nothing of this generation went out yet.
    if (c.phase !== 'ready') return;
    // The receiver's hash disagreed: unless these bytes were checked when supplied, the file may
    // have changed since it was hashed, and sending them again would only fail again.
    if (c.bytes !== null && this.verifySource !== 'supply') this.checkSource(c.index, c.bytes);
    this.startGeneration(c);
    c.resend = true;
    if (c.bytes !== null || c.zero) {
      this.activate(c.index);
    } else {
      c.phase = 'reread';
      this.rereads.push(c.index);
    }
  }

  /**
   * Chunk indexes the node should read next (at most `max`), marked requested:
   * re-reads for RESENDs first, then new chunks in order below the window,
   * while the bytes requested or held stay within maxBufferedBytes.
   */
  wantedChunks(max: number): number[] {
    const out: number[] = [];
    if (!this.isAccepted) return out;
    this.admitZeros();
    // Refill in batches, not a chunk per ACK: each read is a hand-off to another thread (a
    // cross-CPU wake-up), and a batch this big goes to kernel workers instead of being copied
    // on the event loop. A RESEND is served at once; an empty buffer takes any room.
    const cs = this.manifest.chunkSize;
    const next = this.nextNew < this.n ? this.peerHeld.firstMissing(this.nextNew) : -1;
    if (next >= 0) this.peakRoom = Math.max(this.peakRoom, this.maxOffset - next * cs);
    const batch = Math.min(READ_BATCH_BYTES, this.maxBuffered / 4, Math.max(cs, this.peakRoom / 4));
    if (this.rereads.length === 0 && this.budgetUsed > 0) {
      if (this.maxBuffered - this.budgetUsed < batch) return out;
      // The receiver opens its window a chunk at a time, as it writes: wait for a batch of
      // window too (unless the file ends inside it), or reads go out a chunk or two at a time.
      if (next >= 0 && this.maxOffset - next * cs < batch && this.maxOffset < this.manifest.size) return out;
    }
    while (out.length < max) {
      const reread = this.rereads[0];
      let index: number;
      if (reread !== undefined) {
        index = reread;
      } else {
        this.admitZeros();
        index = this.nextNew < this.n ? this.peerHeld.firstMissing(this.nextNew) : -1;
        if (index < 0 || index * this.manifest.chunkSize >= this.maxOffset) break;
      }
      const { length } = chunkRange(this.manifest, index);
      if (this.budgetUsed > 0 && this.budgetUsed + length > this.maxBuffered) break;
      if (reread !== undefined) {
        this.rereads.shift();
        (this.chunks.get(index) as OutChunk).phase = 'requested';
      } else {
        this.newChunk(index, 'requested');
        this.nextNew = index + 1;
      }
      this.budgetUsed += length;
      out.push(index);
    }
    return out;
  }

  /** The bytes of a requested chunk, exactly its chunkRange length. */
  supplyChunk(index: number, bytes: Uint8Array): void {
    const c = this.chunks.get(index);
    if (c === undefined || c.phase !== 'requested') {
      throw new WraithError('E_INTERNAL', `chunk ${index} of transfer ${this.id} was supplied without being requested`);
    }
    if (bytes.length !== c.length) {
      throw new WraithError('E_INTERNAL', `chunk ${index} is ${c.length} bytes, ${bytes.length} were supplied`, {
        index,
        expected: c.length,
        got: bytes.length,
      });
    }
    const tree = this.tree as MerkleTree;
    if (this.verifySource === 'supply' || c.resend) this.checkSource(index, bytes);
    c.bytes = bytes;
    c.phase = 'ready';
    if (c.proof === null && this.depth > 0) c.proof = tree.proof(index);
    this.activate(index);
  }

  /** E_SOURCE_CHANGED unless `bytes` hash to chunk `index`'s leaf. */
  private checkSource(index: number, bytes: Uint8Array): void {
    if (!bytesEqual(leafHash(this.hasher, bytes), (this.tree as MerkleTree).leaf(index))) {
      throw new WraithError(
        'E_SOURCE_CHANGED',
        `chunk ${index} of ${JSON.stringify(this.manifest.name)} no longer matches the hash taken when it was offered`,
        { index },
      );
    }
  }

  /**
   * The next PROOF or CHUNK item, its data at most `maxPayload` bytes, or null
   * when nothing can go now (not accepted, window closed, waiting for bytes).
   */
  nextItem(maxPayload: number): SendItem | null {
    if (!this.isAccepted || maxPayload < 1) return null;
    if (this.active.length === 0) this.admitZeros();
    const maxHashes = Math.min(MAX_PROOF_HASHES_PER_FRAME, Math.floor(maxPayload / HASH_LEN));
    return this.retransmitProof(maxHashes) ?? this.retransmitData(maxPayload) ?? this.firstPass(maxPayload, maxHashes);
  }

  onItemAcked(item: SendItem): void {
    const meta = ownItem(item, this);
    if (meta === null) return; // acked before, or not ours
    meta.live = false;
    const c = this.chunks.get(meta.kind === 'chunk' ? meta.index : meta.chunkIndex);
    if (c === undefined || c.gen !== meta.gen) return;
    if (meta.kind === 'proof') {
      for (let p = meta.first; p < meta.first + meta.count; p++) {
        if (!c.proofAcked[p]) {
          c.proofAcked[p] = true;
          c.proofAckedCount++;
        }
      }
    } else if (meta.kind === 'zero') {
      c.acked.add(0, c.length);
    } else {
      c.acked.add(meta.start, meta.end);
    }
    this.settle(c);
  }

  onItemLost(item: SendItem): void {
    const meta = ownItem(item, this);
    if (meta === null) return;
    const c = this.chunks.get(meta.kind === 'chunk' ? meta.index : meta.chunkIndex);
    if (c === undefined || c.gen !== meta.gen) return;
    if (meta.kind === 'zero') {
      if (c.acked.covered < c.length) this.lostData.push({ index: c.index, gen: c.gen, start: 0, end: c.length });
      return;
    }
    if (meta.kind === 'proof') {
      for (let p = meta.first; p < meta.first + meta.count; p++) {
        if (!c.proofAcked[p]) {
          this.lostProofs.push({ index: c.index, gen: c.gen, first: meta.first, count: meta.count });
          return;
        }
      }
    } else if (!c.acked.has(meta.start, meta.end)) {
      this.lostData.push({ index: c.index, gen: c.gen, start: meta.start, end: meta.end });
    }
  }

  private newChunk(index: number, phase: Phase): OutChunk {
    const { offset, length } = chunkRange(this.manifest, index);
    const c: OutChunk = {
      index,
      offset,
      length,
      gen: 0,
      resend: phase === 'reread',
      zero: false,
      phase,
      bytes: null,
      proof: null,
      proofNext: 0,
      sentUpTo: 0,
      proofAcked: [],
      proofAckedCount: 0,
      acked: new ByteRanges(),
    };
    this.startGeneration(c);
    this.chunks.set(index, c);
    return c;
  }

  /** Whether chunk `index` is all zeros and goes out as a ZERO_CHUNK. */
  private isZero(index: number): boolean {
    if (!this.zeroChunks || this.tree === null) return false;
    const { length } = chunkRange(this.manifest, index);
    return length > 0 && bytesEqual(this.tree.leaf(index), zeroLeaf(this.hasher, length));
  }

  /** A zero chunk, ready to go at once: it needs no read and no buffer. */
  private newZero(index: number): OutChunk {
    const c = this.newChunk(index, 'ready');
    c.zero = true;
    if (this.depth > 0) c.proof = (this.tree as MerkleTree).proof(index);
    this.activate(index);
    return c;
  }

  /** Takes up the zero chunks next in order below the window (the node has nothing to read for them). */
  private admitZeros(): void {
    const cs = this.manifest.chunkSize;
    while (this.nextNew < this.n) {
      const index = this.peerHeld.firstMissing(this.nextNew);
      if (index < 0 || index * cs >= this.maxOffset || !this.isZero(index)) return;
      this.newZero(index);
      this.nextNew = index + 1;
    }
  }

  private startGeneration(c: OutChunk): void {
    c.gen = ++this.genCounter;
    c.proofNext = 0;
    c.sentUpTo = 0;
    c.proofAcked = new Array<boolean>(this.depth).fill(false);
    c.proofAckedCount = 0;
    c.acked.clear();
  }

  /** Data all acked: drop the bytes. Proof too: the chunk is done. */
  private settle(c: OutChunk): void {
    if (c.acked.covered === c.length && c.bytes !== null) {
      const bytes = c.bytes;
      c.bytes = null;
      this.budgetUsed -= c.length;
      this.release?.(c.index, bytes);
    }
    if (c.acked.covered === c.length && c.proofAckedCount === this.depth && c.phase === 'ready') {
      this.chunks.delete(c.index);
      this.done.add(c.index);
    }
  }

  private activate(index: number): void {
    const a = this.active;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((a[mid] as number) < index) lo = mid + 1;
      else hi = mid;
    }
    if (a[lo] !== index) a.splice(lo, 0, index);
  }

  private proofItem(c: OutChunk, first: number, count: number): SendItem {
    const hashes = (c.proof as Uint8Array).subarray(first * HASH_LEN, (first + count) * HASH_LEN);
    return new ProofItem(this, this.id, c.index, first, hashes, c.gen, count);
  }

  private dataItem(c: OutChunk, start: number, end: number, again: boolean): SendItem {
    this.stats.payloadBytesSent += end - start;
    if (again) this.stats.bytesRetransmitted += end - start;
    return new ChunkItem(this, this.id, c.offset + start, c.bytes as Uint8Array, c.index, c.gen, start, end);
  }

  private live(index: number, gen: number): OutChunk | null {
    const c = this.chunks.get(index);
    return c !== undefined && c.gen === gen ? c : null;
  }

  private retransmitProof(maxHashes: number): SendItem | null {
    while (this.lostProofs.length > 0) {
      const e = this.lostProofs[0] as LostProof;
      const c = this.live(e.index, e.gen);
      let p = e.first;
      const end = e.first + e.count;
      if (c !== null) while (p < end && c.proofAcked[p]) p++;
      if (c === null || c.proof === null || p >= end) {
        this.lostProofs.shift();
        continue;
      }
      if (maxHashes < 1) return null;
      const count = Math.min(maxHashes, end - p);
      if (p + count >= end) this.lostProofs.shift();
      else {
        e.first = p + count;
        e.count = end - e.first;
      }
      return this.proofItem(c, p, count);
    }
    return null;
  }

  private retransmitData(maxPayload: number): SendItem | null {
    while (this.lostData.length > 0) {
      const e = this.lostData[0] as LostData;
      const c = this.live(e.index, e.gen);
      if (c !== null && c.zero) {
        this.lostData.shift();
        if (c.acked.covered < c.length) return new ZeroItem(this, this.id, c.index, c.gen);
        continue;
      }
      const gap = c !== null && c.bytes !== null ? c.acked.firstGap(e.start, e.end) : null;
      if (c === null || gap === null) {
        this.lostData.shift();
        continue;
      }
      const start = gap[0];
      const end = Math.min(gap[1], start + maxPayload);
      e.start = end;
      if (e.start >= e.end) this.lostData.shift();
      return this.dataItem(c, start, end, true);
    }
    return null;
  }

  private firstPass(maxPayload: number, maxHashes: number): SendItem | null {
    while (this.active.length > 0) {
      const c = this.chunks.get(this.active[0] as number);
      if (c === undefined || c.phase !== 'ready' || (c.bytes === null && !c.zero)) {
        this.active.shift();
        continue;
      }
      if (c.proofNext < this.depth) {
        if (maxHashes < 1) return null;
        const count = Math.min(maxHashes, this.depth - c.proofNext);
        const first = c.proofNext;
        c.proofNext += count;
        return this.proofItem(c, first, count);
      }
      if (c.sentUpTo >= c.length) {
        this.active.shift();
        continue;
      }
      if (c.zero) {
        // Chunks ascend: one beyond the window holds back the rest, as data would.
        if (c.offset + c.length > this.maxOffset) return null;
        c.sentUpTo = c.length;
        this.active.shift();
        this.stats.chunksSent++;
        if (!c.resend) this.stats.bytesZero += c.length;
        return new ZeroItem(this, this.id, c.index, c.gen);
      }
      // Chunks ascend, so if this one is blocked by the window, so are the rest.
      const limit = Math.min(c.length, this.maxOffset - c.offset, c.sentUpTo + maxPayload);
      if (limit <= c.sentUpTo) return null;
      const start = c.sentUpTo;
      c.sentUpTo = limit;
      if (limit === c.length) {
        this.active.shift();
        this.stats.chunksSent++;
      }
      // Bytes of a generation after the first are a resend.
      return this.dataItem(c, start, limit, c.resend);
    }
    return null;
  }
}
