import { createHash } from 'node:crypto';
import { nobleBlake3, type Blake3 } from '../../src/transfer/index.js';

let fast: Blake3 = nobleBlake3;
try {
  const mod = (await import('@wraith/blake3')) as { loadBlake3?: (p: string) => Blake3 };
  if (mod.loadBlake3) fast = mod.loadBlake3('auto');
} catch {
  // the reference hasher is correct, only slower
}
/** The fastest BLAKE3 available (native, else wasm, else the reference). */
export const fastBlake3: Blake3 = fast;

export function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
