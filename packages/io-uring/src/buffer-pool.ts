/**
 * A pool of equal buffers carved from one ArrayBuffer, each slot aligned to
 * 4 KiB when the addon can tell the address (O_DIRECT needs it). On io_uring
 * the slots are registered as fixed buffers 0..count-1.
 */
import { WraithError } from '@wraith/core';

export const ALIGN = 4096;

export class BufferPool {
  readonly arena: Uint8Array;
  readonly slots: readonly Uint8Array[];
  private readonly free: number[];
  private readonly inUse: boolean[];

  constructor(
    readonly size: number,
    readonly count: number,
    addressMod?: (view: Uint8Array, alignment: number) => number,
  ) {
    if (!Number.isInteger(size) || size < ALIGN || size % ALIGN !== 0 || size > 1 << 30) {
      throw new WraithError('E_USAGE', `bufferSize must be a multiple of 4096 in 4 KiB..1 GiB, not ${size}`);
    }
    if (!Number.isInteger(count) || count < 1 || count > 1024) {
      throw new WraithError('E_USAGE', `bufferCount must be an integer in 1..1024, not ${count}`);
    }
    const raw = Buffer.allocUnsafeSlow(size * count + ALIGN);
    const mod = addressMod ? addressMod(raw, ALIGN) : 0;
    this.arena = raw.subarray((ALIGN - mod) % ALIGN, (ALIGN - mod) % ALIGN + size * count);
    // Touch every page now: first writes into fresh memory are slow on VMs,
    // and registration would fault them in anyway.
    this.arena.fill(0);
    const slots: Uint8Array[] = [];
    for (let i = 0; i < count; i++) slots.push(this.arena.subarray(i * size, (i + 1) * size));
    this.slots = slots;
    this.free = Array.from({ length: count }, (_, i) => count - 1 - i);
    this.inUse = new Array<boolean>(count).fill(false);
  }

  acquire(): Uint8Array | null {
    const i = this.free.pop();
    if (i === undefined) return null;
    this.inUse[i] = true;
    return this.slots[i]!;
  }

  release(buf: Uint8Array): void {
    const i = this.indexOfSlot(buf);
    if (i < 0 || !this.inUse[i]) {
      throw new WraithError('E_INTERNAL', 'releaseBuffer: not a buffer acquired from this pool, or released twice');
    }
    this.inUse[i] = false;
    this.free.push(i);
  }

  get available(): number {
    return this.free.length;
  }

  /** Slot index of a whole slot view, else -1. */
  private indexOfSlot(buf: Uint8Array): number {
    if (buf.buffer !== this.arena.buffer || buf.byteLength !== this.size) return -1;
    const rel = buf.byteOffset - this.arena.byteOffset;
    return rel >= 0 && rel % this.size === 0 && rel / this.size < this.count ? rel / this.size : -1;
  }

  /**
   * Where byte `at` of `view` lies in the pool: the slot index and how many
   * bytes remain in that slot from there; null when the view is not pool memory.
   */
  locate(view: Uint8Array, at: number): { slot: number; room: number } | null {
    if (view.buffer !== this.arena.buffer) return null;
    const rel = view.byteOffset + at - this.arena.byteOffset;
    if (rel < 0 || rel >= this.size * this.count) return null;
    const slot = Math.floor(rel / this.size);
    return { slot, room: (slot + 1) * this.size - rel };
  }
}
