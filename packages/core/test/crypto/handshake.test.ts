import { hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { isWraithError } from '../../src/errors.js';
import type { CryptoBackend } from '../../src/crypto/backend.js';
import { HandshakeState } from '../../src/crypto/noise/handshake-state.js';
import { peerIdFromPublicKey } from '../../src/crypto/peer-id.js';
import { BACKENDS, expectCode, hex } from './helpers.js';

const PROTO = 'Noise_XX_25519_ChaChaPoly_BLAKE2s';
const PROLOGUE = new TextEncoder().encode('wraith/1');

function pair(backend: CryptoBackend, seed: number, protocolName = PROTO) {
  const rng = new SeededRng(seed);
  const is = backend.x25519GenerateKeyPair(rng);
  const rs = backend.x25519GenerateKeyPair(rng);
  const init = HandshakeState.initialize({ protocolName, initiator: true, prologue: PROLOGUE, s: is, backend, rng: rng.fork() });
  const resp = HandshakeState.initialize({ protocolName, initiator: false, prologue: PROLOGUE, s: rs, backend, rng: rng.fork() });
  return { init, resp, is, rs };
}

for (const backend of BACKENDS) {
  describe(`HandshakeState on ${backend.name}`, () => {
    it('a corrupted message 2 throws E_CRYPTO_DECRYPT and leaves the state unusable', () => {
      const m2len = 32 + 48 + 16 + 5; // e, encrypted s, encrypted 5-byte payload
      // Flip one byte in each region: ephemeral key, encrypted static key, payload, tag.
      for (const pos of [0, 31, 32, 60, 79, 80, 84, m2len - 1]) {
        const { init, resp } = pair(backend, 1);
        resp.readMessage(init.writeMessage(new Uint8Array(0)));
        const m2 = resp.writeMessage(new Uint8Array([1, 2, 3, 4, 5]));
        expect(m2.length).toBe(m2len);
        m2[pos] = m2[pos]! ^ 0x01;
        expectCode(() => init.readMessage(m2), 'E_CRYPTO_DECRYPT');
        expect(init.hasFailed).toBe(true);
        expect(init.isComplete).toBe(false);
        expectCode(() => init.writeMessage(new Uint8Array(0)), 'E_NOISE_STATE');
        expectCode(() => init.split(), 'E_NOISE_STATE');
      }
    });

    it('a corrupted message 3 throws E_CRYPTO_DECRYPT at the responder', () => {
      const { init, resp } = pair(backend, 2);
      resp.readMessage(init.writeMessage(new Uint8Array(0)));
      init.readMessage(resp.writeMessage(new Uint8Array(0)));
      const m3 = init.writeMessage(new Uint8Array([9]));
      m3[m3.length - 1] = m3[m3.length - 1]! ^ 0x80;
      expectCode(() => resp.readMessage(m3), 'E_CRYPTO_DECRYPT');
      expect(resp.remoteStaticKey).toBeNull(); // the static key decrypted, but the message failed
      expect(resp.hasFailed).toBe(true);
    });

    it('short messages give E_WIRE_TRUNCATED or E_CRYPTO_DECRYPT, never a crash', () => {
      const base = pair(backend, 3);
      const m1 = base.init.writeMessage(new Uint8Array(0));
      base.resp.readMessage(m1);
      const m2 = base.resp.writeMessage(new Uint8Array(0));
      for (let n = 0; n < m2.length; n++) {
        const { init, resp } = pair(backend, 3);
        resp.readMessage(init.writeMessage(new Uint8Array(0)));
        const code = n < 32 + 48 + 16 ? 'E_WIRE_TRUNCATED' : 'E_CRYPTO_DECRYPT';
        expectCode(() => init.readMessage(resp.writeMessage(new Uint8Array(0)).subarray(0, n)), code);
      }
      for (let n = 0; n < 32; n++) {
        const { resp } = pair(backend, 4);
        expectCode(() => resp.readMessage(m1.subarray(0, n)), 'E_WIRE_TRUNCATED');
      }
    });

    it('random bytes as any message only ever raise coded errors', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 }), fc.uint8Array({ maxLength: 200 }), (stage, junk) => {
          const { init, resp } = pair(backend, 5);
          try {
            if (stage === 0) resp.readMessage(junk);
            else {
              resp.readMessage(init.writeMessage(new Uint8Array(0)));
              if (stage === 1) init.readMessage(junk);
              else {
                init.readMessage(resp.writeMessage(new Uint8Array(0)));
                resp.readMessage(junk);
              }
            }
          } catch (e) {
            expect(isWraithError(e), String(e)).toBe(true);
            return;
          }
          // Only message 1 (cleartext e + payload) can accept arbitrary bytes of length >= 32.
          expect(stage === 0 && junk.length >= 32).toBe(true);
        }),
        { seed: 11, numRuns: backend.name === 'noble' ? 30 : 150 },
      );
    });

    it('a low-order ephemeral key aborts with E_CRYPTO_LOW_ORDER', () => {
      const { init, resp } = pair(backend, 6);
      resp.readMessage(new Uint8Array(32)); // e = 0: a low-order point
      expectCode(() => resp.writeMessage(new Uint8Array(0)), 'E_CRYPTO_LOW_ORDER');
      expect(resp.hasFailed).toBe(true);
      init.writeMessage(new Uint8Array(0));
      const m2 = new Uint8Array(32 + 48 + 16);
      m2[0] = 1; // u = 1: also low order
      expectCode(() => init.readMessage(m2), 'E_CRYPTO_LOW_ORDER');
    });

    it('remoteStaticKey lets the initiator compare with the dialled peer id', () => {
      const { init, resp, is, rs } = pair(backend, 7);
      expect(init.remoteStaticKey).toBeNull();
      resp.readMessage(init.writeMessage(new Uint8Array(0)));
      init.readMessage(resp.writeMessage(new Uint8Array(0)));
      expect(peerIdFromPublicKey(init.remoteStaticKey!)).toBe(peerIdFromPublicKey(rs.pub));
      // An impostor completes the Noise handshake fine; only the id comparison catches it.
      const impostor = pair(backend, 8);
      impostor.resp.readMessage(impostor.init.writeMessage(new Uint8Array(0)));
      impostor.init.readMessage(impostor.resp.writeMessage(new Uint8Array(0)));
      expect(peerIdFromPublicKey(impostor.init.remoteStaticKey!)).not.toBe(peerIdFromPublicKey(rs.pub));
      resp.readMessage(init.writeMessage(new Uint8Array(0)));
      expect(hex(resp.remoteStaticKey!)).toBe(hex(is.pub));
    });

    it('enforces turns and phases without failing on caller mistakes', () => {
      const { init, resp } = pair(backend, 9);
      expectCode(() => init.readMessage(new Uint8Array(32)), 'E_NOISE_STATE');
      expectCode(() => resp.writeMessage(new Uint8Array(0)), 'E_NOISE_STATE');
      expect(init.hasFailed || resp.hasFailed).toBe(false);
      expectCode(() => init.split(), 'E_NOISE_STATE');
      expectCode(() => init.chainingKey(), 'E_NOISE_STATE');
      expectCode(() => init.writeMessage(new Uint8Array(65536)), 'E_WIRE_TOO_LARGE');
      expect(init.isMyTurn).toBe(true);
      resp.readMessage(init.writeMessage(new Uint8Array(0)));
      init.readMessage(resp.writeMessage(new Uint8Array(0)));
      resp.readMessage(init.writeMessage(new Uint8Array(0)));
      expectCode(() => init.writeMessage(new Uint8Array(0)), 'E_NOISE_STATE');
      const ck = init.chainingKey();
      expect(hex(ck)).toBe(hex(resp.chainingKey()));
      init.split();
      expectCode(() => init.chainingKey(), 'E_NOISE_STATE');
      expectCode(() => init.split(), 'E_NOISE_STATE');
      expect(init.isComplete).toBe(true);
    });

    it('split keys are HKDF(ck, empty) as RFC 5869 computes it, and the ephemeral key is wiped', () => {
      const forgotten: Uint8Array[] = [];
      const spy: CryptoBackend = { ...backend, forget: (k) => (forgotten.push(k), backend.forget(k)) };
      for (const [h, alg, len] of [['BLAKE2s', 'blake2s256', 32], ['SHA512', 'sha512', 64]] as const) {
        const { init, resp } = pair(spy, 10, `Noise_XX_25519_ChaChaPoly_${h}`);
        resp.readMessage(init.writeMessage(new Uint8Array(0)));
        init.readMessage(resp.writeMessage(new Uint8Array(0)));
        resp.readMessage(init.writeMessage(new Uint8Array(0)));
        const ck = init.chainingKey();
        expect(ck.length).toBe(len);
        const okm = new Uint8Array(hkdfSync(alg, new Uint8Array(0), ck, new Uint8Array(0), 2 * len));
        forgotten.length = 0;
        const [c1, c2] = init.split();
        expect(hex(c1.key())).toBe(hex(okm.subarray(0, 32)));
        expect(hex(c2.key())).toBe(hex(okm.subarray(len, len + 32)));
        // forget() got our ephemeral private key (then the remote ephemeral); it is now zero.
        expect(forgotten.length).toBe(2);
        expect(forgotten[0]!.every((b) => b === 0)).toBe(true);
        expect(forgotten[1]!.some((b) => b !== 0)).toBe(true);
      }
    });
  });
}

