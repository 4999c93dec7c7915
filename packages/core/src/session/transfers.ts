import { WraithError, type ErrorCode } from '../errors.js';
import {
  TransferReceiver,
  TransferSender,
  validateManifest,
  validateName,
  type Blake3,
  type FileManifest,
  MerkleTree,
  chunkCount,
  type SendItem,
} from '../transfer/index.js';
import { bytesEqual } from '../transfer/bytes.js';
import { CONTROL_STREAM_WINDOW, MAX_LEAVES_PER_MESSAGE } from '../wire/control.js';
import { varintLength } from '../wire/varint.js';
import type { SessionControl } from './session.js';
import type { SessionEvent, TransferStats } from './events.js';
import type { ReceiveBudget } from './receive-budget.js';

function validName(name: string): boolean {
  try {
    validateName(name);
    return true;
  } catch {
    return false;
  }
}

type SenderEntry = {
  kind: 'send';
  id: number;
  manifest: FileManifest;
  sender: TransferSender;
  tree: MerkleTree;
  state: 'offered' | 'active' | 'sent';
  /** The receiver's last WRITTEN: bytes it holds on its disk. */
  written?: number;
  /** The receiver asked for the leaf row: the next leaf to send it (see pumpLeaves). */
  leafNext?: number;
  /** Of the bytes it held at ACCEPT, those it copied from its older copy. */
  reused?: number;
};
type ReceiverEntry = {
  kind: 'recv';
  id: number;
  manifest: FileManifest;
  receiver: TransferReceiver | null;
  state: 'offered' | 'active' | 'received';
  /** Bytes told in the last WRITTEN. */
  writtenSent?: number;
  /** The offer's size less its zero_bytes: CHUNK data beyond it breaks the offer's word. */
  dataLimit?: number;
  /** Chunk bytes verified that came as data, not as ZERO_CHUNK. */
  dataVerified?: number;
  /** The leaf row asked for with LEAF_REQUEST, filled in order; `dropped` once accepted without it. */
  leafRow?: Uint8Array;
  leavesGot?: number;
  leafState?: 'pending' | 'done' | 'dropped';
};

/**
 * LEAVES messages are queued while the control stream holds less than this (a 100 GiB file's row
 * is 12.5 MiB): two windows of 65536, or of a peer's larger control_window up to LEAVES_AHEAD_MAX,
 * so that other control messages wait behind at most that much.
 */
export const LEAVES_AHEAD_BYTES = 128 * 1024;
export const LEAVES_AHEAD_MAX = 1024 * 1024;

/** What pumpLeaves keeps queued or in flight for a control window of `window` bytes. */
export function leavesAhead(window: number): number {
  return Math.max(LEAVES_AHEAD_BYTES, Math.min(2 * window, LEAVES_AHEAD_MAX));
}

/**
 * A receiver tells its disk progress in steps of at least this, or 1/256 of the file: a slow
 * disk's progress shows about every second at 1 MB/s, a 1 GiB file costs 256 small messages.
 */
export const WRITTEN_STEP_MIN = 1 << 20;

export interface TransferTableDeps {
  sessionId: () => number;
  peerId: () => string;
  emit: (e: SessionEvent) => void;
  sendControl: (m: SessionControl) => void;
  hasher: Blake3;
  windowBytes: number;
  /** All receivers' outstanding bytes together (SessionConfig.sessionBufferBytes); absent: no cap. */
  sessionBufferBytes?: number;
  /** The endpoint's budget over all sessions (with sessionBufferBytes only): a share of it caps this session too. */
  receiveBudget?: ReceiveBudget;
  sendBufferBytes: number;
  maxTransfers: number;
  /** The peer's max_transfers transport parameter (how many of our offers it takes at once), once known. */
  peerMaxTransfers?: () => number | undefined;
  /** The peer takes DONE status 2 (installed under another name). */
  peerStoredNames?: () => boolean;
  /** The peer takes WRITTEN messages (its written_progress transport parameter). */
  peerWrittenProgress?: () => boolean;
  /** The peer takes ZERO_CHUNK frames (its zero_chunks transport parameter). */
  peerZeroChunks?: () => boolean;
  /** The peer answers LEAF_REQUEST (its leaf_rows transport parameter). */
  peerLeafRows?: () => boolean;
  /** Bytes queued or unacknowledged on our control stream (LEAVES wait for room). */
  controlBuffered?: () => number;
  /** Our control stream's window (the peer's control_window): LEAVES keep it full. */
  controlWindow?: () => number;
  /** Ids we allocate: even for the session initiator, odd for the responder. */
  firstLocalId: number;
  /** Chunk bytes handed over with supplyChunk are no longer needed (the driver may reuse them). */
  releaseChunk?: (bytes: Uint8Array) => void;
  /** Receive buffers for chunks (TransferReceiverOptions.allocChunk). */
  allocChunk?: (size: number) => Uint8Array;
}

