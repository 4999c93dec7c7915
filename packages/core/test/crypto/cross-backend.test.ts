import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { HASH_NAMES, type HashName } from '../../src/crypto/backend.js';
import { nobleBackend } from '../../src/noble.js';
import { nodeBackend } from '../../src/crypto/backend-node.js';
import { HandshakeState } from '../../src/crypto/noise/handshake-state.js';
import { hex } from './helpers.js';

const SEED = 0x5eed;
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const key32 = bytes(32, 32);
const hashName = fc.constantFrom<HashName>(...HASH_NAMES);
const NODE_ALG: Record<HashName, string> = { BLAKE2s: 'blake2s256', BLAKE2b: 'blake2b512', SHA256: 'sha256', SHA512: 'sha512' };

describe('node and noble backends agree', () => {
  it('x25519 public keys and shared secrets', () => {
    fc.assert(
      fc.property(key32, key32, (a, b) => {
        const pubA = nodeBackend.x25519PublicKey(a);
        const pubB = nodeBackend.x25519PublicKey(b);
        expect(hex(nobleBackend.x25519PublicKey(a))).toBe(hex(pubA));
        const s1 = nodeBackend.x25519(a, pubB);
        expect(hex(nobleBackend.x25519(a, pubB))).toBe(hex(s1));
        expect(hex(nodeBackend.x25519(b, pubA))).toBe(hex(s1)); // DH symmetry
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('key generation clamps per RFC 7748 and draws from the injected rng', () => {
    for (const backend of [nodeBackend, nobleBackend]) {
      const kp = backend.x25519GenerateKeyPair(new SeededRng(7));
      const raw = new Uint8Array(32);
      new SeededRng(7).fill(raw);
      expect(kp.priv[0]! & 7).toBe(0);
      expect(kp.priv[31]! & 0x80).toBe(0);
      expect(kp.priv[31]! & 0x40).toBe(0x40);
      expect(hex(kp.priv.subarray(1, 31))).toBe(hex(raw.subarray(1, 31)));
      expect(hex(kp.pub)).toBe(hex(nobleBackend.x25519PublicKey(kp.priv)));
    }
  });

  it('ChaCha20-Poly1305 seal/open, and tampering fails on both', () => {
    fc.assert(
      fc.property(key32, bytes(12, 12), bytes(0, 64), bytes(0, 300), fc.nat(), (k, n, ad, pt, flip) => {
        const ct = nodeBackend.aeadSeal(k, n, ad, pt);
        expect(ct.length).toBe(pt.length + 16);
        expect(hex(nobleBackend.aeadSeal(k, n, ad, pt))).toBe(hex(ct));
        expect(hex(nobleBackend.aeadOpen(k, n, ad, ct)!)).toBe(hex(pt));
        expect(hex(nodeBackend.aeadOpen(k, n, ad, ct)!)).toBe(hex(pt));
        const bad = ct.slice();
        const i = flip % bad.length;
        bad[i] = bad[i]! ^ (1 << (flip % 8));
        expect(nodeBackend.aeadOpen(k, n, ad, bad)).toBeNull();
        expect(nobleBackend.aeadOpen(k, n, ad, bad)).toBeNull();
        expect(nodeBackend.aeadOpen(k, n, ad, ct.subarray(0, 15))).toBeNull();
        expect(nobleBackend.aeadOpen(k, n, ad, ct.subarray(0, 15))).toBeNull();
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('hashes and HMAC (also against node:crypto directly, for the split-input digest)', () => {
    fc.assert(
      fc.property(hashName, bytes(0, 200), bytes(0, 200), bytes(0, 200), (name, key, a, b) => {
        const hn = nodeBackend.hash(name);
        const hb = nobleBackend.hash(name);
        expect([hn.hashLen, hn.blockLen]).toEqual([hb.hashLen, hb.blockLen]);
        const whole = createHash(NODE_ALG[name]).update(a).update(b).digest('hex');
        expect(hex(hn.digest(a, b))).toBe(whole);
        expect(hex(hb.digest(a, b))).toBe(whole);
        const mac = createHmac(NODE_ALG[name], key).update(a).update(b).digest('hex');
        expect(hex(nodeBackend.hmac(name, key, a, b))).toBe(mac);
        expect(hex(nobleBackend.hmac(name, key, a, b))).toBe(mac);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('a full XX handshake with one side on each backend', () => {
    fc.assert(
      fc.property(hashName, bytes(0, 40), bytes(0, 100), bytes(0, 100), bytes(0, 100), fc.boolean(), fc.integer(), (h, prologue, p1, p2, p3, nodeInit, seed) => {
        const rng = new SeededRng(seed);
        const [ib, rb] = nodeInit ? [nodeBackend, nobleBackend] : [nobleBackend, nodeBackend];
        const protocolName = `Noise_XX_25519_ChaChaPoly_${h}`;
        const is = ib.x25519GenerateKeyPair(rng);
        const rs = rb.x25519GenerateKeyPair(rng);
        const init = HandshakeState.initialize({ protocolName, initiator: true, prologue, s: is, backend: ib, rng: rng.fork() });
        const resp = HandshakeState.initialize({ protocolName, initiator: false, prologue, s: rs, backend: rb, rng: rng.fork() });
        expect(hex(resp.readMessage(init.writeMessage(p1)))).toBe(hex(p1));
        expect(hex(init.readMessage(resp.writeMessage(p2)))).toBe(hex(p2));
        expect(hex(resp.readMessage(init.writeMessage(p3)))).toBe(hex(p3));
        expect(hex(init.getHandshakeHash())).toBe(hex(resp.getHandshakeHash()));
        expect(hex(init.remoteStaticKey!)).toBe(hex(rs.pub));
        expect(hex(resp.remoteStaticKey!)).toBe(hex(is.pub));
        const [i1, i2] = init.split();
        const [r1, r2] = resp.split();
        const ad = new Uint8Array([1, 2, 3]);
        expect(hex(r1.decryptWithAd(ad, i1.encryptWithAd(ad, p1)))).toBe(hex(p1));
        expect(hex(i2.decryptWithAd(ad, r2.encryptWithAd(ad, p2)))).toBe(hex(p2));
        expect(hex(i1.key())).not.toBe(hex(i2.key()));
      }),
      { seed: SEED, numRuns: 24 },
    );
  });
});
