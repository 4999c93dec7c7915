// nativeBeneath: the file store's seams over the addon (openat2 beneath, one-step lstat,
// renameat2, unlinkat, mkdirat), with node:fs-style errors. The store runs its whole suite over them too
// (packages/wraith/test/store.test.ts); here, their own contract.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nativeBeneath, type NativeBeneath } from '../src/index.js';
import { fsNative } from '../src/native.js';
import { describeNative, tempDir } from './helpers.js';

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
  throw new Error('expected a failure');
}

describeNative('nativeBeneath', () => {
  let root: string;
  let dest: string;
  let nb: NativeBeneath;
  beforeAll(() => {
    root = tempDir('beneath');
    dest = join(root, 'dest');
    mkdirSync(join(dest, 'sub'), { recursive: true });
    mkdirSync(join(root, 'outside'));
    writeFileSync(join(root, 'outside', 'secret'), 'secret');
    writeFileSync(join(dest, 'sub', 'f'), 'data');
    symlinkSync(join(root, 'outside'), join(dest, 'evildir'));
    symlinkSync(join(root, 'outside', 'secret'), join(dest, 'evil'));
    const n = nativeBeneath(dest);
    if (n === null) throw new Error('nativeBeneath returned null with the addon loaded');
    nb = n;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lstat: a file, a directory, a symlink itself (not followed), null for nothing', async () => {
    expect((await nb.lstat(dest, 'sub/f'))?.size).toBe(4);
    expect((await nb.lstat(dest, 'sub'))?.isDirectory()).toBe(true);
    expect((await nb.lstat(dest, 'evil'))?.isSymbolicLink()).toBe(true);
    expect((await nb.lstat(dest, 'evildir'))?.isSymbolicLink()).toBe(true);
    expect(await nb.lstat(dest, 'missing')).toBeNull();
    expect(await nb.lstat(dest, 'sub/missing/deeper')).toBeNull();
  });

  it('lstat refuses a symlink on the way (ELOOP), an escape (EXDEV) and a file as a directory (ENOTDIR)', async () => {
    expect(await code(nb.lstat(dest, 'evildir/secret'))).toBe('ELOOP');
    expect(await code(nb.lstat(dest, '../outside/secret'))).toBe('EXDEV');
    expect(await code(nb.lstat(dest, 'sub/f/x'))).toBe('ENOTDIR');
  });

  it('fsOpenat2 quiet: a failure comes back as -errno, nothing thrown; quiet must be a boolean', () => {
    const n = fsNative!;
    const c = n.fsConstants;
    const dfd = n.fsOpenat2(c.AT_FDCWD, dest, c.O_PATH | c.O_DIRECTORY, 0, 0);
    try {
      const beneath = c.RESOLVE_BENEATH | c.RESOLVE_NO_SYMLINKS;
      expect(n.fsOpenat2(dfd, 'missing', c.O_PATH | c.O_NOFOLLOW, 0, beneath, true)).toBe(-2); // ENOENT
      expect(n.fsOpenat2(dfd, 'evildir/secret', c.O_PATH | c.O_NOFOLLOW, 0, beneath, true)).toBe(-40); // ELOOP
      const fd = n.fsOpenat2(dfd, 'sub/f', c.O_PATH | c.O_NOFOLLOW, 0, beneath, true);
      expect(fd).toBeGreaterThanOrEqual(0);
      closeSync(fd);
      expect(() => n.fsOpenat2(dfd, 'missing', c.O_PATH, 0, beneath, false)).toThrow(/ENOENT|No such file/);
      expect(() => n.fsOpenat2(dfd, 'missing', c.O_PATH, 0, beneath, 1 as unknown as boolean)).toThrow(/quiet must be a boolean/);
    } finally {
      closeSync(dfd);
    }
  });

  it('open creates with the mode, never through a symlink', async () => {
    const fd = await nb.open(dest, 'sub/new', constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      expect(fstatSync(fd).mode & 0o777).toBe(0o600);
    } finally {
      closeSync(fd);
    }
    expect(await code(nb.open(dest, 'evil', constants.O_RDWR, 0))).toBe('ELOOP');
    expect(await code(nb.open(dest, 'evildir/planted', constants.O_RDWR | constants.O_CREAT, 0o600))).toBe('ELOOP');
    expect(existsSync(join(root, 'outside', 'planted'))).toBe(false);
    expect(readFileSync(join(root, 'outside', 'secret'), 'utf8')).toBe('secret');
  });

  it('renameBeneath: within a directory opened beneath root; never through a symlink; replaces only when asked', async () => {
    writeFileSync(join(dest, 'sub', 'p1'), 'one');
    writeFileSync(join(dest, 'sub', 'taken'), 'taken');
    expect(await code(nb.renameBeneath(dest, 'sub', 'p1', 'taken', true))).toBe('EEXIST');
    expect(readFileSync(join(dest, 'sub', 'taken'), 'utf8')).toBe('taken');
    await nb.renameBeneath(dest, 'sub', 'p1', 'final', true);
    expect(readFileSync(join(dest, 'sub', 'final'), 'utf8')).toBe('one');
    await nb.renameBeneath(dest, 'sub', 'final', 'taken', false); // replacing, as on_conflict = "overwrite"
    expect(readFileSync(join(dest, 'sub', 'taken'), 'utf8')).toBe('one');
    writeFileSync(join(dest, 'r1'), 'root');
    await nb.renameBeneath(dest, '', 'r1', 'r2', true);
    expect(readFileSync(join(dest, 'r2'), 'utf8')).toBe('root');
    // A directory that is a symlink (here to outside): refused, nothing moves there.
    writeFileSync(join(root, 'outside', 'x'), 'x');
    expect(await code(nb.renameBeneath(dest, 'evildir', 'x', 'moved', true))).toBe('ELOOP');
    expect(existsSync(join(root, 'outside', 'moved'))).toBe(false);
    expect(await code(nb.renameBeneath(dest, '..', 'x', 'moved', true))).toBe('EXDEV');
  });

  it('unlinkBeneath removes a file in a directory opened beneath root, never behind a symlink', async () => {
    writeFileSync(join(dest, 'sub', 'gone'), 'x');
    await nb.unlinkBeneath(dest, 'sub', 'gone');
    expect(existsSync(join(dest, 'sub', 'gone'))).toBe(false);
    writeFileSync(join(dest, 'top'), 'x');
    await nb.unlinkBeneath(dest, '', 'top');
    expect(existsSync(join(dest, 'top'))).toBe(false);
    // The same name behind the symlinked directory survives: by path, unlink would remove it.
    writeFileSync(join(root, 'outside', 'victim'), 'precious');
    expect(await code(nb.unlinkBeneath(dest, 'evildir', 'victim'))).toBe('ELOOP');
    expect(readFileSync(join(root, 'outside', 'victim'), 'utf8')).toBe('precious');
    expect(await code(nb.unlinkBeneath(dest, '..', 'victim'))).toBe('EXDEV');
    expect(await code(nb.unlinkBeneath(dest, '../outside', 'victim'))).toBe('EXDEV');
    expect(readFileSync(join(root, 'outside', 'victim'), 'utf8')).toBe('precious');
    expect(await code(nb.unlinkBeneath(dest, 'sub', 'missing'))).toBe('ENOENT');
    // The name is one component: 'evildir/victim' would resolve evildir by path again.
    expect(await code(nb.unlinkBeneath(dest, '', 'evildir/victim'))).toBe('EINVAL');
    expect(await code(nb.unlinkBeneath(dest, 'sub', '..'))).toBe('EINVAL');
    expect(readFileSync(join(root, 'outside', 'victim'), 'utf8')).toBe('precious');
    // A symlink as the name itself: the link goes, its target stays.
    symlinkSync(join(root, 'outside', 'victim'), join(dest, 'sub', 'ln'));
    await nb.unlinkBeneath(dest, 'sub', 'ln');
    expect(existsSync(join(dest, 'sub', 'ln'))).toBe(false);
    expect(readFileSync(join(root, 'outside', 'victim'), 'utf8')).toBe('precious');
  });

  it('mkdirBeneath creates with the mode less the umask, never through a symlink', async () => {
    const umask = process.umask();
    await nb.mkdirBeneath(dest, 'sub', 'made', 0o751);
    expect(statSync(join(dest, 'sub', 'made')).mode & 0o7777).toBe(0o751 & ~umask);
    await nb.mkdirBeneath(dest, '', 'made0700', 0o700);
    expect(statSync(join(dest, 'made0700')).mode & 0o7777).toBe(0o700 & ~umask);
    expect(await code(nb.mkdirBeneath(dest, 'sub', 'made', 0o700))).toBe('EEXIST');
    expect(await code(nb.mkdirBeneath(dest, '', 'evildir', 0o700))).toBe('EEXIST'); // not followed
    expect(await code(nb.mkdirBeneath(dest, 'evildir', 'planted', 0o700))).toBe('ELOOP');
    expect(await code(nb.mkdirBeneath(dest, '..', 'planted', 0o700))).toBe('EXDEV');
    expect(existsSync(join(root, 'outside', 'planted'))).toBe(false);
    expect(existsSync(join(root, 'planted'))).toBe(false);
    expect(await code(nb.mkdirBeneath(dest, 'nowhere', 'x', 0o700))).toBe('ENOENT');
    expect(await code(nb.mkdirBeneath(dest, '', 'evildir/planted', 0o700))).toBe('EINVAL');
  });

  it('fsUnlinkat and fsMkdirat check their arguments before any syscall; a bad fd is EBADF', () => {
    const n = fsNative!;
    const dfd = openSync(dest, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      expect(() => n.fsUnlinkat(-5, 'x', 0)).toThrow(/dirfd must be an fd or AT_FDCWD/);
      expect(() => n.fsUnlinkat(dfd, '', 0)).toThrow(/non-empty string/);
      expect(() => n.fsUnlinkat(dfd, 'a\0b', 0)).toThrow(/without NUL/);
      expect(() => n.fsUnlinkat(dfd, 'x', 1)).toThrow(/flags must be 0 or AT_REMOVEDIR/);
      expect(() => n.fsUnlinkat(dfd, 'x', 1.5)).toThrow(TypeError);
      expect(() => n.fsMkdirat(dfd, '', 0o700)).toThrow(/non-empty string/);
      expect(() => n.fsMkdirat(dfd, 'x', 0o10000)).toThrow(/mode must be/);
      expect(() => n.fsMkdirat(Number.NaN, 'x', 0o700)).toThrow(TypeError);
      mkdirSync(join(dest, 'rmdir-me'));
      expect(() => n.fsUnlinkat(dfd, 'rmdir-me', 0)).toThrow(expect.objectContaining({ errno: 21 })); // EISDIR
      n.fsUnlinkat(dfd, 'rmdir-me', n.fsConstants.AT_REMOVEDIR);
      expect(existsSync(join(dest, 'rmdir-me'))).toBe(false);
    } finally {
      closeSync(dfd);
    }
    // Far above any RLIMIT_NOFILE, so never open (a just-closed fd could be reused meanwhile).
    const badFd = 0x3fffffff;
    expect(() => n.fsUnlinkat(badFd, 'x', 0)).toThrow(expect.objectContaining({ errno: 9, syscall: expect.stringContaining('unlinkat(') })); // EBADF
    expect(() => n.fsMkdirat(badFd, 'x', 0o700)).toThrow(expect.objectContaining({ errno: 9, code: 'E_IO' }));
  });

  it('renameNoReplace moves, and never replaces (EEXIST)', async () => {
    writeFileSync(join(dest, 'a'), 'a');
    writeFileSync(join(dest, 'b'), 'b');
    expect(await code(nb.renameNoReplace(join(dest, 'a'), join(dest, 'b')))).toBe('EEXIST');
    expect(readFileSync(join(dest, 'b'), 'utf8')).toBe('b');
    await nb.renameNoReplace(join(dest, 'a'), join(dest, 'c'));
    expect(readFileSync(join(dest, 'c'), 'utf8')).toBe('a');
    expect(existsSync(join(dest, 'a'))).toBe(false);
  });
}, false);
