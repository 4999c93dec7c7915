/**
 * Packet numbers: full numbers are up to 2^53 - 1, the short header carries the
 * low 32 bits (PROTOCOL.md §2.2), and the receiver expands them as in
 * RFC 9000 Appendix A.3 with a 32-bit window.
 */
import { MAX_VARINT } from './varint.js';

const PN_WIN = 2 ** 32;
const PN_HWIN = PN_WIN / 2;

/** Low 32 bits of a packet number, as carried in the short header. */
export function truncatePn(pn: number): number {
  return pn % PN_WIN;
}

/**
 * The full packet number closest to `largestReceived + 1` whose low 32 bits are
 * `truncated` (`largestReceived` = -1 before any packet authenticated).
 * Never returns a value above 2^53 - 1.
 */
export function expandPn(largestReceived: number, truncated: number): number {
  const expected = largestReceived + 1;
  const candidate = expected - (expected % PN_WIN) + truncated;
  if (candidate <= expected - PN_HWIN && candidate + PN_WIN <= MAX_VARINT) return candidate + PN_WIN;
  if (candidate > expected + PN_HWIN && candidate >= PN_WIN) return candidate - PN_WIN;
  return candidate;
}
