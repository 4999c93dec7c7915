import { describe, expect, it } from 'vitest';
import { CipherState, MAX_NONCE, writeNonce } from '../../src/crypto/noise/cipher-state.js';
import { BACKENDS, expectCode, hex } from './helpers.js';

describe('writeNonce', () => {
  it('is 4 zero bytes then the counter as u64 little-endian', () => {
    const n = new Uint8Array(12).fill(0xaa);
    writeNonce(n, 0);
    expect(hex(n)).toBe('000000000000000000000000');
    writeNonce(n, 0x0102_0304);
    expect(hex(n)).toBe('000000000403020100000000');
    writeNonce(n, 2 ** 32);
    expect(hex(n)).toBe('000000000000000001000000');
    writeNonce(n, MAX_NONCE);
    expect(hex(n)).toBe('00000000ffffffffffff1f00');
    writeNonce(n, 0x12_3456_789a_bcde);
    expect(hex(n)).toBe('00000000debc9a7856341200');
  });
});

for (const backend of BACKENDS) {
  describe(`CipherState on ${backend.name}`, () => {
    const key = new Uint8Array(32).map((_, i) => i);
    const ad = new Uint8Array([7]);

    it('passes data through without a key, and uses nonce n for the n-th message', () => {
      const cs = new CipherState(backend);
      expect(cs.hasKey()).toBe(false);
      expect(hex(cs.encryptWithAd(ad, new Uint8Array([1, 2])))).toBe('0102');
      cs.initializeKey(key);
      cs.setNonce(2 ** 40 + 5);
      const ct = cs.encryptWithAd(ad, new Uint8Array([1, 2]));
      const nonce = new Uint8Array(12);
      writeNonce(nonce, 2 ** 40 + 5);
      expect(hex(ct)).toBe(hex(backend.aeadSeal(key, nonce, ad, new Uint8Array([1, 2]))));
      expect(cs.nonceValue).toBe(2 ** 40 + 6);
    });

    it('refuses the reserved top nonce with E_NONCE_EXHAUSTED', () => {
      const cs = new CipherState(backend);
      cs.initializeKey(key);
      cs.setNonce(MAX_NONCE - 1);
      cs.encryptWithAd(ad, new Uint8Array(1));
      expectCode(() => cs.encryptWithAd(ad, new Uint8Array(1)), 'E_NONCE_EXHAUSTED');
      expectCode(() => cs.decryptWithAd(ad, new Uint8Array(17)), 'E_NONCE_EXHAUSTED');
      expectCode(() => cs.setNonce(MAX_NONCE + 1), 'E_NOISE_STATE');
      expectCode(() => cs.setNonce(-1), 'E_NOISE_STATE');
    });

    it('a failed decrypt throws E_CRYPTO_DECRYPT and does not advance the nonce', () => {
      const tx = new CipherState(backend);
      const rx = new CipherState(backend);
      tx.initializeKey(key);
      rx.initializeKey(key);
      const ct = tx.encryptWithAd(ad, new Uint8Array([5, 6, 7]));
      const bad = ct.slice();
      bad[0] = bad[0]! ^ 1;
      expectCode(() => rx.decryptWithAd(ad, bad), 'E_CRYPTO_DECRYPT');
      expectCode(() => rx.decryptWithAd(ad, ct.subarray(0, 10)), 'E_CRYPTO_DECRYPT');
      expect(rx.nonceValue).toBe(0);
      expect(hex(rx.decryptWithAd(ad, ct))).toBe('050607');
      expect(rx.nonceValue).toBe(1);
    });

    it('rekey() is ENCRYPT(k, 2^64-1, empty, zeros) truncated, on both sides alike', () => {
      const a = new CipherState(backend);
      const b = new CipherState(backend);
      a.initializeKey(key);
      b.initializeKey(key);
      a.rekey();
      b.rekey();
      const maxNonce = new Uint8Array([0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);
      expect(hex(a.key())).toBe(hex(backend.aeadSeal(key, maxNonce, new Uint8Array(0), new Uint8Array(32)).subarray(0, 32)));
      expect(hex(b.decryptWithAd(ad, a.encryptWithAd(ad, new Uint8Array([3]))))).toBe('03');
    });

    it('refuses every use after destroy() instead of passing plaintext through', () => {
      const cs = new CipherState(backend);
      cs.initializeKey(key);
      cs.destroy();
      expectCode(() => cs.encryptWithAd(ad, new Uint8Array(1)), 'E_NOISE_STATE');
      expectCode(() => cs.decryptWithAd(ad, new Uint8Array(17)), 'E_NOISE_STATE');
      expectCode(() => cs.key(), 'E_NOISE_STATE');
      expectCode(() => new CipherState(backend).key(), 'E_NOISE_STATE');
      expectCode(() => cs.initializeKey(new Uint8Array(16)), 'E_CRYPTO_KEY');
    });
  });
}
