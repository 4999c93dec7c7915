import type { HashName, HmacFn } from '../backend.js';

const B1 = new Uint8Array([0x01]);
const B2 = new Uint8Array([0x02]);
const B3 = new Uint8Array([0x03]);

/**
 * Noise HKDF (rev 34 §4.3): HMAC-based, each output HASHLEN bytes.
 * Returns 2 or 3 outputs; callers truncate keys to 32 bytes themselves.
 */
export function hkdf(
  hmac: HmacFn,
  hash: HashName,
  chainingKey: Uint8Array,
  ikm: Uint8Array,
  numOutputs: 2 | 3,
): Uint8Array[] {
  const tempKey = hmac(hash, chainingKey, ikm);
  const out1 = hmac(hash, tempKey, B1);
  const out2 = hmac(hash, tempKey, out1, B2);
  const outs = [out1, out2];
  if (numOutputs === 3) outs.push(hmac(hash, tempKey, out2, B3));
  tempKey.fill(0);
  return outs;
}
