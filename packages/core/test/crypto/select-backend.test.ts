import { describe, expect, it, vi } from 'vitest';
import { _probeX25519Import, nodeBackendAvailable } from '../../src/crypto/backend-node.js';
import { loadBackend, selectBackend } from '../../src/crypto/select-backend.js';
import { nobleBackend } from '../../src/noble.js';
import { expectCode } from './helpers.js';

describe('selectBackend', () => {
  it('auto picks node:crypto when it has ChaCha20-Poly1305 and X25519', () => {
    expect(nodeBackendAvailable()).toBe(true); // Node >= 20 official builds have both
    expect(selectBackend('auto').name).toBe('node');
    expect(selectBackend('node').name).toBe('node');
  });

  it('noble is not available synchronously: E_CRYPTO_BACKEND pointing at loadBackend', () => {
    expectCode(() => selectBackend('noble'), 'E_CRYPTO_BACKEND');
    expect(() => selectBackend('noble')).toThrow(/loadBackend\('noble'\)/);
  });

  it('both node:crypto key import paths (JWK, DER fallback) pass the RFC 7748 known answer', () => {
    expect(_probeX25519Import(true)).toBe(true);
    expect(_probeX25519Import(false)).toBe(true);
  });

  it('an unknown choice is E_CRYPTO_BACKEND', () => {
    expectCode(() => selectBackend('openssl' as 'node'), 'E_CRYPTO_BACKEND');
  });
});

describe('loadBackend', () => {
  it('gives the same backends as selectBackend for auto and node, and the noble reference for noble', async () => {
    expect(await loadBackend('auto')).toBe(selectBackend('auto'));
    expect(await loadBackend('node')).toBe(selectBackend('node'));
    expect(await loadBackend('noble')).toBe(nobleBackend); // the @wraith/core/noble instance
  });

  it('an unknown choice rejects with E_CRYPTO_BACKEND', async () => {
    await expect(loadBackend('openssl' as 'node')).rejects.toMatchObject({ code: 'E_CRYPTO_BACKEND' });
  });
});

describe('on a node:crypto without ChaCha20-Poly1305 or X25519', () => {
  it('auto falls back to noble through loadBackend; selectBackend and node refuse with E_CRYPTO_BACKEND', async () => {
    vi.resetModules();
    vi.doMock('../../src/crypto/backend-node.js', async (importOriginal) => ({
      ...(await importOriginal<typeof import('../../src/crypto/backend-node.js')>()),
      nodeBackendAvailable: () => false,
    }));
    try {
      const sb = await import('../../src/crypto/select-backend.js');
      expect((await sb.loadBackend('auto')).name).toBe('noble');
      expect(() => sb.selectBackend('auto')).toThrow(/loadBackend\('auto'\)/);
      expectCode(() => sb.selectBackend('node'), 'E_CRYPTO_BACKEND');
      await expect(sb.loadBackend('node')).rejects.toMatchObject({ code: 'E_CRYPTO_BACKEND' });
    } finally {
      vi.doUnmock('../../src/crypto/backend-node.js');
      vi.resetModules();
    }
  });
});
