/** send_roots: realpath containment, ".." and symlink escapes, prefix siblings, symlinked roots. */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isWraithError } from '@wraith/core';
import { isWithin, resolveSendPath } from '../../src/admin/send-roots.js';
import { tmpDir } from '../helpers.js';

let base: string;
let root: string;
beforeAll(() => {
  base = realpathSync(tmpDir('wraith-roots-'));
  root = join(base, 'root');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'sub', 'a.bin'), 'a');
  mkdirSync(join(base, 'root2'));
  writeFileSync(join(base, 'root2', 'b.bin'), 'b');
  writeFileSync(join(base, 'secret'), 's');
  symlinkSync(join(base, 'secret'), join(root, 'escape'));
  symlinkSync(base, join(root, 'up'));
  symlinkSync(join(root, 'sub', 'a.bin'), join(root, 'inner'));
  symlinkSync(root, join(base, 'root-link'));
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (isWraithError(e)) return e.code;
    throw e;
  }
}

describe('resolveSendPath', () => {
  it('no roots: E_ADMIN_SEND_DISABLED whatever the path', async () => {
    expect(await code(resolveSendPath(join(root, 'sub', 'a.bin'), []))).toBe('E_ADMIN_SEND_DISABLED');
  });

  it('a file or directory inside a root resolves to its realpath', async () => {
    expect(await resolveSendPath(join(root, 'sub', 'a.bin'), [root])).toBe(join(root, 'sub', 'a.bin'));
    expect(await resolveSendPath(join(root, 'sub'), [root])).toBe(join(root, 'sub'));
    expect(await resolveSendPath(root, [root])).toBe(root);
    expect(await resolveSendPath(join(root, 'inner'), [root])).toBe(join(root, 'sub', 'a.bin'));
  });

  it('".." out of the root is refused', async () => {
    expect(await code(resolveSendPath(join(root, '..', 'secret'), [root]))).toBe('E_ADMIN_PATH_OUTSIDE');
    expect(await code(resolveSendPath(join(root, 'sub', '..', '..', 'secret'), [root]))).toBe('E_ADMIN_PATH_OUTSIDE');
    expect(await code(resolveSendPath(`${root}/../root2/b.bin`, [root]))).toBe('E_ADMIN_PATH_OUTSIDE');
  });

  it('a symlink inside the root that points outside is refused', async () => {
    expect(await code(resolveSendPath(join(root, 'escape'), [root]))).toBe('E_ADMIN_PATH_OUTSIDE');
    expect(await code(resolveSendPath(join(root, 'up', 'secret'), [root]))).toBe('E_ADMIN_PATH_OUTSIDE');
    expect(await code(resolveSendPath(join(root, 'up', 'root', 'sub', 'a.bin'), [root]))).toBe('ok');
  });

  it('a sibling whose name starts with the root name is outside', async () => {
    expect(await code(resolveSendPath(join(base, 'root2', 'b.bin'), [root]))).toBe('E_ADMIN_PATH_OUTSIDE');
  });

  it('a root given through a symlink still contains its files; a missing root contains nothing', async () => {
    expect(await resolveSendPath(join(root, 'sub', 'a.bin'), [join(base, 'root-link')])).toBe(join(root, 'sub', 'a.bin'));
    expect(await resolveSendPath(join(base, 'root-link', 'sub', 'a.bin'), [root])).toBe(join(root, 'sub', 'a.bin'));
    expect(await code(resolveSendPath(join(root, 'sub', 'a.bin'), [join(base, 'missing')]))).toBe('E_ADMIN_PATH_OUTSIDE');
  });

  it('missing path: E_NOT_FOUND; relative: E_API_VALIDATION; through a file: E_API_VALIDATION', async () => {
    expect(await code(resolveSendPath(join(root, 'nope'), [root]))).toBe('E_NOT_FOUND');
    expect(await code(resolveSendPath('sub/a.bin', [root]))).toBe('E_API_VALIDATION');
    expect(await code(resolveSendPath(join(root, 'sub', 'a.bin', 'x'), [root]))).toBe('E_API_VALIDATION');
  });

  it('isWithin compares whole components', () => {
    expect(isWithin('/a/b', '/a/b')).toBe(true);
    expect(isWithin('/a/b', '/a/b/c')).toBe(true);
    expect(isWithin('/a/b', '/a/bc')).toBe(false);
    expect(isWithin('/a/b', '/a')).toBe(false);
    expect(isWithin('/a/b', '/a/b/..c')).toBe(true);
    expect(isWithin('/', '/x')).toBe(true);
  });
});
