import type { ChunkFrameSource, MutableChunkFrame } from '../wire/index.js';

const EMPTY = new Uint8Array(0);

/**
 * CHUNK frame objects for decodeFrame to fill instead of allocating one per
 * packet. Valid until reset(): the receive path decodes one packet's frames,
 * applies them, then resets.
 */
export class ChunkFramePool implements ChunkFrameSource {
  private readonly frames: MutableChunkFrame[] = [];
  private used = 0;

  next(): MutableChunkFrame {
    let f = this.frames[this.used];
    if (f === undefined) {
      f = { type: 'chunk', transferId: 0, offset: 0, data: EMPTY };
      this.frames.push(f);
    }
    this.used++;
    return f;
  }

  /** Takes every frame back and drops their views of the packet. */
  reset(): void {
    for (let i = 0; i < this.used; i++) (this.frames[i] as MutableChunkFrame).data = EMPTY;
    this.used = 0;
  }
}
