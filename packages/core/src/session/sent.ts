import type { SendItem } from '../transfer/index.js';

/**
 * What a sent packet carried, so an ACK or a loss can be routed back to the
 * component that owns each frame (quinn's "retransmits" bookkeeping).
 */
export type SentFrame =
  | { k: 'control'; offset: number; len: number }
  | { k: 'window'; transferId: number }
  | { k: 'key_update'; seq: number }
  | { k: 'path_challenge'; data: Uint8Array }
  | { k: 'close' }
  | { k: 'pmtu_probe'; size: number };

/** A frame record, or a data item (CHUNK/PROOF) as the sender made it. */
export type SentEntry = SentFrame | SendItem;

/**
 * A packet's record: a lone data item as it is (most packets: nothing else
 * is allocated per packet), or the list of what it carried.
 */
export type SentPacket = SendItem | readonly SentEntry[];

export function isItem(e: SentEntry): e is SendItem {
  return 'kind' in e;
}

const NO_ENTRIES: readonly SentEntry[] = Object.freeze([]);

/**
 * The entries of the packet being built, reused packet after packet (an
 * array emptied with `length = 0` loses its storage: the next push allocates).
 */
export class EntryList {
  private readonly items: Array<SentEntry | undefined> = [];
  private n = 0;

  push(e: SentEntry): void {
    this.items[this.n++] = e;
  }

  clear(): void {
    for (let i = 0; i < this.n; i++) this.items[i] = undefined;
    this.n = 0;
  }

  /** What the packet's record keeps: a lone data item itself, else a copy of the list. */
  record(): SentPacket {
    if (this.n === 0) return NO_ENTRIES;
    const f0 = this.items[0] as SentEntry;
    if (this.n === 1 && isItem(f0)) return f0;
    return this.items.slice(0, this.n) as SentEntry[];
  }
}
