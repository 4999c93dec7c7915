import type { SendItem } from '../transfer/index.js';

/**
 * What a sent packet carried, so an ACK or a loss can be routed back to the
 * component that owns each frame (quinn's "retransmits" bookkeeping).
 */
export type SentFrame =
  | { k: 'control'; offset: number; len: number }
  | { k: 'item'; item: SendItem }
  | { k: 'window'; transferId: number }
  | { k: 'key_update'; seq: number }
  | { k: 'path_challenge'; data: Uint8Array }
  | { k: 'close' };

export interface SentPacket {
  frames: SentFrame[];
}
