/**
 * `@wraith/blake3/native`: the native backend alone, self-tested, for a worker thread that
 * must start fast (the package index loads @wraith/core and WebAssembly, ~80 ms).
 */
import type { Blake3 } from '@wraith/core';
import { loadNative } from './native.js';
import { selfTest } from './self-test.js';

/** The native backend when it loads and passes the self-test, else the reason. */
export function loadNativeChecked(): { blake3: Blake3 } | { reason: string } {
  const r = loadNative();
  if ('reason' in r) return r;
  const bad = selfTest(r.blake3);
  return bad === null ? r : { reason: `native: ${bad}` };
}
