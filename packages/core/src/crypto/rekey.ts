/**
 * Key update with forward secrecy (docs/PROTOCOL.md §5): after a fresh ephemeral-ephemeral
 * X25519, (ck', k1', k2') = HKDF(ck, dh, 3) with the session's Noise hash.
 */
import { AEAD_KEY_LEN, X25519_KEY_LEN, checkLen, type HashFn, type HmacFn } from './backend.js';
import { hkdf } from './noise/hkdf.js';

export interface KeyUpdate {
  /** The next chaining key (HASHLEN bytes), kept for the following update. */
  readonly ck: Uint8Array;
  /** initiator→responder key (32 bytes). */
  readonly k1: Uint8Array;
  /** responder→initiator key (32 bytes). */
  readonly k2: Uint8Array;
}

export function deriveKeyUpdate(hash: HashFn, hmac: HmacFn, ck: Uint8Array, dh: Uint8Array): KeyUpdate {
  checkLen('chaining key', ck, hash.hashLen);
  checkLen('X25519 shared secret', dh, X25519_KEY_LEN);
  const [nextCk, t1, t2] = hkdf(hmac, hash.name, ck, dh, 3) as [Uint8Array, Uint8Array, Uint8Array];
  // As Noise Split(): a 64-byte hash output is cut to a 32-byte cipher key.
  const k1 = t1.slice(0, AEAD_KEY_LEN);
  const k2 = t2.slice(0, AEAD_KEY_LEN);
  t1.fill(0);
  t2.fill(0);
  return { ck: nextCk, k1, k2 };
}
