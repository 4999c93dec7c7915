import { WraithError } from '../errors.js';
import type { CryptoBackend } from './backend.js';
import { nobleBackend } from './backend-noble.js';
import { nodeBackend, nodeBackendAvailable } from './backend-node.js';

export type BackendPreference = 'auto' | 'node' | 'noble';

/** `auto` prefers node:crypto (several times faster) when it has what wraith needs. */
export function selectBackend(pref: BackendPreference): CryptoBackend {
  switch (pref) {
    case 'auto':
      return nodeBackendAvailable() ? nodeBackend : nobleBackend;
    case 'node':
      if (!nodeBackendAvailable()) {
        throw new WraithError('E_CRYPTO_BACKEND', 'node:crypto here lacks chacha20-poly1305 or X25519', { backend: pref });
      }
      return nodeBackend;
    case 'noble':
      return nobleBackend;
    default:
      throw new WraithError('E_CRYPTO_BACKEND', `unknown crypto backend ${JSON.stringify(pref)}`, {
        backend: pref as unknown,
      });
  }
}
