/**
 * Moves SendItems from a TransferSender to a TransferReceiver over a seeded
 * lossy, reordering "link" and plays the node's part on both sides (reading
 * chunks from the source, writing verified chunks to the destination).
 * Invariants are checked on every step.
 */
import { expect } from 'vitest';
import type { SeededRng } from '../../src/rng.js';
import { chunkCount, treeDepth, type SendItem, type TransferReceiver, type TransferSender } from '../../src/transfer/index.js';

export interface LinkOptions {
  /** Probability an item is lost (the sender is told after a delay). */
  loss?: number;
  /** Probability a delivered item's ack is lost: the sender is told "lost", then acked later. */
  spuriousLoss?: number;
  /** Items on the link at once; delivery order among them is random. */
  reorder?: number;
  /** Items the sender may hand out per step. */
  burst?: number;
  maxPayload?: number;
  /** Return a modified copy of an item to corrupt it in transit, or null. */
  corrupt?: (item: SendItem) => SendItem | null;
}

export class Harness {
  readonly dest: Uint8Array;
  steps = 0;
  maxReceiverBuffered = 0;
  maxSenderBuffered = 0;
  readonly proofIssued = new Set<number>();
  /** Data offsets handed out by the sender (first byte of each CHUNK item). */
  readonly dataItems: Array<{ offset: number; length: number }> = [];
  /** Chunk indexes of the ZERO_CHUNK items handed out. */
  readonly zeroItems: number[] = [];
  /** Chunk indexes the sender asked the "node" to read. */
  readonly reads: number[] = [];
  private readonly link: SendItem[] = [];
  private readonly later: Array<{ due: number; run: () => void }> = [];
  private readonly chunkSize: number;
  private readonly depth: number;

  constructor(
    private readonly rng: SeededRng,
    private readonly source: Uint8Array,
    readonly sender: TransferSender,
    readonly receiver: TransferReceiver,
    private readonly o: LinkOptions = {},
    dest?: Uint8Array,
  ) {
    this.dest = dest ?? new Uint8Array(source.length);
    this.chunkSize = sender.manifest.chunkSize;
    const n = chunkCount(sender.manifest);
    this.depth = n > 0 ? treeDepth(n) : 0;
  }

  get done(): boolean {
    return this.receiver.complete && this.sender.finished;
  }

  /** ACCEPT and the first WINDOW, as the session does. */
  start(): void {
    this.sender.onAccept(this.receiver.acceptRanges());
    this.sender.onWindow(this.receiver.initialWindow());
    this.drainReceiver();
  }

  /** Run until both sides are done, `stop` returns true, or the step budget runs out. */
  run(maxSteps = 200_000, stop?: () => boolean): void {
    let progress = -1;
    let idle = 0;
    while (!this.done && !(stop?.() ?? false)) {
      if (this.steps >= maxSteps) throw new Error(`transfer did not finish in ${maxSteps} steps`);
      this.step();
      // Fail fast on a deadlock instead of spinning to the step budget.
      const now = this.receiver.heldChunks + this.sender.stats.payloadBytesSent + this.receiver.stats.bytesReceived;
      idle = now === progress ? idle + 1 : 0;
      progress = now;
      if (idle > 200) throw new Error(`transfer stalled at step ${this.steps}`);
    }
  }

