/**
 * Anti-replay window (docs/PROTOCOL.md §2.2), the WireGuard bitmap ring (RFC 6479 style):
 * one bit per packet number, whole words cleared as the window slides, O(1) per packet and
 * no allocation. A number is accepted when it is above `largest`, or within the `size`
 * numbers up to `largest` and not yet seen.
 */
import { WraithError } from '../errors.js';

export const DEFAULT_REPLAY_WINDOW = 8192;

export class ReplayWindow {
  readonly size: number;
  private readonly words: Uint32Array;
  private readonly ringBits: number;
  private _largest = -1;

  constructor(size = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(size) || size < 1 || size > 1 << 24) {
      throw new WraithError('E_CONFIG', `replay window size must be 1..2^24, got ${size}`, { size });
    }
    this.size = size;
    // One spare word so the oldest in-window number never shares a word with a new one.
    this.words = new Uint32Array(Math.ceil(size / 32) + 1);
    this.ringBits = this.words.length * 32;
  }

  /** Largest committed packet number, or -1 before the first. */
  get largest(): number {
    return this._largest;
  }

  /** Would `pn` be accepted: not a duplicate and not below the window. No state change. */
  check(pn: number): boolean {
    if (!Number.isInteger(pn) || pn < 0 || pn > Number.MAX_SAFE_INTEGER) return false;
    if (pn > this._largest) return true;
    if (this._largest - pn >= this.size) return false;
    const bit = pn % this.ringBits;
    return (this.words[bit >>> 5]! & (1 << (bit & 31))) === 0;
  }

  /**
   * Record `pn` as received. Call only after the packet authenticated. Returns false (and
   * changes nothing) when `pn` would not pass check().
   */
  commit(pn: number): boolean {
    if (!this.check(pn)) return false;
    if (pn > this._largest) {
      const n = this.words.length;
      const cur = Math.floor(this._largest / 32);
      const next = Math.floor(pn / 32);
      const clear = Math.min(next - cur, n);
      // Words between the old and new top hold numbers that are now out of the window.
      for (let i = 1; i <= clear; i++) this.words[(cur + i) % n] = 0;
      this._largest = pn;
    }
    const bit = pn % this.ringBits;
    this.words[bit >>> 5]! |= 1 << (bit & 31);
    return true;
  }

  reset(): void {
    this.words.fill(0);
    this._largest = -1;
  }
}
