/**
 * node:crypto (OpenSSL) backend: the fast path. The only file in packages/core allowed to
 * import node:crypto. X25519 goes through KeyObjects built from raw keys. Measured on Node 20:
 * importing a private key as PKCS8 DER costs ~350 µs and as JWK ~35 µs; a public key as SPKI
 * DER ~70 µs and as JWK ~9 µs. So JWK is used when a known-answer probe shows it works
 * (DER otherwise), and KeyObjects are cached (bounded LRU) for repeated keys.
 * Wiping is best-effort here: KeyObjects and JWK strings are released on GC, not zeroed.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  getCiphers,
  type KeyObject,
} from 'node:crypto';
import type { Rng } from '../rng.js';
import { WraithError } from '../errors.js';
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

// RFC 8410 DER wrappers for a raw 32-byte X25519 key (OID 1.3.101.110).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

const NODE_HASH: Record<HashName, { alg: string; hashLen: number; blockLen: number }> = {
  BLAKE2s: { alg: 'blake2s256', hashLen: 32, blockLen: 64 },
  BLAKE2b: { alg: 'blake2b512', hashLen: 64, blockLen: 128 },
  SHA256: { alg: 'sha256', hashLen: 32, blockLen: 64 },
  SHA512: { alg: 'sha512', hashLen: 64, blockLen: 128 },
};

const AEAD_ALG = 'chacha20-poly1305';
const AEAD_OPTS = { authTagLength: AEAD_TAG_LEN } as const;

/** A plain Uint8Array view of a Buffer, so results compare equal to the noble backend's. */
function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Bounded map with least-recently-used eviction (Map keeps insertion order). */
class Lru<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.max) {
      const oldest = this.m.keys().next();
      if (oldest.done !== true) this.m.delete(oldest.value);
    }
  }
  delete(k: string): void {
    this.m.delete(k);
  }
}

// A private key is cached under a digest of itself, not its bytes: strings cannot be wiped.
const privCache = new Lru<{ key: KeyObject; pub: Uint8Array }>(32);
const pubCache = new Lru<KeyObject>(512);

function privCacheKey(priv: Uint8Array): string {
  return createHash('sha256').update(priv).digest().toString('latin1');
}

function pubCacheKey(pub: Uint8Array): string {
  return asBuffer(pub).toString('latin1');
}

// Node requires `x` in a private JWK but derives the public key from `d` (checked by the
// probe below, which rejects the JWK path if that ever changes).
const JWK_PLACEHOLDER_X = Buffer.alloc(X25519_KEY_LEN, 9).toString('base64url');
let useJwk: boolean | undefined;

function privateKeyObject(priv: Uint8Array, jwk: boolean): KeyObject {
  if (jwk) {
    const d = asBuffer(priv).toString('base64url');
    return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: JWK_PLACEHOLDER_X }, format: 'jwk' });
  }
  const der = Buffer.concat([PKCS8_PREFIX, priv]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function publicKeyObject(pub: Uint8Array, jwk: boolean): KeyObject {
  if (jwk) return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: asBuffer(pub).toString('base64url') }, format: 'jwk' });
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

