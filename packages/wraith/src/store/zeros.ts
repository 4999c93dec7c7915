/**
 * All-zero spans, compared with memcmp against the engine's shared zeros (one buffer for the
 * whole process, grown to the longest span asked about; untouched pages cost no memory).
 */
import { zeroBytes } from '@wraith/core/merkle';

/** Whether every byte of `b` is zero (false for an empty span): memcmp stops at the first other. */
export function isAllZero(b: Uint8Array): boolean {
  const n = b.length;
  if (n === 0 || b[0] !== 0 || b[n - 1] !== 0) return false;
  return Buffer.compare(b, zeroBytes(n)) === 0;
}
