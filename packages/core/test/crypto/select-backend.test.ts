import { describe, expect, it } from 'vitest';
import { _probeX25519Import, nodeBackendAvailable } from '../../src/crypto/backend-node.js';
import { selectBackend } from '../../src/crypto/select-backend.js';
import { expectCode } from './helpers.js';

describe('selectBackend', () => {
  it('auto picks node:crypto when it has ChaCha20-Poly1305 and X25519', () => {
    expect(nodeBackendAvailable()).toBe(true); // Node >= 20 official builds have both
    expect(selectBackend('auto').name).toBe('node');
    expect(selectBackend('node').name).toBe('node');
    expect(selectBackend('noble').name).toBe('noble');
  });

  it('both node:crypto key import paths (JWK, DER fallback) pass the RFC 7748 known answer', () => {
    expect(_probeX25519Import(true)).toBe(true);
    expect(_probeX25519Import(false)).toBe(true);
  });

  it('an unknown choice is E_CRYPTO_BACKEND', () => {
    expectCode(() => selectBackend('openssl' as 'node'), 'E_CRYPTO_BACKEND');
  });
});