/**
 * The transfers of one session: maps control messages and frames to the
 * per-transfer state machines and schedules their data fairly.
 */
export class TransferTable {
  private readonly senders = new Map<number, SenderEntry>();
  private readonly receivers = new Map<number, ReceiverEntry>();
  private nextId: number;
  private rr: number[] = [];
  private rrPos = 0;
  /** Transfers whose WINDOW must be (re)announced. */
  readonly windowDirty = new Set<number>();
  private readonly windowAnnounced = new Map<number, number>();
  private readonly readsDirty = new Set<number>();
  /** Transfers whose leaf row the receiver asked for, in the order asked. */
  private leafAnswers: number[] = [];

  constructor(private readonly d: TransferTableDeps) {
    this.nextId = d.firstLocalId;
  }

  get activeCount(): number {
    return this.senders.size + this.receivers.size;
  }

  // ---- commands from the driver ----

  /** Outgoing transfers this session may have at once: ours and the peer's limit, the lower. */
  get offerLimit(): number {
    return Math.min(this.d.maxTransfers, this.d.peerMaxTransfers?.() ?? Number.POSITIVE_INFINITY);
  }

  offer(manifest: FileManifest, tree: MerkleTree): number {
    validateManifest(manifest);
    const limit = this.offerLimit;
    if (this.senders.size >= limit) {
      throw new WraithError('E_TRANSFER_REJECTED', `too many transfers in flight (max ${limit})`);
    }
    const id = this.nextId;
    this.nextId += 2;
    const sender = new TransferSender({
      id,
      manifest,
      tree,
      hasher: this.d.hasher,
      maxBufferedBytes: this.d.sendBufferBytes,
      initialWindow: 0,
      zeroChunks: this.d.peerZeroChunks?.() === true,
      ...(this.d.releaseChunk ? { release: (_i: number, bytes: Uint8Array) => this.d.releaseChunk?.(bytes) } : {}),
    });
    this.senders.set(id, { kind: 'send', id, manifest, sender, tree, state: 'offered' });
    this.d.sendControl({
      type: 'offer',
      transferId: id,
      kind: manifest.kind === 'dir' ? 1 : 0,
      size: manifest.size,
      chunkLog2: Math.log2(manifest.chunkSize),
      mode: manifest.mode,
      mtimeMs: manifest.mtimeMs,
      root: manifest.root,
      name: manifest.name,
      ...(this.d.peerZeroChunks?.() === true ? { zeroBytes: sender.zeroBytes } : {}),
    });
    return id;
  }

  /** `reusedBytes`: of the held bytes, those copied from an older copy (told only after requestLeaves). */
  accept(id: number, held?: Array<[number, number]>, reusedBytes?: number): void {
    const e = this.receivers.get(id);
    if (!e || e.state !== 'offered') throw new WraithError('E_TRANSFER_UNKNOWN', `no offered transfer ${id}`);
    // The others' shares shrink first; the new transfer gets what is free of its share.
    this.rebalance(1);
    const receiver = new TransferReceiver({
      id,
      manifest: e.manifest,
      hasher: this.d.hasher,
      ...(held ? { held } : {}),
      windowBytes: this.budgetFor(null, this.takers().length + 1),
      ...(this.d.allocChunk ? { allocChunk: this.d.allocChunk } : {}),
    });
    e.receiver = receiver;
    e.state = 'active';
    const asked = e.leafState !== undefined;
    if (e.leafState === 'pending') e.leafState = 'dropped';
    delete e.leafRow;
    this.d.receiveBudget?.report(this.d.sessionId(), this.takers().length > 0, this.receiveOutstandingBytes);
    const ranges = fitRanges(receiver.acceptRanges(), CONTROL_STREAM_WINDOW - 64);
    this.d.sendControl({ type: 'accept', transferId: id, ranges, ...(asked ? { reusedBytes: reusedBytes ?? 0 } : {}) });
    this.windowDirty.add(id);
    if (receiver.complete) {
      e.state = 'received';
      this.d.emit({ type: 'transfer_received', session: this.d.sessionId(), transferId: id });
    }
  }