describe('protocol names', () => {
  it('rejects everything but XX / 25519 / ChaChaPoly / the four hashes', () => {
    const s = BACKENDS[0]!.x25519GenerateKeyPair(new SeededRng(1));
    for (const protocolName of [
      'Noise_IK_25519_ChaChaPoly_BLAKE2s',
      'Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s',
      'Noise_XX_448_ChaChaPoly_BLAKE2s',
      'Noise_XX_25519_AESGCM_SHA256',
      'Noise_XX_25519_ChaChaPoly_SHA3',
      'Noise_XX_25519_ChaChaPoly_BLAKE2s_extra',
      'Noise_toString_25519_ChaChaPoly_BLAKE2s',
      '',
    ]) {
      expectCode(
        () => HandshakeState.initialize({ protocolName, initiator: true, prologue: PROLOGUE, s, backend: BACKENDS[0]!, rng: new SeededRng(2) }),
        'E_NOISE_PROTOCOL',
      );
    }
  });

  it('rejects malformed keys with E_CRYPTO_KEY', () => {
    const backend = BACKENDS[0]!;
    const s = { priv: new Uint8Array(31), pub: new Uint8Array(32) };
    expectCode(() => HandshakeState.initialize({ protocolName: PROTO, initiator: true, prologue: PROLOGUE, s, backend, rng: new SeededRng(2) }), 'E_CRYPTO_KEY');
  });
});
