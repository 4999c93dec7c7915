/** Shared test helpers: temp dirs, a small tmpfs, and the native-or-skip rule. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIf, NO_NATIVE_PASS } from '../../../test/support/prereq.js';
import { nativeStatus } from '../src/index.js';
import { probeIoUring } from '../src/create.js';

export { NO_NATIVE_PASS };

/** Why io_uring tests cannot run here, or null. */
export function uringReason(): string | null {
  const st = nativeStatus();
  if (!st.available) return st.reason ?? 'native addon unavailable';
  const p = probeIoUring();
  return p.ok ? null : (p.reason ?? 'io_uring unavailable');
}

/**
 * describe() for tests that need the addon (and io_uring when `uring`). In the
 * deliberate no-native pass they are skipped with a notice, not failed: that
 * pass is about the fallbacks. Elsewhere describeIf's rules apply (skip with a
 * reason, or fail under WRAITH_CI=1).
 */
export function describeNative(name: string, fn: () => void, uring = true): void {
  if (NO_NATIVE_PASS) {
    // Not registered at all: that pass is about the fallbacks, so nothing is skipped.
    console.warn(`${name}: not run in the WRAITH_NO_NATIVE=1 pass (it tests the fallbacks only)`);
    return;
  }
  const st = nativeStatus();
  describeIf(uring ? uringReason() : st.available ? null : (st.reason ?? 'native addon unavailable'), name, fn);
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `wraith-io-${tag}-`));
}

/** Mounts a tmpfs of `size` on a new temp dir (root only). */
export function mountTmpfs(size: string): { dir: string; unmount: () => void } {
  const dir = tempDir('tmpfs');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  let mounted = true;
  return {
    dir,
    unmount: () => {
      if (mounted) {
        try {
          execFileSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
        } catch {
          // nothing was immutable, or chattr is absent
        }
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
        } catch {
          // Still busy (an fd left open by a failed test): detach it anyway.
          execFileSync('umount', ['-l', dir]);
        }
        mounted = false;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