  /** The peer can send an offered file's leaf row (leaf_rows). */
  get peerSendsLeaves(): boolean {
    return this.d.peerLeafRows?.() === true;
  }

  /**
   * Receiver: asks the sender of an offered file for its leaf row; a `leaves` event brings it,
   * checked against the root, before the transfer is accepted. Once per offer.
   */
  requestLeaves(id: number): void {
    const e = this.receivers.get(id);
    if (!e || e.state !== 'offered') throw new WraithError('E_TRANSFER_UNKNOWN', `no offered transfer ${id}`);
    if (!this.peerSendsLeaves) throw new WraithError('E_INTERNAL', 'the peer does not send leaf rows');
    if (e.leafState !== undefined || e.manifest.kind !== 'file') throw new WraithError('E_INTERNAL', `leaf row of transfer ${id} asked for twice, or of a directory`);
    e.leafRow = new Uint8Array(chunkCount(e.manifest) * 32);
    e.leavesGot = 0;
    e.leafState = 'pending';
    this.d.sendControl({ type: 'leaf_request', transferId: id });
  }

  /** Receiver: leaves of the row asked for that have come so far (null when none is awaited). */
  leavesReceived(id: number): number | null {
    const e = this.receivers.get(id);
    return e?.leafState === 'pending' ? (e.leavesGot ?? 0) : null;
  }

  /** Sender: queues the next LEAVES messages while the control stream has room. */
  pumpLeaves(): void {
    const buffered = this.d.controlBuffered;
    const ahead = leavesAhead(this.d.controlWindow?.() ?? CONTROL_STREAM_WINDOW);
    while (this.leafAnswers.length > 0 && (buffered === undefined || buffered() < ahead)) {
      const id = this.leafAnswers[0] as number;
      const e = this.senders.get(id);
      const n = e ? chunkCount(e.manifest) : 0;
      if (!e || e.leafNext === undefined || e.leafNext >= n) {
        this.leafAnswers.shift(); // cancelled meanwhile, or all sent
        continue;
      }
      const first = e.leafNext;
      const count = Math.min(MAX_LEAVES_PER_MESSAGE, n - first);
      this.d.sendControl({ type: 'leaves', transferId: id, first, leaves: e.tree.leafRange(first, count) });
      e.leafNext = first + count;
    }
  }

  reject(id: number, code: ErrorCode, reason: string): void {
    const e = this.receivers.get(id);
    if (!e) throw new WraithError('E_TRANSFER_UNKNOWN', `no transfer ${id}`);
    this.receivers.delete(id);
    this.windowDirty.delete(id);
    this.d.sendControl({ type: 'reject', transferId: id, errorCode: code, reason });
  }

  cancel(id: number, code: ErrorCode, reason: string): void {
    const had = this.senders.delete(id) || this.receivers.delete(id);
    if (!had) throw new WraithError('E_TRANSFER_UNKNOWN', `no transfer ${id}`);
    this.windowDirty.delete(id);
    this.rebalance(0);
    this.d.sendControl({ type: 'cancel', transferId: id, errorCode: code, reason });
  }

  supplyChunk(id: number, index: number, bytes: Uint8Array): void {
    const e = this.senders.get(id);
    if (!e) return; // cancelled meanwhile
    e.sender.supplyChunk(index, bytes);
  }

  chunkWritten(id: number, index: number): void {
    const e = this.receivers.get(id);
    if (!e?.receiver) return;
    e.receiver.chunkWritten(index);
    this.windowDirty.add(id);
    if (!e.receiver.complete && this.d.peerWrittenProgress?.() === true) {
      const bytes = e.receiver.heldBytes;
      if (bytes - (e.writtenSent ?? 0) >= Math.max(WRITTEN_STEP_MIN, Math.ceil(e.manifest.size / 256))) {
        e.writtenSent = bytes;
        this.d.sendControl({ type: 'written', transferId: id, bytes });
      }
    }
    this.rebalance(0); // the bytes it held are free for the others
    if (e.receiver.complete && e.state === 'active') {
      e.state = 'received';
      this.d.emit({ type: 'transfer_received', session: this.d.sessionId(), transferId: id });
    }
  }

