/** The addon, loaded from ESM through createRequire; null when unavailable. */
import { createRequire } from 'node:module';
import type { FsNative, UringNative } from '@wraith/native';

const require = createRequire(import.meta.url);
const mod = require('@wraith/native') as { native: Record<string, unknown> | null; loadError: string | null };

function has(name: string): boolean {
  return mod.native !== null && typeof mod.native[name] !== 'undefined';
}

/** The io_uring part of the addon, or null (with uringMissing() saying why). */
export const uringNative: UringNative | null = has('UringRing') ? (mod.native as unknown as UringNative) : null;
/** The safe-fs helpers of the addon, or null. */
export const fsNative: FsNative | null = has('fsOpenat2') ? (mod.native as unknown as FsNative) : null;

/** Whether the addon loaded, and why not. */
export function nativeStatus(): { available: boolean; reason?: string } {
  if (mod.native === null) return { available: false, reason: mod.loadError ?? 'native addon unavailable' };
  if (uringNative === null || fsNative === null) {
    return { available: false, reason: 'the native addon was built without the io_uring/fs area' };
  }
  return { available: true };
}