function rawPublicOf(key: KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new WraithError('E_CRYPTO_BACKEND', 'node:crypto exported an X25519 key without x');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

function importPrivate(priv: Uint8Array): { key: KeyObject; pub: Uint8Array } {
  checkLen('X25519 private key', priv, X25519_KEY_LEN);
  const ck = privCacheKey(priv);
  let e = privCache.get(ck);
  if (e === undefined) {
    const key = privateKeyObject(priv, jwkWorks());
    e = { key, pub: rawPublicOf(key) };
    privCache.set(ck, e);
  }
  return e;
}

function importPublic(pub: Uint8Array): KeyObject {
  checkLen('X25519 public key', pub, X25519_KEY_LEN);
  const ck = pubCacheKey(pub);
  let key = pubCache.get(ck);
  if (key === undefined) {
    try {
      key = publicKeyObject(pub, jwkWorks());
    } catch (err) {
      throw new WraithError('E_CRYPTO_KEY', 'X25519 public key was refused by node:crypto', { cause: String(err) });
    }
    pubCache.set(ck, key);
  }
  return key;
}

function x25519PublicKey(priv: Uint8Array): Uint8Array {
  return importPrivate(priv).pub.slice();
}

function x25519(priv: Uint8Array, pub: Uint8Array): Uint8Array {
  const privateKey = importPrivate(priv).key;
  const publicKey = importPublic(pub);
  let out: Buffer;
  try {
    out = diffieHellman({ privateKey, publicKey });
  } catch (err) {
    // OpenSSL refuses to return an all-zero X25519 result (RFC 7748 §6.1).
    if ((err as { code?: string }).code === 'ERR_OSSL_FAILED_DURING_DERIVATION') throw lowOrderError();
    throw new WraithError('E_CRYPTO_KEY', 'X25519 failed in node:crypto', { cause: String(err) });
  }
  if (isAllZero(out)) throw lowOrderError();
  return u8(out);
}

function x25519GenerateKeyPair(rng: Rng): KeyPair {
  const priv = new Uint8Array(X25519_KEY_LEN);
  rng.fill(priv);
  clampX25519(priv);
  return { priv, pub: x25519PublicKey(priv) };
}

function hashSpec(name: HashName): { alg: string; hashLen: number; blockLen: number } {
  const s = NODE_HASH[name];
  if (s === undefined) throw new WraithError('E_NOISE_PROTOCOL', `unknown hash ${String(name)}`, { hash: name });
  return s;
}

function makeHashFn(name: HashName): HashFn {
  const { alg, hashLen, blockLen } = hashSpec(name);
  return {
    name,
    hashLen,
    blockLen,
    digest(...parts: Uint8Array[]): Uint8Array {
      const h = createHash(alg);
      for (const p of parts) h.update(p);
      return u8(h.digest());
    },
  };
}

const HASH_FNS: Record<HashName, HashFn> = {
  BLAKE2s: makeHashFn('BLAKE2s'),
  BLAKE2b: makeHashFn('BLAKE2b'),
  SHA256: makeHashFn('SHA256'),
  SHA512: makeHashFn('SHA512'),
};

function hmac(hashName: HashName, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac(hashSpec(hashName).alg, key);
  for (const p of parts) h.update(p);
  return u8(h.digest());
}

function checkAead(key: Uint8Array, nonce: Uint8Array): void {
  checkLen('ChaCha20-Poly1305 key', key, AEAD_KEY_LEN);
  checkLen('ChaCha20-Poly1305 nonce', nonce, AEAD_NONCE_LEN);
}

function aeadSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkAead(key, nonce);
  const c = createCipheriv(AEAD_ALG, key, nonce, AEAD_OPTS);
  c.setAAD(ad, { plaintextLength: plaintext.length });
  const out = new Uint8Array(plaintext.length + AEAD_TAG_LEN);
  const body = c.update(plaintext);
  out.set(body, 0);
  out.set(c.final(), body.length);
  out.set(c.getAuthTag(), plaintext.length);
  return out;
}

function aeadOpen(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ct: Uint8Array): Uint8Array | null {
  checkAead(key, nonce);
  if (ct.length < AEAD_TAG_LEN) return null;
  const n = ct.length - AEAD_TAG_LEN;
  const d = createDecipheriv(AEAD_ALG, key, nonce, AEAD_OPTS);
  d.setAAD(ad, { plaintextLength: n });
  d.setAuthTag(ct.subarray(n));
  const body = d.update(ct.subarray(0, n));
  let tail: Buffer;
  try {
    tail = d.final();
  } catch {
    body.fill(0); // unauthenticated plaintext never leaves
    return null;
  }
  const out = new Uint8Array(n);
  out.set(body, 0);
  out.set(tail, body.length);
  return out;
}