  /**
   * Receiver: the file is installed; confirm to the sender. `storedAs`: the name it was
   * installed under when not the offered one (told to a peer that takes it).
   */
  finish(id: number, status: 'verified' | 'already_present', storedAs?: string): void {
    const e = this.receivers.get(id);
    if (!e) throw new WraithError('E_TRANSFER_UNKNOWN', `no transfer ${id}`);
    this.receivers.delete(id);
    this.windowDirty.delete(id);
    this.rebalance(0);
    if (status === 'verified' && storedAs !== undefined && this.d.peerStoredNames?.() === true) {
      this.d.sendControl({ type: 'done', transferId: id, status: 2, name: storedAs });
    } else {
      this.d.sendControl({ type: 'done', transferId: id, status: status === 'verified' ? 0 : 1 });
    }
    const st = e.receiver?.stats;
    this.d.emit({
      type: 'transfer_complete',
      session: this.d.sessionId(),
      transferId: id,
      status,
      stats: { payloadBytesSent: 0, bytesRetransmitted: 0, bytesSkippedResume: 0, bytesZero: 0, bytesReused: 0, bytesReceived: st?.bytesReceived ?? 0 },
    });
  }

  private onLeaves(id: number, first: number, leaves: Uint8Array): void {
    const e = this.receivers.get(id);
    // Rejected or cancelled meanwhile, or accepted without waiting: the rest is of no use.
    if (!e || e.leafState === 'dropped') return;
    const row = e.leafRow;
    if (e.leafState !== 'pending' || row === undefined || first !== e.leavesGot || first * 32 + leaves.length > row.length) {
      throw new WraithError('E_PROTOCOL', `LEAVES for transfer ${id} from leaf ${first} were not asked for, or are out of order or beyond the file`);
    }
    row.set(leaves, first * 32);
    e.leavesGot = first + leaves.length / 32;
    if (e.leavesGot * 32 < row.length) return;
    e.leafState = 'done';
    delete e.leafRow;
    const sid = this.d.sessionId();
    if (!bytesEqual(new MerkleTree(this.d.hasher, row).root, e.manifest.root)) {
      const reason = `the leaf row sent for ${e.manifest.name} does not hash to its root`;
      this.reject(id, 'E_INTEGRITY', reason);
      this.d.emit({ type: 'transfer_failed', session: sid, transferId: id, code: 'E_INTEGRITY', reason, byPeer: false });
      return;
    }
    this.d.emit({ type: 'leaves', session: sid, transferId: id, leaves: row });
  }

  resumeState(id: number): unknown {
    const e = this.receivers.get(id);
    return e?.receiver?.resumeState(this.d.peerId()) ?? null;
  }

  // ---- input from the peer ----

