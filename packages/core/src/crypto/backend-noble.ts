/**
 * Portable reference backend on @noble/* (pure JS, audited). Slower than node:crypto
 * (PLATFORM.md: ~53 k AEAD packets/s, ~1 k X25519/s) but runs anywhere.
 */
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake2b, blake2s } from '@noble/hashes/blake2.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import type { Rng } from '../rng.js';
import {
  AEAD_KEY_LEN,
  AEAD_NONCE_LEN,
  AEAD_TAG_LEN,
  X25519_KEY_LEN,
  checkLen,
  clampX25519,
  isAllZero,
  lowOrderError,
  rangeFits,
  checkSealRange,
  type AeadKey,
  type CryptoBackend,
  type HashFn,
  type HashName,
  type KeyPair,
} from './backend.js';
import { WraithError } from '../errors.js';

interface NobleHash {
  (msg: Uint8Array): Uint8Array;
  create(): { update(b: Uint8Array): unknown; digest(): Uint8Array };
  readonly outputLen: number;
  readonly blockLen: number;
}

const NOBLE_HASHES: Record<HashName, NobleHash> = {
  BLAKE2s: blake2s as unknown as NobleHash,
  BLAKE2b: blake2b as unknown as NobleHash,
  SHA256: sha256 as unknown as NobleHash,
  SHA512: sha512 as unknown as NobleHash,
};

function makeHashFn(name: HashName): HashFn {
  const h = NOBLE_HASHES[name];
  return {
    name,
    hashLen: h.outputLen,
    blockLen: h.blockLen,
    digest(...parts: Uint8Array[]): Uint8Array {
      const st = h.create();
      for (const p of parts) st.update(p);
      return st.digest();
    },
  };
}

const HASH_FNS: Record<HashName, HashFn> = {
  BLAKE2s: makeHashFn('BLAKE2s'),
  BLAKE2b: makeHashFn('BLAKE2b'),
  SHA256: makeHashFn('SHA256'),
  SHA512: makeHashFn('SHA512'),
};

function hashFn(name: HashName): HashFn {
  const h = HASH_FNS[name];
  if (h === undefined) throw new WraithError('E_NOISE_PROTOCOL', `unknown hash ${String(name)}`, { hash: name });
  return h;
}

function hmac(hashName: HashName, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = NOBLE_HASHES[hashName];
  if (h === undefined) throw new WraithError('E_NOISE_PROTOCOL', `unknown hash ${String(hashName)}`, { hash: hashName });
  const st = nobleHmac.create(h as unknown as Parameters<typeof nobleHmac.create>[0], key);
  for (const p of parts) st.update(p);
  return st.digest();
}

function x25519PublicKey(priv: Uint8Array): Uint8Array {
  checkLen('X25519 private key', priv, X25519_KEY_LEN);
  return nobleX25519.getPublicKey(priv);
}

function x25519(priv: Uint8Array, pub: Uint8Array): Uint8Array {
  checkLen('X25519 private key', priv, X25519_KEY_LEN);
  checkLen('X25519 public key', pub, X25519_KEY_LEN);
  let out: Uint8Array;
  try {
    out = nobleX25519.getSharedSecret(priv, pub);
  } catch {
    // With both lengths checked, noble only throws for the low-order points it
    // blocklists, which are exactly the ones giving an all-zero result.
    throw lowOrderError();
  }
  if (isAllZero(out)) throw lowOrderError();
  return out;
}

function x25519GenerateKeyPair(rng: Rng): KeyPair {
  const priv = new Uint8Array(X25519_KEY_LEN);
  rng.fill(priv);
  clampX25519(priv);
  return { priv, pub: x25519PublicKey(priv) };
}

function checkAead(key: Uint8Array, nonce: Uint8Array): void {
  checkLen('ChaCha20-Poly1305 key', key, AEAD_KEY_LEN);
  checkLen('ChaCha20-Poly1305 nonce', nonce, AEAD_NONCE_LEN);
}

function aeadSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkAead(key, nonce);
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

function aeadOpen(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ct: Uint8Array): Uint8Array | null {
  checkAead(key, nonce);
  if (ct.length < AEAD_TAG_LEN) return null;
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(ct);
  } catch {
    return null;
  }
}

class NobleAeadKey implements AeadKey {
  private readonly key: Uint8Array;
  constructor(key: Uint8Array) {
    checkLen('ChaCha20-Poly1305 key', key, AEAD_KEY_LEN);
    this.key = key.slice();
  }

  sealInPlace(nonce: Uint8Array, buf: Uint8Array, adStart: number, adLen: number, ptStart: number, ptLen: number): void {
    checkSealRange(buf, adStart, adLen, ptStart, ptLen);
    const ad = buf.subarray(adStart, adStart + adLen);
    const out = buf.subarray(ptStart, ptStart + ptLen + AEAD_TAG_LEN);
    chacha20poly1305(this.key, nonce, ad).encrypt(out.subarray(0, ptLen), out);
  }

  openInPlace(nonce: Uint8Array, buf: Uint8Array, adStart: number, adLen: number, ctStart: number, ctLen: number): boolean {
    if (ctLen < AEAD_TAG_LEN || !rangeFits(buf, adStart, adLen, ctStart, ctLen)) return false;
    const ad = buf.subarray(adStart, adStart + adLen);
    const ct = buf.subarray(ctStart, ctStart + ctLen);
    try {
      // noble checks the tag before it writes any plaintext, so a failure leaves buf intact.
      chacha20poly1305(this.key, nonce, ad).decrypt(ct, buf.subarray(ctStart, ctStart + ctLen - AEAD_TAG_LEN));
      return true;
    } catch {
      return false;
    }
  }

  destroy(): void {
    this.key.fill(0);
  }
}

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  x25519PublicKey,
  x25519GenerateKeyPair,
  x25519,
  hash: hashFn,
  hmac,
  aeadSeal,
  aeadOpen,
  aeadKey: (key) => new NobleAeadKey(key),
  forget: () => {
    // nothing is cached
  },
};
