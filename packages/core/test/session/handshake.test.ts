/**
 * The wraith handshake layer (session/handshake.ts): transport parameters as
 * Noise payloads. A FINISH must carry the initiator's parameters (PROTOCOL.md §3):
 * without them the responder would keep the INITIATION's, which travel in the clear.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { Handshake } from '../../src/session/handshake.js';
import type { TransportParams } from '../../src/wire/index.js';
import { BACKENDS, expectCode } from '../crypto/helpers.js';

const INIT_PARAMS: TransportParams = { maxDatagramSize: 1452, idleTimeoutMs: 30_000 };
const FINISH_PARAMS: TransportParams = { maxDatagramSize: 1300, idleTimeoutMs: 5_000, maxTransfers: 3 };

for (const backend of BACKENDS) {
  describe(`Handshake on ${backend.name}`, () => {
    /**
     * Two initiators with the same static and ephemeral keys (same seed) write
     * the same message 1, so the responder can be offered two FINISH messages
     * that both decrypt: one without parameters, one with.
     */
    function twins(seed: number) {
      const keys = new SeededRng(seed);
      const is = backend.x25519GenerateKeyPair(keys);
      const rs = backend.x25519GenerateKeyPair(keys);
      const initA = new Handshake(backend, true, is, new SeededRng(seed + 1), rs.pub);
      const initB = new Handshake(backend, true, is, new SeededRng(seed + 1), rs.pub);
      const resp = new Handshake(backend, false, rs, new SeededRng(seed + 2), null);
      const m1 = initA.write(INIT_PARAMS);
      expect(Buffer.from(initB.write(INIT_PARAMS)).equals(Buffer.from(m1))).toBe(true);
      resp.read(m1);
      const m2 = resp.write({ maxDatagramSize: 1452 });
      initA.read(m2);
      initB.read(m2);
      return { initA, initB, resp, is };
    }

    it('a FINISH without transport parameters is refused with E_HANDSHAKE_NO_PARAMS and changes nothing', () => {
      const { initA, initB, resp, is } = twins(100);
      const bare = initA.write({});
      expectCode(() => resp.read(bare), 'E_HANDSHAKE_NO_PARAMS');
      expect(resp.complete).toBe(false);
      expect(resp.remoteStatic).toBeNull();
      expectCode(() => resp.finish(), 'E_NOISE_STATE');
      // The state is as before the bad FINISH: a FINISH with parameters still completes it.
      resp.read(initB.write(FINISH_PARAMS));
      const r = resp.finish();
      expect(Buffer.from(r.remoteStatic).equals(Buffer.from(is.pub))).toBe(true);
      expect(r.remoteParams).toEqual(FINISH_PARAMS);
    });

    it("the FINISH's parameters replace the INITIATION's", () => {
      const { initB, resp } = twins(200);
      resp.read(initB.write({ maxTransfers: 2 }));
      expect(resp.finish().remoteParams).toEqual({ maxTransfers: 2 });
    });

    it('the initiator still accepts a RESPONSE without parameters (the rule is for FINISH)', () => {
      const keys = new SeededRng(300);
      const is = backend.x25519GenerateKeyPair(keys);
      const rs = backend.x25519GenerateKeyPair(keys);
      const init = new Handshake(backend, true, is, new SeededRng(301), rs.pub);
      const resp = new Handshake(backend, false, rs, new SeededRng(302), null);
      resp.read(init.write(INIT_PARAMS));
      init.read(resp.write({}));
      const m3 = init.write(FINISH_PARAMS);
      expect(init.finish().remoteParams).toEqual({});
      resp.read(m3);
      expect(resp.finish().remoteParams).toEqual(FINISH_PARAMS);
    });
  });
}
