/**
 * BLAKE3 backends for @wraith/core's `Blake3` interface: the native addon,
 * WebAssembly, and the @noble/hashes reference, chosen at run time.
 */
import { WraithError, nobleBlake3, type Blake3 } from '@wraith/core';
import { hybrid } from './hybrid.js';
import { loadNative } from './native.js';
import { initWasm, loadWasm } from './wasm.js';

export { SMALL_INPUT } from './hybrid.js';

export type Blake3Preference = 'auto' | 'native' | 'wasm' | 'noble';

export interface Blake3BackendReport {
  name: 'native' | 'wasm' | 'noble';
  available: boolean;
  /** Why it is not available (null when it is). */
  reason: string | null;
}

/**
 * Known answers (computed with @noble/hashes, the core reference; a test recomputes them) on
 * lengths that cross BLAKE3's 1 KiB chunk boundary and our 8 KiB hybrid threshold. Constants,
 * not the reference itself: hashing ~80 KB in JS cost every start-up ~20 ms.
 */
export const SELF_TEST: ReadonlyArray<readonly [number, string]> = [
  [3, 'c2343edb8fd0f4327103eb52d65fb0588b6c27d546908500b4e32a6f9c329ee8'],
  [65, '0bc6e22b399b318c710ae1829dd6f6cda4636ba4b001bf2a4542c52be2ea6865'],
  [1025, 'd430e3aeddbe0369dd2113e1268ad385aa98a5881298987b5f16de60fe33e57f'],
  [9000, '2b76569d98b91217abe69d82c9b93b0c62e31ea6dd9b157431d813381015db0d'],
  [70000, '2a25f0dd520277b9811a8ad4b2dda1b51bcf435a63fba04ba5133298b4841d2a'],
];

/** The self-test input of `len` bytes. */
export function selfTestInput(len: number): Uint8Array {
  const data = new Uint8Array(len);
  for (let i = 0; i < len; i++) data[i] = (i * 7 + 1) & 255;
  return data;
}

/** A backend gives the known answers, one-shot and streamed in two parts, or it is not used. */
function selfTest(b: Blake3): string | null {
  for (const [len, want] of SELF_TEST) {
    const data = selfTestInput(len);
    const got = Buffer.from(b.hash(data)).toString('hex');
    const stream = Buffer.from(b.create().update(data.subarray(0, len >> 1)).update(data.subarray(len >> 1)).digest()).toString('hex');
    if (got !== want || stream !== want) return `self-test failed on ${len} bytes`;
  }
  return null;
}

function checked(r: { blake3: Blake3 } | { reason: string }): { blake3: Blake3 } | { reason: string } {
  if ('reason' in r) return r;
  const bad = selfTest(r.blake3);
  return bad === null ? r : { reason: `${r.blake3.name}: ${bad}` };
}

let nativeCache: { blake3: Blake3 } | { reason: string } | null = null;
function native(): { blake3: Blake3 } | { reason: string } {
  nativeCache ??= checked(loadNative());
  return nativeCache;
}
let wasmCache: { blake3: Blake3 } | { reason: string } | null = null;
function wasm(): { blake3: Blake3 } | { reason: string } {
  const r = loadWasm();
  if ('reason' in r && r.reason.includes('not initialised')) return r; // may still come up later
  wasmCache ??= checked(r);
  return wasmCache;
}

function unavailable(name: string, reason: string): WraithError {
  return new WraithError('E_CRYPTO_BACKEND', `BLAKE3 backend ${name} is not available: ${reason}`, { backend: name, reason });
}

/**
 * A BLAKE3 implementation, synchronously. 'auto' prefers native (combined
 * with wasm for small inputs when wasm was initialised by loadBlake3Async),
 * then wasm, then noble. 'wasm' works only after loadBlake3Async. A named
 * backend that cannot load throws E_CRYPTO_BACKEND with the reason.
 */
export function loadBlake3(pref: Blake3Preference = 'auto'): Blake3 {
  switch (pref) {
    case 'noble':
      return nobleBlake3;
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
      return nobleBlake3;
    }
    default:
      throw new WraithError('E_USAGE', `unknown BLAKE3 backend ${JSON.stringify(pref)}; use auto, native, wasm or noble`);
  }
}

/** Like loadBlake3, after initialising blake3-wasm (needed for 'wasm', and for the fastest 'auto'). */
export async function loadBlake3Async(pref: Blake3Preference = 'auto'): Promise<Blake3> {
  if (pref === 'auto' || pref === 'wasm') await initWasm();
  return loadBlake3(pref);
}

/** Which backends load here and, for those that do not, why (for logs and `wraith doctor`). */
export async function blake3Backends(): Promise<Blake3BackendReport[]> {
  await initWasm();
  const n = native();
  const w = wasm();
  return [
    { name: 'native', available: 'blake3' in n, reason: 'reason' in n ? n.reason : null },
    { name: 'wasm', available: 'blake3' in w, reason: 'reason' in w ? w.reason : null },
    { name: 'noble', available: true, reason: null },
  ];
}