class NodeAeadKey implements AeadKey {
  private readonly key: Buffer;
  constructor(key: Uint8Array) {
    checkLen('ChaCha20-Poly1305 key', key, AEAD_KEY_LEN);
    this.key = Buffer.alloc(AEAD_KEY_LEN);
    this.key.set(key);
  }

  sealInPlace(nonce: Uint8Array, buf: Uint8Array, adStart: number, adLen: number, ptStart: number, ptLen: number): void {
    checkSealRange(buf, adStart, adLen, ptStart, ptLen);
    // One cipher object per packet is unavoidable with node:crypto (no reset API).
    const c = createCipheriv(AEAD_ALG, this.key, nonce, AEAD_OPTS);
    c.setAAD(buf.subarray(adStart, adStart + adLen), { plaintextLength: ptLen });
    const body = c.update(buf.subarray(ptStart, ptStart + ptLen));
    buf.set(body, ptStart);
    const tail = c.final();
    if (tail.length > 0) buf.set(tail, ptStart + body.length);
    buf.set(c.getAuthTag(), ptStart + ptLen);
  }

  openInPlace(nonce: Uint8Array, buf: Uint8Array, adStart: number, adLen: number, ctStart: number, ctLen: number): boolean {
    if (ctLen < AEAD_TAG_LEN || !rangeFits(buf, adStart, adLen, ctStart, ctLen)) return false;
    const n = ctLen - AEAD_TAG_LEN;
    const d = createDecipheriv(AEAD_ALG, this.key, nonce, AEAD_OPTS);
    d.setAAD(buf.subarray(adStart, adStart + adLen), { plaintextLength: n });
    d.setAuthTag(buf.subarray(ctStart + n, ctStart + ctLen));
    const body = d.update(buf.subarray(ctStart, ctStart + n));
    let tail: Buffer;
    try {
      tail = d.final();
    } catch {
      body.fill(0);
      return false; // buf still holds the ciphertext: nothing unauthenticated was written
    }
    buf.set(body, ctStart);
    if (tail.length > 0) buf.set(tail, ctStart + body.length);
    return true;
  }

  destroy(): void {
    this.key.fill(0);
  }
}

function forget(key: Uint8Array): void {
  if (key.length !== X25519_KEY_LEN) return;
  privCache.delete(privCacheKey(key));
  pubCache.delete(pubCacheKey(key));
}

// RFC 7748 §6.1 known answers: a probe that X25519 (and the JWK import path) really work.
const PROBE_A_PRIV = '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a';
const PROBE_A_PUB = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const PROBE_B_PUB = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const PROBE_SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

function probe(jwk: boolean): boolean {
  try {
    const a = privateKeyObject(Buffer.from(PROBE_A_PRIV, 'hex'), jwk);
    const b = publicKeyObject(Buffer.from(PROBE_B_PUB, 'hex'), jwk);
    return (
      Buffer.from(rawPublicOf(a)).toString('hex') === PROBE_A_PUB &&
      diffieHellman({ privateKey: a, publicKey: b }).toString('hex') === PROBE_SHARED
    );
  } catch {
    return false;
  }
}

/** Test hook: the known-answer probe for one import path (JWK or DER). */
export function _probeX25519Import(jwk: boolean): boolean {
  return probe(jwk);
}

function jwkWorks(): boolean {
  useJwk ??= probe(true);
  return useJwk;
}

let available: boolean | undefined;

/** Whether this node:crypto has ChaCha20-Poly1305 and working X25519. */
export function nodeBackendAvailable(): boolean {
  available ??= getCiphers().includes(AEAD_ALG) && (jwkWorks() || probe(false));
  return available;
}

export const nodeBackend: CryptoBackend = {
  name: 'node',
  x25519PublicKey,
  x25519GenerateKeyPair,
  x25519,
  hash: (name) => {
    const h = HASH_FNS[name];
    if (h === undefined) throw new WraithError('E_NOISE_PROTOCOL', `unknown hash ${String(name)}`, { hash: name });
    return h;
  },
  hmac,
  aeadSeal,
  aeadOpen,
  aeadKey: (key) => new NodeAeadKey(key),
  forget,
};
