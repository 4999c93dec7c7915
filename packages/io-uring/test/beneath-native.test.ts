// nativeBeneath: the file store's seams over the addon (openat2 beneath, one-step lstat,
// renameat2), with node:fs-style errors. The store runs its whole suite over them too
// (packages/wraith/test/store.test.ts); here, their own contract.
import { closeSync, existsSync, fstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nativeBeneath, type NativeBeneath } from '../src/index.js';
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
