/**
 * Receiver-driven flow control for one transfer (PROTOCOL.md §4 WINDOW, §7).
 *
 * A grant is a file offset, max_offset: the sender may send file bytes below
 * it. The receiver picks it by walking the chunks in order from the start of
 * the file, skipping chunks it holds (they cost nothing: the sender never sends
 * them) and counting the bytes of the others until the next one would exceed
 * the budget; the first chunk not held is always included, so progress never
 * deadlocks. max_offset is therefore a chunk boundary (or the file size) and
 * the receiver's buffers stay within max(budget, one chunk).
 *
 * The sender runs the same walk with the peer's initial_window transport
 * parameter and the ACCEPT ranges to know what it may send before the first
 * WINDOW frame: both sides share this code, so they agree by construction.
 */
import { WraithError } from '../errors.js';
import type { ChunkSet } from './chunk-set.js';

export class FlowWindow {
  /** Chunks below `end` are granted. */
  private end = 0;
  /** Bytes of granted chunks not held: what may be in flight or buffered. */
  private outstanding = 0;
  private readonly n: number;

  /**
   * `held` is read live: after adding a chunk below the grant to it, call
   * `onHeld`. A budget of 0 grants nothing (wait for a WINDOW frame).
   */
  constructor(
    private readonly size: number,
    private readonly chunkSize: number,
    private readonly held: ChunkSet,
    private budget: number,
  ) {
    if (!Number.isSafeInteger(budget) || budget < 0) {
      throw new WraithError('E_INTERNAL', `a flow-control budget is a non-negative integer, got ${budget}`);
    }
    this.n = held.size;
    if (budget > 0) this.extend();
  }

  /** File bytes below this offset may be sent. Never decreases. */
  get maxOffset(): number {
    return this.end >= this.n ? this.size : this.end * this.chunkSize;
  }

  /** Bytes of granted chunks not yet held. */
  get outstandingBytes(): number {
    return this.outstanding;
  }

  /**
   * A new budget (a session shares its buffer among its transfers, flow-budget.ts). A larger
   * one grants more at once; a smaller one takes nothing back: it grants nothing more until the
   * outstanding bytes fall under it (the first missing chunk is still granted when none are
   * outstanding). 0 is not allowed here.
   */
  setBudget(budget: number): void {
    if (!Number.isSafeInteger(budget) || budget < 1) {
      throw new WraithError('E_INTERNAL', `a flow-control budget is a positive integer here, got ${budget}`);
    }
    const grew = budget > this.budget;
    this.budget = budget;
    if (grew) this.extend();
  }

  /** Chunk `index` (granted) was just added to `held`: its bytes free the budget. */
  onHeld(index: number): void {
    if (index >= this.end) {
      throw new WraithError('E_INTERNAL', `chunk ${index} became held but only chunks below ${this.end} are granted`);
    }
    this.outstanding -= this.chunkLength(index);
    if (this.budget > 0) this.extend();
  }

  private chunkLength(i: number): number {
    return Math.min(this.chunkSize, this.size - i * this.chunkSize);
  }

  private extend(): void {
    while (this.end < this.n) {
      const next = this.held.firstMissing(this.end);
      if (next < 0) {
        this.end = this.n;
        return;
      }
      const len = this.chunkLength(next);
      if (this.outstanding > 0 && this.outstanding + len > this.budget) {
        // Grant the held run before `next`: harmless, and it lets max_offset reach the file end.
        this.end = next;
        return;
      }
      this.outstanding += len;
      this.end = next + 1;
    }
  }
}