  onControl(m: SessionControl): void {
    const sid = this.d.sessionId();
    switch (m.type) {
      case 'offer': {
        if (this.receivers.has(m.transferId) || (m.transferId & 1) === (this.d.firstLocalId & 1)) {
          throw new WraithError('E_PROTOCOL', `offer reuses transfer id ${m.transferId}`);
        }
        if (this.receivers.size >= this.d.maxTransfers) {
          this.d.sendControl({ type: 'reject', transferId: m.transferId, errorCode: 'E_TRANSFER_REJECTED', reason: 'too many transfers' });
          return;
        }
        const manifest: FileManifest = {
          name: m.name,
          kind: m.kind === 1 ? 'dir' : 'file',
          size: m.size,
          chunkSize: 2 ** m.chunkLog2,
          mode: m.mode,
          mtimeMs: m.mtimeMs,
          root: m.root.slice(),
        };
        try {
          validateManifest(manifest);
        } catch (e) {
          const code = e instanceof WraithError ? e.code : 'E_MANIFEST';
          this.d.sendControl({ type: 'reject', transferId: m.transferId, errorCode: code, reason: (e as Error).message.slice(0, 200) });
          return;
        }
        this.receivers.set(m.transferId, {
          kind: 'recv',
          id: m.transferId,
          manifest,
          receiver: null,
          state: 'offered',
          ...(m.zeroBytes !== undefined ? { dataLimit: m.size - m.zeroBytes } : {}),
        });
        this.d.emit({ type: 'offer', session: sid, peerId: this.d.peerId(), transferId: m.transferId, manifest, zeroBytes: m.zeroBytes ?? 0 });
        return;
      }
      case 'accept': {
        const e = this.senders.get(m.transferId);
        if (!e || e.state !== 'offered') return;
        if (m.reusedBytes !== undefined) {
          if (e.leafNext === undefined || m.reusedBytes > e.manifest.size) {
            throw new WraithError('E_PROTOCOL', `ACCEPT of transfer ${m.transferId} tells ${m.reusedBytes} reused bytes without a LEAF_REQUEST or beyond the file`);
          }
          e.reused = m.reusedBytes;
        }
        e.sender.onAccept(m.ranges, e.leafNext !== undefined);
        e.state = 'active';
        this.rr.push(e.id);
        this.readsDirty.add(e.id);
        const held = m.ranges.reduce((n, r) => n + r[1], 0);
        this.d.emit({ type: 'accepted', session: sid, transferId: e.id, heldChunks: held });
        this.checkSent(e);
        return;
      }
      case 'reject':
      case 'cancel': {
        const s = this.senders.get(m.transferId);
        const r = this.receivers.get(m.transferId);
        if (!s && !r) return;
        this.senders.delete(m.transferId);
        this.receivers.delete(m.transferId);
        this.windowDirty.delete(m.transferId);
        this.rebalance(0);
        this.d.emit({ type: 'transfer_failed', session: sid, transferId: m.transferId, code: m.errorCode, reason: m.reason, byPeer: true });
        return;
      }
      case 'done': {
        const e = this.senders.get(m.transferId);
        if (!e) return;
        this.senders.delete(m.transferId);
        const st = e.sender.stats;
        const stats: TransferStats = {
          payloadBytesSent: st.payloadBytesSent,
          bytesRetransmitted: st.bytesRetransmitted,
          bytesSkippedResume: st.bytesSkippedResume,
          bytesZero: st.bytesZero,
          bytesReused: Math.min(e.reused ?? 0, st.bytesSkippedResume),
          bytesReceived: 0,
        };
        // A stored name that is not a valid relative name is left out (it is only shown).
        const storedAs = m.status === 2 && validName(m.name) ? { storedAs: m.name } : {};
        this.d.emit({ type: 'transfer_complete', session: sid, transferId: e.id, status: m.status === 1 ? 'already_present' : 'verified', stats, ...storedAs });
        return;
      }
      case 'leaf_request': {
        const e = this.senders.get(m.transferId);
        if (!e) return; // cancelled or done meanwhile
        if (e.state !== 'offered' || e.leafNext !== undefined || e.manifest.kind !== 'file') {
          throw new WraithError('E_PROTOCOL', `LEAF_REQUEST for transfer ${m.transferId}, which is not an offered file or was asked before`);
        }
        e.leafNext = 0;
        this.leafAnswers.push(e.id);
        return;
      }
      case 'leaves':
        this.onLeaves(m.transferId, m.first, m.leaves);
        return;
      case 'written': {
        const e = this.senders.get(m.transferId);
        if (!e) return; // done or cancelled meanwhile
        if (m.bytes > e.manifest.size) {
          throw new WraithError('E_PROTOCOL', `WRITTEN of ${m.bytes} bytes for transfer ${m.transferId}, a file of ${e.manifest.size}`);
        }
        if (m.bytes > (e.written ?? 0)) e.written = m.bytes; // a smaller one is stale
        return;
      }
      case 'resend': {
        const e = this.senders.get(m.transferId);
        if (!e) return;
        try {
          e.sender.onResend(m.chunkIndex);
        } catch (err) {
          // Our file changed under the transfer: end it here; the session is fine.
          if (!(err instanceof WraithError) || err.code !== 'E_SOURCE_CHANGED') throw err;
          this.cancel(e.id, err.code, err.message);
          this.d.emit({ type: 'transfer_failed', session: sid, transferId: e.id, code: err.code, reason: err.message, byPeer: false });
          return;
        }
        if (e.state === 'sent') {
          e.state = 'active';
          this.rr.push(e.id);
        }
        this.readsDirty.add(e.id);
        return;
      }
    }
  }

  onChunk(transferId: number, offset: number, data: Uint8Array): void {
    const e = this.receivers.get(transferId);
    if (!e?.receiver) return; // finished or cancelled: late data is harmless
    e.receiver.onChunk(offset, data);
    this.drainReceiver(e);
  }

  onProof(transferId: number, chunkIndex: number, first: number, hashes: Uint8Array): void {
    const e = this.receivers.get(transferId);
    if (!e?.receiver) return;
    e.receiver.onProof(chunkIndex, first, hashes);
    this.drainReceiver(e);
  }

