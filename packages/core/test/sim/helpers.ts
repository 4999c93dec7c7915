import { createHash } from 'node:crypto';
import type { Blake3 } from '../../src/transfer/index.js';
import { nobleBlake3 } from '../../src/noble.js';

let fast: Blake3 = nobleBlake3;
try {
  const mod = (await import('@wraith/blake3')) as { loadBlake3Async?: (p: string) => Promise<Blake3> };
  if (mod.loadBlake3Async) fast = await mod.loadBlake3Async('auto');
} catch {
  // the reference hasher is correct, only slower
}
/** The fastest BLAKE3 available (native, else wasm, else the reference). */
export const fastBlake3: Blake3 = fast;

export function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
