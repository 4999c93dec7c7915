// refusesWrites: an EIO from a file system that is turning read-only is told from one bad file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { itIf, IS_ROOT } from '../../../test/support/prereq.js';
import { refusesWrites } from '../src/store/read-only.js';
import { tmpDir } from './helpers.js';

/** A tmpfs of our own under a temp dir, unmounted whatever happens. */
async function withTmpfs(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = join(tmpDir(), 'mnt');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'wraith-ro-test', dir]);
  try {
    await fn(dir);
  } finally {
    execFileSync('umount', [dir]);
  }
}

describe('refusesWrites', () => {
  it('a writable directory: false, after a second look, and it leaves nothing behind', async () => {
    const dir = tmpDir();
    const t0 = Date.now();
    expect(await refusesWrites(dir, 50)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a directory that is not there: false (not a read-only file system)', async () => {
    expect(await refusesWrites(join(tmpDir(), 'gone'), 1)).toBe(false);
  });

  itIf(IS_ROOT ? null : 'needs root (mount)', 'a file system mounted read-only: true at once', async () => {
    await withTmpfs(async (dir) => {
      execFileSync('mount', ['-o', 'remount,ro', dir]);
      const t0 = Date.now();
      expect(await refusesWrites(dir, 5000)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(2000);
    });
  });

  itIf(IS_ROOT ? null : 'needs root (mount)', 'one that turns read-only just after the error: true, on the second look', async () => {
    await withTmpfs(async (dir) => {
      const answer = refusesWrites(dir, 400);
      await new Promise((r) => setTimeout(r, 100));
      execFileSync('mount', ['-o', 'remount,ro', dir]);
      expect(await answer).toBe(true);
      execFileSync('mount', ['-o', 'remount,rw', dir]);
      expect(readdirSync(dir)).toEqual([]);
    });
  });
});
