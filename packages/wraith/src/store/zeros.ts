/** A zero-filled buffer, grown to the longest span asked about (untouched pages cost no memory). */
let ZERO = Buffer.alloc(0);

/** Whether every byte of `b` is zero (false for an empty span): memcmp stops at the first other. */
export function isAllZero(b: Uint8Array): boolean {
  const n = b.length;
  if (n === 0 || b[0] !== 0 || b[n - 1] !== 0) return false;
  if (ZERO.length < n) ZERO = Buffer.alloc(n);
  return Buffer.compare(b, ZERO.subarray(0, n)) === 0;
}
