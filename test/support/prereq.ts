/**
 * Tests that need root, the native addon, a kernel feature or ../shared/vectors
 * run only where the prerequisite exists. Elsewhere they skip with a printed
 * reason; under WRAITH_CI=1 (set by .ci/run) a missing prerequisite fails.
 */
import { describe, it } from 'vitest';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VECTORS_DIR = join(REPO_ROOT, '..', 'shared', 'vectors');
export const IN_CI = process.env.WRAITH_CI === '1';
export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

/** `describe` when `reason` is null, otherwise a skip (or a CI failure) naming the reason. */
export function describeIf(reason: string | null, name: string, fn: () => void): void {
  if (reason === null) {
    describe(name, fn);
    return;
  }
  if (IN_CI) {
    describe(name, () => {
      it(`prerequisite: ${reason}`, () => {
        throw new Error(`prerequisite missing under WRAITH_CI=1: ${reason}`);
      });
    });
    return;
  }
  console.warn(`SKIP ${name}: ${reason}`);
  describe.skip(name, fn);
}

/** `it` when `reason` is null, otherwise a printed skip (a failure under WRAITH_CI=1). */
export function itIf(reason: string | null, name: string, fn: () => unknown, timeout?: number): void {
  if (reason === null) {
    it(name, fn, timeout);
    return;
  }
  if (IN_CI) {
    it(`${name} (prerequisite: ${reason})`, () => {
      throw new Error(`prerequisite missing under WRAITH_CI=1: ${reason}`);
    });
    return;
  }
  console.warn(`SKIP ${name}: ${reason}`);
  it.skip(name, fn);
}

/**
 * The deliberate second CI pass (WRAITH_NO_NATIVE=1) tests the JS fallbacks:
 * tests that exist only for the addon are not registered there at all.
 */
export const NO_NATIVE_PASS = process.env.WRAITH_NO_NATIVE === '1';

/** Path of a published vector file, or the reason it is absent. */
export function vectorFile(name: string): { path: string; missing: string | null } {
  const path = join(VECTORS_DIR, name);
  return { path, missing: existsSync(path) ? null : `${path} is absent (shared vectors not checked out)` };
}

export function needRoot(): string | null {
  return IS_ROOT ? null : 'needs root (network namespaces, bpf, AF_XDP)';
}