  onZeroChunk(transferId: number, chunkIndex: number): void {
    const e = this.receivers.get(transferId);
    if (!e?.receiver) return;
    e.receiver.onZeroChunk(chunkIndex);
    this.drainReceiver(e);
  }

  onWindow(transferId: number, maxOffset: number): void {
    const e = this.senders.get(transferId);
    if (!e) return;
    e.sender.onWindow(maxOffset);
    this.readsDirty.add(transferId);
  }

  private drainReceiver(e: ReceiverEntry): void {
    const r = e.receiver;
    if (!r) return;
    const sid = this.d.sessionId();
    for (let v = r.pollVerified(); v; v = r.pollVerified()) {
      if (!v.zero && e.dataLimit !== undefined) {
        e.dataVerified = (e.dataVerified ?? 0) + v.bytes.length;
        // The receiver found room for this much only (the OFFER's zero_bytes, PROTOCOL.md §7).
        if (e.dataVerified > e.dataLimit) {
          const reason = `the sender sent more than the ${e.dataLimit} bytes of data its offer announced`;
          this.cancel(e.id, 'E_PROTOCOL', reason);
          this.d.emit({ type: 'transfer_failed', session: sid, transferId: e.id, code: 'E_PROTOCOL', reason, byPeer: false });
          return;
        }
      }
      this.d.emit({ type: 'chunk_verified', session: sid, transferId: e.id, index: v.index, offset: v.offset, bytes: v.bytes, leaf: v.leaf, zero: v.zero });
    }
    for (let c = r.pollResend(); c !== null; c = r.pollResend()) {
      this.d.sendControl({ type: 'resend', transferId: e.id, chunkIndex: c });
    }
  }

  // ---- output ----

  /** Emit read requests for senders that can take more data. */
  pollReads(): void {
    if (this.readsDirty.size === 0) return;
    const sid = this.d.sessionId();
    for (const id of this.readsDirty) {
      const e = this.senders.get(id);
      if (!e || e.state === 'offered') continue;
      const chunks = e.sender.wantedChunks(64);
      if (chunks.length > 0) this.d.emit({ type: 'read_chunks', session: sid, transferId: id, chunks });
    }
    this.readsDirty.clear();
  }

  /** The WINDOW value to announce for a transfer, or null. */
  windowFor(id: number): number | null {
    const e = this.receivers.get(id);
    if (!e?.receiver) return null;
    const w = e.receiver.pollWindow() ?? this.windowAnnounced.get(id) ?? e.receiver.initialWindow();
    this.windowAnnounced.set(id, w);
    return w;
  }

  hasData(): boolean {
    return this.rr.length > 0;
  }

  /** Next data item across transfers, round robin. */
  nextItem(maxPayload: number): SendItem | null {
    for (let tries = this.rr.length; tries > 0; tries--) {
      if (this.rrPos >= this.rr.length) this.rrPos = 0;
      const id = this.rr[this.rrPos] ?? -1;
      const e = this.senders.get(id);
      if (!e || e.state !== 'active') {
        this.rr.splice(this.rrPos, 1);
        continue;
      }
      const item = e.sender.nextItem(maxPayload);
      if (item) {
        this.rrPos++;
        return item;
      }
      this.readsDirty.add(id);
      this.rrPos++;
    }
    return null;
  }

  itemAcked(item: SendItem): void {
    const e = this.senders.get(item.transferId);
    if (!e) return;
    e.sender.onItemAcked(item);
    this.readsDirty.add(e.id);
    this.checkSent(e);
  }

  itemLost(item: SendItem): void {
    const e = this.senders.get(item.transferId);
    if (!e) return;
    e.sender.onItemLost(item);
    if (e.state === 'sent') {
      e.state = 'active';
      this.rr.push(e.id);
    }
  }

  private checkSent(e: SenderEntry): void {
    if (e.sender.finished && e.state === 'active') e.state = 'sent';
  }

  /** Live sender counters of a transfer (progress reporting), or null. */
  senderStats(id: number): { payloadBytesSent: number; bytesRetransmitted: number; bytesSkippedResume: number; bytesZero: number } | null {
    return this.senders.get(id)?.sender.stats ?? null;
  }

  // ---- the session's receive buffer, shared out ----

