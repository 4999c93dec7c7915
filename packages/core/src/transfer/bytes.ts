/** Equality of two byte strings (not constant-time: hashes compared here are public). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Shared zeros, grown to the longest span asked for; read-only by contract. */
let ZEROS = new Uint8Array(0);

/**
 * `n` zero bytes, a view of one shared buffer: an all-zero chunk handed on without a buffer of
 * its own. Nobody may write into it (fresh memory costs nothing until it is written).
 */
export function zeroBytes(n: number): Uint8Array {
  if (ZEROS.length < n) ZEROS = new Uint8Array(n);
  return ZEROS.subarray(0, n);
}
