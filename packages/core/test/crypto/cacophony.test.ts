import { expect, it } from 'vitest';
import { describeIf, vectorFile } from '../../../../test/support/prereq.js';
import { HandshakeState } from '../../src/crypto/noise/handshake-state.js';
import { BACKENDS, NO_RNG, hex, keyPair, readJson, unhex } from './helpers.js';

interface NoiseVector {
  protocol_name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const vf = vectorFile('noise_xx_cacophony.json');

describeIf(vf.missing, 'Noise XX cacophony vectors', () => {
  const { vectors } = readJson<{ vectors: NoiseVector[] }>(vf.path);

  it('covers all four hashes', () => {
    expect(vectors.map((v) => v.protocol_name).sort()).toEqual([
      'Noise_XX_25519_ChaChaPoly_BLAKE2b',
      'Noise_XX_25519_ChaChaPoly_BLAKE2s',
      'Noise_XX_25519_ChaChaPoly_SHA256',
      'Noise_XX_25519_ChaChaPoly_SHA512',
    ]);
  });

  for (const backend of BACKENDS) {
    for (const v of vectors) {
      it(`${v.protocol_name} on ${backend.name}: every message and the handshake hash`, () => {
        const init = HandshakeState.initialize({
          protocolName: v.protocol_name,
          initiator: true,
          prologue: unhex(v.init_prologue),
          s: keyPair(backend, v.init_static),
          e: keyPair(backend, v.init_ephemeral),
          backend,
          rng: NO_RNG,
        });
        const resp = HandshakeState.initialize({
          protocolName: v.protocol_name,
          initiator: false,
          prologue: unhex(v.resp_prologue),
          s: keyPair(backend, v.resp_static),
          e: keyPair(backend, v.resp_ephemeral),
          backend,
          rng: NO_RNG,
        });
        const hsLen = init.pattern.messages.length;
        expect(v.messages.length).toBeGreaterThan(hsLen);
        v.messages.slice(0, hsLen).forEach((m, i) => {
          const [tx, rx] = i % 2 === 0 ? [init, resp] : [resp, init];
          const ct = tx.writeMessage(unhex(m.payload));
          expect(hex(ct), `handshake message ${i}`).toBe(m.ciphertext);
          expect(hex(rx.readMessage(ct))).toBe(m.payload);
        });
        expect(init.isComplete && resp.isComplete).toBe(true);
        expect(hex(init.getHandshakeHash())).toBe(v.handshake_hash);
        expect(hex(resp.getHandshakeHash())).toBe(v.handshake_hash);
        expect(hex(init.remoteStaticKey!)).toBe(hex(keyPair(backend, v.resp_static).pub));
        expect(hex(resp.remoteStaticKey!)).toBe(hex(keyPair(backend, v.init_static).pub));
        expect(hex(init.chainingKey())).toBe(hex(resp.chainingKey()));

        const [i1, i2] = init.split();
        const [r1, r2] = resp.split();
        const empty = new Uint8Array(0);
        // Transport messages keep alternating: even indices initiator → responder (c1).
        v.messages.slice(hsLen).forEach((m, j) => {
          const i = hsLen + j;
          const [tx, rx] = i % 2 === 0 ? [i1, r1] : [r2, i2];
          const ct = tx.encryptWithAd(empty, unhex(m.payload));
          expect(hex(ct), `transport message ${i}`).toBe(m.ciphertext);
          expect(hex(rx.decryptWithAd(empty, ct))).toBe(m.payload);
        });
      });
    }
  }
});
