import { WraithError } from '../errors.js';
import type { CryptoBackend } from './backend.js';
import { nodeBackend, nodeBackendAvailable } from './backend-node.js';

export type BackendPreference = 'auto' | 'node' | 'noble';

const PREFERENCES: readonly string[] = ['auto', 'node', 'noble'];

function unknown(pref: unknown): WraithError {
  return new WraithError('E_CRYPTO_BACKEND', `unknown crypto backend ${JSON.stringify(pref)}`, { backend: pref });
}

function noNode(pref: BackendPreference): WraithError {
  return new WraithError('E_CRYPTO_BACKEND', 'node:crypto here lacks chacha20-poly1305 or X25519', { backend: pref });
}

/** Whether `pref` resolves to the @noble/* reference here. Throws E_CRYPTO_BACKEND for an unknown name. */
function wantsNoble(pref: BackendPreference): boolean {
  if (!PREFERENCES.includes(pref)) throw unknown(pref);
  return pref === 'noble' || (pref === 'auto' && !nodeBackendAvailable());
}

/**
 * The backend for `pref`, synchronously: node:crypto only. `auto` and `node` give
 * node:crypto when it has ChaCha20-Poly1305 and X25519 (Node >= 20 official builds).
 * The @noble/* reference is not loaded by the main entry, so whenever `pref` resolves to
 * it (`noble`, or `auto` on a node:crypto without those primitives) this throws
 * E_CRYPTO_BACKEND: use `loadBackend`, or `nobleBackend` from `@wraith/core/noble`.
 */
export function selectBackend(pref: BackendPreference): CryptoBackend {
  if (wantsNoble(pref)) {
    throw new WraithError(
      'E_CRYPTO_BACKEND',
      pref === 'noble'
        ? 'the noble crypto backend loads asynchronously: use loadBackend(\'noble\')'
        : 'node:crypto here lacks chacha20-poly1305 or X25519, and the noble fallback loads asynchronously: use loadBackend(\'auto\')',
      { backend: pref },
    );
  }
  if (!nodeBackendAvailable()) throw noNode(pref);
  return nodeBackend;
}

/**
 * The backend for `pref`: `auto` prefers node:crypto (several times faster) when it has
 * what wraith needs, else the @noble/* reference; `node` requires node:crypto; `noble`
 * is the reference. @noble/* is imported only when selected. An unknown name or an
 * unavailable `node` rejects with E_CRYPTO_BACKEND.
 */
export async function loadBackend(pref: BackendPreference): Promise<CryptoBackend> {
  if (!wantsNoble(pref)) return selectBackend(pref);
  const { nobleBackend } = await import('./backend-noble.js');
  return nobleBackend;
}