  step(): void {
    const { sender, receiver, rng } = this;
    this.steps++;
    for (const i of sender.wantedChunks(8)) {
      this.reads.push(i);
      const off = i * this.chunkSize;
      // A copy, so that nothing the sender does can touch the source.
      sender.supplyChunk(i, this.source.slice(off, Math.min(this.source.length, off + this.chunkSize)));
    }
    const burst = this.o.burst ?? 16;
    const maxPayload = this.o.maxPayload ?? 1200;
    for (let k = 0; k < burst; k++) {
      const item = sender.nextItem(maxPayload);
      if (item === null) break;
      this.record(item, maxPayload);
      if (rng.nextFloat() < (this.o.loss ?? 0)) {
        this.defer(1 + (rng.nextU32() % 4), () => sender.onItemLost(item));
      } else {
        this.link.push(item);
      }
    }
    // Deliver a random part of what is on the link, in random order.
    const keep = this.o.reorder ?? 32;
    while (this.link.length > 0 && (this.link.length > keep || rng.nextFloat() < 0.5)) {
      const j = rng.nextU32() % this.link.length;
      const item = this.link[j] as SendItem;
      this.link[j] = this.link[this.link.length - 1] as SendItem;
      this.link.pop();
      this.deliver(item);
    }
    for (const t of this.later.filter((x) => x.due <= this.steps)) t.run();
    this.later.splice(0, this.later.length, ...this.later.filter((x) => x.due > this.steps));
    this.drainReceiver();
    this.maxReceiverBuffered = Math.max(this.maxReceiverBuffered, receiver.bufferedBytes);
    this.maxSenderBuffered = Math.max(this.maxSenderBuffered, sender.bufferedBytes);
    expect(receiver.bufferedBytes).toBeLessThanOrEqual(Math.max(receiver.windowBytes, this.chunkSize));
  }

  /** What the node does with the receiver's output. */
  drainReceiver(): void {
    const { sender, receiver } = this;
    for (let v = receiver.pollVerified(); v !== null; v = receiver.pollVerified()) {
      this.dest.set(v.bytes, v.offset);
      receiver.chunkWritten(v.index);
    }
    for (let w = receiver.pollWindow(); w !== null; w = receiver.pollWindow()) sender.onWindow(w);
    for (let r = receiver.pollResend(); r !== null; r = receiver.pollResend()) sender.onResend(r);
  }

  /** Drop everything in flight (a crash or a dead session). */
  cut(): void {
    this.link.length = 0;
    this.later.length = 0;
  }

  private deliver(item: SendItem): void {
    const wire = this.o.corrupt?.(item) ?? item;
    if (wire.kind === 'proof') this.receiver.onProof(wire.chunkIndex, wire.first, wire.hashes);
    else if (wire.kind === 'zero') this.receiver.onZeroChunk(wire.chunkIndex);
    else this.receiver.onChunk(wire.offset, wire.data);
    if (this.rng.nextFloat() < (this.o.spuriousLoss ?? 0)) {
      this.sender.onItemLost(item);
      this.defer(2 + (this.rng.nextU32() % 6), () => this.sender.onItemAcked(item));
    } else {
      this.defer(this.rng.nextU32() % 3, () => this.sender.onItemAcked(item));
    }
  }

  private defer(delay: number, run: () => void): void {
    this.later.push({ due: this.steps + delay, run });
  }

  private record(item: SendItem, maxPayload: number): void {
    if (item.kind === 'proof') {
      expect(item.hashes.length).toBeLessThanOrEqual(maxPayload);
      expect(item.hashes.length / 32).toBeLessThanOrEqual(255);
      this.proofIssued.add(item.chunkIndex);
      return;
    }
    if (item.kind === 'zero') {
      const end = Math.min(this.sender.manifest.size, (item.chunkIndex + 1) * this.chunkSize);
      expect(end).toBeLessThanOrEqual(this.sender.windowOffset);
      if (this.depth > 0) expect(this.proofIssued.has(item.chunkIndex)).toBe(true);
      this.zeroItems.push(item.chunkIndex);
      return;
    }
    expect(item.data.length).toBeGreaterThan(0);
    expect(item.data.length).toBeLessThanOrEqual(maxPayload);
    expect(item.offset + item.data.length).toBeLessThanOrEqual(this.sender.windowOffset);
    // A chunk's proof goes out before its first data.
    if (this.depth > 0) expect(this.proofIssued.has(Math.floor(item.offset / this.chunkSize))).toBe(true);
    this.dataItems.push({ offset: item.offset, length: item.data.length });
  }
}

/** Deterministic pseudo-random file content. */
export function randomBytes(rng: SeededRng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  rng.fill(out);
  return out;
}
