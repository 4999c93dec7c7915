import { hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HASH_NAMES, type HashName } from '../../src/crypto/backend.js';
import { deriveKeyUpdate } from '../../src/crypto/rekey.js';
import { BACKENDS, expectCode, hex } from './helpers.js';

const ALG: Record<HashName, string> = { BLAKE2s: 'blake2s256', BLAKE2b: 'blake2b512', SHA256: 'sha256', SHA512: 'sha512' };

for (const backend of BACKENDS) {
  describe(`deriveKeyUpdate on ${backend.name}`, () => {
    it('is RFC 5869 HKDF(salt = ck, ikm = dh, 3 outputs), keys cut to 32 bytes', () => {
      for (const name of HASH_NAMES) {
        const hash = backend.hash(name);
        const ck = new Uint8Array(hash.hashLen).map((_, i) => i * 7);
        const dh = new Uint8Array(32).map((_, i) => 255 - i);
        const u = deriveKeyUpdate(hash, backend.hmac, ck, dh);
        const L = hash.hashLen;
        const okm = new Uint8Array(hkdfSync(ALG[name], dh, ck, new Uint8Array(0), 3 * L));
        expect(hex(u.ck)).toBe(hex(okm.subarray(0, L)));
        expect(hex(u.k1)).toBe(hex(okm.subarray(L, L + 32)));
        expect(hex(u.k2)).toBe(hex(okm.subarray(2 * L, 2 * L + 32)));
        expect(u.k1.length).toBe(32);
        // Chained updates move on: the next ck differs and yields different keys.
        const v = deriveKeyUpdate(hash, backend.hmac, u.ck, dh);
        expect(hex(v.k1)).not.toBe(hex(u.k1));
      }
    });

    it('rejects a chaining key or shared secret of the wrong length', () => {
      const hash = backend.hash('BLAKE2s');
      expectCode(() => deriveKeyUpdate(hash, backend.hmac, new Uint8Array(64), new Uint8Array(32)), 'E_CRYPTO_KEY');
      expectCode(() => deriveKeyUpdate(hash, backend.hmac, new Uint8Array(32), new Uint8Array(31)), 'E_CRYPTO_KEY');
    });
  });
}
