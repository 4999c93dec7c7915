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
  | { k: 'close' };

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
