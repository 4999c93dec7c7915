/**
 * QUIC variable-length integers (RFC 9000 §16): the two high bits of the first
 * byte give the encoded length (1, 2, 4 or 8 bytes). wraith caps values at
 * 2^53 - 1 so every decoded value is an exact JS number (PROTOCOL.md preamble).
 */

/** Largest value a wraith varint (and u64) may carry: Number.MAX_SAFE_INTEGER. */
export const MAX_VARINT = 2 ** 53 - 1;

/** Largest value of each encoded length (RFC 9000 §16, table 4). */
export const VARINT_MAX_1 = 63;
export const VARINT_MAX_2 = 16_383;
export const VARINT_MAX_4 = 1_073_741_823;

/** True when `v` is an integer a varint can carry. */
export function isVarint(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= MAX_VARINT;
}

/** Encoded size in bytes of `v` (shortest form). `v` must satisfy isVarint. */
export function varintLength(v: number): 1 | 2 | 4 | 8 {
  if (v <= VARINT_MAX_1) return 1;
  if (v <= VARINT_MAX_2) return 2;
  if (v <= VARINT_MAX_4) return 4;
  return 8;
}
