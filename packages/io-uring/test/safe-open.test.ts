// safeOpenBeneath and renameNoReplace, through the addon (openat2/renameat2)
// and through the portable fallbacks. Listed in test/no-native.list.
import { closeSync, existsSync, fstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWraithError, type WraithError } from '@wraith/core';
import { lockDirectory, renameNoReplace, safeOpenBeneath } from '../src/index.js';
import { openBeneathFallback, renameNoReplaceFallback } from '../src/safe-open.js';
import { describeNative, NO_NATIVE_PASS, tempDir } from './helpers.js';

async function failure(p: Promise<unknown>): Promise<WraithError> {
  try {
    await p;
  } catch (e) {
    if (!isWraithError(e)) throw new Error(`expected a WraithError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected a failure');
}

type Open = typeof safeOpenBeneath;
type Rename = typeof renameNoReplace;

function suite(open: Open, rename: Rename): void {
  let root: string;
  let dest: string;
  let outside: string;
  beforeAll(() => {
    root = tempDir('safe');
    dest = join(root, 'dest');
    outside = join(root, 'outside');
    mkdirSync(join(dest, 'sub'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'secret');
    // Planted links: a file link and a directory link, both escaping dest.
    symlinkSync(join(outside, 'secret'), join(dest, 'evil'));
    symlinkSync(outside, join(dest, 'evildir'));
    symlinkSync('sub', join(dest, 'innerlink')); // even a link staying inside is refused
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('opens and creates files beneath the directory', async () => {
    const fd = await open(dest, 'sub/new.bin', 'wx', 0o600);
    expect(fstatSync(fd).mode & 0o777).toBe(0o600);
    closeSync(fd);
    const again = await failure(open(dest, 'sub/new.bin', 'wx'));
    expect(again.code).toBe('E_EXISTS');
    const rfd = await open(dest, './sub//new.bin', 'r');
    closeSync(rfd);
  });

  it('refuses a planted symlink escaping the directory (file and directory links)', async () => {
    for (const [p, flags] of [['evil', 'r'], ['evil', 'w'], ['evildir/secret', 'r'], ['evildir/new', 'wx'], ['innerlink/x', 'w']] as const) {
      const e = await failure(open(dest, p, flags));
      expect(e.code, `${p} ${flags}`).toBe('E_PATH_INVALID');
    }
    expect(existsSync(join(outside, 'new'))).toBe(false);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
  });

  it('refuses absolute paths and ".." before touching the filesystem', async () => {
    for (const p of ['/etc/passwd', '../outside/secret', 'sub/../../outside/secret', '', 'a\0b']) {
      expect((await failure(open(dest, p, 'r'))).code).toBe('E_PATH_INVALID');
    }
  });

  it('reports a missing parent as E_NOT_FOUND', async () => {
    expect((await failure(open(dest, 'nope/file', 'w'))).code).toBe('E_NOT_FOUND');
  });

  it('renameNoReplace moves a file and refuses an existing target', async () => {
    const a = join(dest, 'a.part');
    const b = join(dest, 'b.final');
    writeFileSync(a, 'A');
    writeFileSync(b, 'B');
    const e = await failure(rename(a, b));
    expect(e.code).toBe('E_EXISTS');
    expect(readFileSync(b, 'utf8')).toBe('B');
    expect(readFileSync(a, 'utf8')).toBe('A');
    const c = join(dest, 'c.final');
    await rename(a, c);
    expect(existsSync(a)).toBe(false);
    expect(readFileSync(c, 'utf8')).toBe('A');
    expect((await failure(rename(join(dest, 'missing'), join(dest, 'x')))).code).toBe('E_NOT_FOUND');
  });
}

describeNative('safe open/rename: addon (openat2, renameat2)', () => suite(safeOpenBeneath, renameNoReplace), false);

describe('safe open/rename: portable fallback (lstat walk + O_NOFOLLOW, link + unlink)', () => {
  suite(openBeneathFallback, renameNoReplaceFallback);
});

describeNative('lockDirectory: flock on a directory', () => {
  it('takes it once, finds it held from another open file, frees it on close', () => {
    const dir = tempDir('lock');
    try {
      const a = lockDirectory(dir);
      expect(a).toMatchObject({ held: false });
      expect(lockDirectory(dir)).toEqual({ held: true }); // another open file, even in this process
      closeSync((a as { fd: number }).fd);
      const b = lockDirectory(dir);
      expect(b).toMatchObject({ held: false });
      closeSync((b as { fd: number }).fd);
      expect(() => lockDirectory(join(dir, 'missing'))).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}, false);

if (NO_NATIVE_PASS) {
  it('lockDirectory: null without the addon', () => {
    const dir = tempDir('lock');
    expect(lockDirectory(dir)).toBeNull();
    rmSync(dir, { recursive: true });
  });
}