  /** Receivers still taking data. */
  private takers(): ReceiverEntry[] {
    const out: ReceiverEntry[] = [];
    for (const e of this.receivers.values()) if (e.receiver && !e.receiver.complete) out.push(e);
    return out;
  }

  /** Granted, not yet held, over every receiver: the session's receive memory bound. */
  get receiveOutstandingBytes(): number {
    let n = 0;
    for (const e of this.receivers.values()) if (e.receiver) n += e.receiver.outstandingBytes;
    return n;
  }

  /**
   * The budget of one receiver (`e`, or a new one when null) among `n` takers: its equal share
   * (at most windowBytes), less what the others hold beyond theirs, at least 1 (the first
   * missing chunk is always granted, so no transfer starves).
   */
  private budgetFor(e: ReceiverEntry | null, n: number, outstanding = this.receiveOutstandingBytes): number {
    if (this.d.sessionBufferBytes === undefined) return this.d.windowBytes;
    const total = Math.min(this.d.sessionBufferBytes, this.d.receiveBudget?.limitFor(this.d.sessionId()) ?? Infinity);
    const share = Math.min(this.d.windowBytes, Math.floor(total / Math.max(1, n)));
    const others = outstanding - (e?.receiver?.outstandingBytes ?? 0);
    return Math.max(1, Math.min(share, total - others));
  }

  /**
   * New budgets for the receivers taking data, `extra` more of them coming: a share that
   * shrinks takes nothing back (the grant stays; nothing more is granted until it drains), one
   * that grows grants at once and marks its WINDOW to announce.
   */
  private rebalance(extra: number): void {
    if (this.d.sessionBufferBytes === undefined) return;
    const takers = this.takers();
    const n = takers.length + extra;
    // The sum once, then kept up to date as each new budget grants more: O(takers), not squared.
    let outstanding = this.receiveOutstandingBytes;
    const node = this.d.receiveBudget;
    // Counted among the sessions taking data before the shares are worked out.
    node?.report(this.d.sessionId(), n > 0, outstanding);
    for (const e of takers) {
      const r = e.receiver as TransferReceiver;
      const before = r.grantedOffset;
      const own = r.outstandingBytes;
      r.setWindowBudget(this.budgetFor(e, n, outstanding));
      outstanding += r.outstandingBytes - own;
      if (r.grantedOffset > before) this.windowDirty.add(e.id);
    }
    node?.report(this.d.sessionId(), n > 0, outstanding);
  }

  /** Whether the receiver has accepted an outgoing transfer yet, or null when it is not sending. */
  senderAccepted(id: number): boolean | null {
    return this.senders.get(id)?.sender.accepted ?? null;
  }

  /** The receiver's last WRITTEN for an outgoing transfer, or null (none yet, or not sending). */
  senderWritten(id: number): number | null {
    return this.senders.get(id)?.written ?? null;
  }

  /** Flow state of the outgoing transfers, summed (for metrics and diagnosis). */
  senderFlow(): { window_offset: number; send_buffered: number; sent: number } {
    let window = 0;
    let buffered = 0;
    let sent = 0;
    for (const e of this.senders.values()) {
      window += e.sender.windowOffset;
      buffered += e.sender.bufferedBytes;
      sent += e.sender.stats.payloadBytesSent;
    }
    return { window_offset: window, send_buffered: buffered, sent };
  }

  /** Ids of transfers still open (for failing them when the session dies). */
  openTransfers(): number[] {
    return [...this.senders.keys(), ...this.receivers.keys()];
  }
}

/**
 * Held ranges that fit in `maxBytes` of an ACCEPT: all of them, or the longest that fit, in
 * order. A held chunk left untold is only sent again, and dropped as a duplicate on arrival.
 */
export function fitRanges(ranges: ReadonlyArray<readonly [number, number]>, maxBytes: number): Array<[number, number]> {
  const size = (r: readonly [number, number]): number => varintLength(r[0]) + varintLength(r[1]);
  let total = 0;
  for (const r of ranges) total += size(r);
  if (total <= maxBytes) return ranges.map(([a, b]) => [a, b]);
  const kept: Array<[number, number]> = [];
  let used = 0;
  for (const r of [...ranges].sort((x, y) => y[1] - x[1])) {
    if (used + size(r) > maxBytes) continue;
    used += size(r);
    kept.push([r[0], r[1]]);
  }
  return kept.sort((x, y) => x[0] - y[0]);
}
