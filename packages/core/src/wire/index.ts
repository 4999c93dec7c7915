/**
 * The wire layer (PROTOCOL.md §2-§4, §7, §8): bounds-checked codecs.
 *   varint.ts          QUIC varints capped at 2^53-1
 *   reader.ts/writer.ts the only code here that indexes bytes directly
 *   packet-number.ts   truncate / expand (RFC 9000 A.3, 32-bit window)
 *   header.ts          long (handshake) and short headers, peekDcid
 *   frames.ts          the frame union and its codec
 *   control.ts         control-stream messages
 *   control-assembler.ts / control-sender.ts  the reliable control stream
 *   transport-params.ts, error-codes.ts
 * Malformed input always throws WraithError (E_WIRE_*, or E_CHUNK_SIZE /
 * E_FLOW_CONTROL where documented), never another exception.
 */
export * from './varint.js';
export * from './reader.js';
export * from './writer.js';
export * from './packet-number.js';
export * from './header.js';
export * from './frames.js';
export * from './control.js';
export * from './control-assembler.js';
export * from './control-sender.js';
export * from './range-set.js';
export * from './transport-params.js';
export * from './error-codes.js';
