/**
 * BLAKE3 backends for @wraith/core's `Blake3` interface: the native addon,
 * WebAssembly, and the @noble/hashes reference, chosen at run time. The reference
 * (`@wraith/core/noble`) is imported only when it is the one chosen.
 */
import { WraithError, type Blake3 } from '@wraith/core';
import { hybrid } from './hybrid.js';
import { loadNativeChecked } from './native-only.js';
import { selfTest } from './self-test.js';
import { initWasm, loadWasm } from './wasm.js';

export { SMALL_INPUT } from './hybrid.js';
export { SELF_TEST, selfTestInput } from './self-test.js';

export type Blake3Preference = 'auto' | 'native' | 'wasm' | 'noble';

export interface Blake3BackendReport {
  name: 'native' | 'wasm' | 'noble';
  available: boolean;
  /** Why it is not available (null when it is). */
  reason: string | null;
}

function checked(r: { blake3: Blake3 } | { reason: string }): { blake3: Blake3 } | { reason: string } {
  if ('reason' in r) return r;
  const bad = selfTest(r.blake3);
  return bad === null ? r : { reason: `${r.blake3.name}: ${bad}` };
}

let nativeCache: { blake3: Blake3 } | { reason: string } | null = null;
function native(): { blake3: Blake3 } | { reason: string } {
  nativeCache ??= loadNativeChecked();
  return nativeCache;
}
let wasmCache: { blake3: Blake3 } | { reason: string } | null = null;
function wasm(): { blake3: Blake3 } | { reason: string } {
  const r = loadWasm();
  if ('reason' in r && r.reason.includes('not initialised')) return r; // may still come up later
  wasmCache ??= checked(r);
  return wasmCache;
}

// Like wasm, the reference loads asynchronously (a dynamic import of @wraith/core/noble, so
// that @noble/* stays unloaded whenever native or wasm is used): by loadBlake3Async when it
// is chosen, or by blake3Backends.
let nobleCache: Blake3 | null = null;
async function loadNoble(): Promise<Blake3> {
  nobleCache ??= (await import('@wraith/core/noble')).nobleBlake3;
  return nobleCache;
}
function noble(why: string): Blake3 {
  if (nobleCache === null) {
    throw new WraithError('E_CRYPTO_BACKEND', `BLAKE3 backend noble is not loaded${why}: use loadBlake3Async`, { backend: 'noble' });
  }
  return nobleCache;
}

function unavailable(name: string, reason: string): WraithError {
  return new WraithError('E_CRYPTO_BACKEND', `BLAKE3 backend ${name} is not available: ${reason}`, { backend: name, reason });
}

/**
 * A BLAKE3 implementation, synchronously. 'auto' prefers native (combined
 * with wasm for small inputs when wasm was initialised by loadBlake3Async),
 * then wasm, then noble. 'wasm' and 'noble' work only after loadBlake3Async
 * loaded them (so does 'auto' when neither native nor wasm is there). A named
 * backend that cannot load throws E_CRYPTO_BACKEND with the reason.
 */
export function loadBlake3(pref: Blake3Preference = 'auto'): Blake3 {
  switch (pref) {
    case 'noble':
      return noble('');
    case 'native': {
      const n = native();
      if ('reason' in n) throw unavailable('native', n.reason);
      return n.blake3;
    }
    case 'wasm': {
      const w = wasm();
      if ('reason' in w) throw unavailable('wasm', w.reason);
      return w.blake3;
    }
    case 'auto': {
      const n = native();
      const w = wasm();
      if ('blake3' in n) return 'blake3' in w ? hybrid(n.blake3, w.blake3) : n.blake3;
      if ('blake3' in w) return w.blake3;
      return noble(` (native: ${n.reason}; wasm: ${w.reason})`);
    }
    default:
      throw new WraithError('E_USAGE', `unknown BLAKE3 backend ${JSON.stringify(pref)}; use auto, native, wasm or noble`);
  }
}

/**
 * Like loadBlake3, after initialising blake3-wasm (needed for 'wasm', and for the fastest
 * 'auto') and, when it is the choice ('noble', or 'auto' with neither native nor wasm),
 * importing the noble reference.
 */
export async function loadBlake3Async(pref: Blake3Preference = 'auto'): Promise<Blake3> {
  if (pref === 'auto' || pref === 'wasm') await initWasm();
  if (pref === 'noble' || (pref === 'auto' && !('blake3' in native()) && !('blake3' in wasm()))) await loadNoble();
  return loadBlake3(pref);
}

/** Which backends load here and, for those that do not, why (for logs and `wraith doctor`). */
export async function blake3Backends(): Promise<Blake3BackendReport[]> {
  await initWasm();
  await loadNoble();
  const n = native();
  const w = wasm();
  return [
    { name: 'native', available: 'blake3' in n, reason: 'reason' in n ? n.reason : null },
    { name: 'wasm', available: 'blake3' in w, reason: 'reason' in w ? w.reason : null },
    { name: 'noble', available: true, reason: null },
  ];
}
