import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual, parsePeerId, peerIdFromPublicKey } from '../../src/crypto/peer-id.js';
import { expectCode, hex } from './helpers.js';

describe('peer ids', () => {
  it('round-trip: 64 lowercase hex characters', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (pub) => {
        const id = peerIdFromPublicKey(pub);
        expect(id).toMatch(/^[0-9a-f]{64}$/);
        expect(id).toBe(hex(pub));
        expect(hex(parsePeerId(id))).toBe(id);
        expect(hex(parsePeerId(`0x${id.toUpperCase()}`))).toBe(id);
      }),
      { seed: 41, numRuns: 100 },
    );
  });

  it('rejects anything else with E_PEER_ID_INVALID', () => {
    const id = 'ab'.repeat(32);
    for (const bad of ['', id.slice(1), `${id}0`, `0x${id.slice(2)}`, `${id.slice(0, 63)}g`, `0y${id}`, ` ${id} x`, `0x`]) {
      expectCode(() => parsePeerId(bad), 'E_PEER_ID_INVALID');
    }
    expectCode(() => parsePeerId(undefined as unknown as string), 'E_PEER_ID_INVALID');
    expectCode(() => peerIdFromPublicKey(new Uint8Array(31)), 'E_CRYPTO_KEY');
  });

  it('bytesEqual compares contents and lengths', () => {
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
  });
});
