/**
 * The crypto primitives wraith needs, behind one interface so the Noise code and packet
 * protection run on node:crypto (fast) or @noble/* (portable reference) unchanged.
 * Every function is `this`-free, so `backend.hmac` can be passed around detached.
 */
import { WraithError } from '../errors.js';
import type { Rng } from '../rng.js';

export type HashName = 'BLAKE2s' | 'BLAKE2b' | 'SHA256' | 'SHA512';
export const HASH_NAMES: readonly HashName[] = ['BLAKE2s', 'BLAKE2b', 'SHA256', 'SHA512'];

export interface HashFn {
  readonly name: HashName;
  /** Output length in bytes (Noise HASHLEN). */
  readonly hashLen: number;
  /** Input block length in bytes (Noise BLOCKLEN, used by HMAC). */
  readonly blockLen: number;
  /** Hash of the concatenation of `parts`. */
  digest(...parts: Uint8Array[]): Uint8Array;
}

export type HmacFn = (hashName: HashName, key: Uint8Array, ...parts: Uint8Array[]) => Uint8Array;

export interface KeyPair {
  readonly priv: Uint8Array;
  readonly pub: Uint8Array;
}

/**
 * A ChaCha20-Poly1305 key prepared once for many in-place operations on one buffer
 * (packet protection). Ranges are given as offsets so no views need to be passed in.
 */
export interface AeadKey {
  /** Encrypt buf[ptStart, ptStart+ptLen) in place and write the 16-byte tag right after it. */
  sealInPlace(nonce: Uint8Array, buf: Uint8Array, adStart: number, adLen: number, ptStart: number, ptLen: number): void;
  /**
   * Authenticate buf[ctStart, ctStart+ctLen) (ciphertext then tag) and, only if authentic,
   * write the plaintext over the ciphertext. Returns false (buffer untouched) on failure.
   */
  openInPlace(nonce: Uint8Array, buf: Uint8Array, adStart: number, adLen: number, ctStart: number, ctLen: number): boolean;
  /** Zero the key copy held by this object. */
  destroy(): void;
}

export interface CryptoBackend {
  readonly name: 'node' | 'noble';
  x25519PublicKey(priv: Uint8Array): Uint8Array;
  /** Private key bytes from `rng`, clamped per RFC 7748 §5. */
  x25519GenerateKeyPair(rng: Rng): KeyPair;
  /** X25519 shared secret; throws E_CRYPTO_LOW_ORDER when it is all zero. */
  x25519(priv: Uint8Array, pub: Uint8Array): Uint8Array;
  hash(name: HashName): HashFn;
  hmac: HmacFn;
  /** ChaCha20-Poly1305 (RFC 8439): ciphertext ‖ 16-byte tag. */
  aeadSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Plaintext, or null when authentication fails. */
  aeadOpen(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertextWithTag: Uint8Array): Uint8Array | null;
  /** A reusable key for in-place batch work (packet protection). */
  aeadKey(key: Uint8Array): AeadKey;
  /** Drop any cached state derived from this key (call before zeroing a private key). */
  forget(key: Uint8Array): void;
}

export const X25519_KEY_LEN = 32;
export const AEAD_KEY_LEN = 32;
export const AEAD_NONCE_LEN = 12;
export const AEAD_TAG_LEN = 16;

/** RFC 7748 §5 decodeScalar25519 clamping, in place. */
export function clampX25519(priv: Uint8Array): Uint8Array {
  priv[0] = priv[0]! & 248;
  priv[31] = (priv[31]! & 127) | 64;
  return priv;
}

export function checkLen(what: string, b: Uint8Array, len: number): void {
  if (!(b instanceof Uint8Array) || b.length !== len) {
    throw new WraithError('E_CRYPTO_KEY', `${what} must be ${len} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`, {
      what,
      expected: len,
    });
  }
}

export function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

export function lowOrderError(): WraithError {
  return new WraithError('E_CRYPTO_LOW_ORDER', 'X25519 produced an all-zero shared secret (low-order public key)');
}

/** Checks the shape of a ranged in-place AEAD call; false when it does not fit `buf`. */
export function rangeFits(buf: Uint8Array, adStart: number, adLen: number, dataStart: number, dataLen: number): boolean {
  return (
    Number.isInteger(adStart) && Number.isInteger(adLen) && Number.isInteger(dataStart) && Number.isInteger(dataLen) &&
    adStart >= 0 && adLen >= 0 && dataStart >= 0 && dataLen >= 0 &&
    adStart + adLen <= buf.length && dataStart + dataLen <= buf.length
  );
}

/** Seal needs the plaintext range plus room for the tag; a bad layout is the caller's bug. */
export function checkSealRange(buf: Uint8Array, adStart: number, adLen: number, ptStart: number, ptLen: number): void {
  if (!rangeFits(buf, adStart, adLen, ptStart, ptLen + AEAD_TAG_LEN)) {
    throw new WraithError('E_WIRE_TOO_LARGE', `no room to seal ${ptLen} bytes + tag at ${ptStart} in a ${buf.length}-byte buffer`, {
      adStart,
      adLen,
      ptStart,
      ptLen,
      bufLen: buf.length,
    });
  }
}
