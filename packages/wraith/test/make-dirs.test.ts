import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirsSync } from '../src/fsutil.js';
import { tmpDir } from './helpers.js';

describe('makeDirsSync', () => {
  it('creates every missing component with the mode, and accepts an existing directory', () => {
    const base = tmpDir();
    const deep = join(base, 'a', 'b', 'c');
    makeDirsSync(deep, 0o750);
    for (const d of [join(base, 'a'), join(base, 'a', 'b'), deep]) expect(statSync(d).mode & 0o777).toBe(0o750);
    makeDirsSync(deep, 0o700); // already there: nothing to do
    expect(statSync(deep).mode & 0o777).toBe(0o750);
  });

  it('fails at once where the kernel will not make the directory (a path under /proc): Node\'s recursive mkdir spins there', () => {
    expect(() => makeDirsSync('/proc/wraith-test/x', 0o700)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('a file in the way is ENOTDIR', () => {
    const base = tmpDir();
    writeFileSync(join(base, 'f'), 'x');
    expect(() => makeDirsSync(join(base, 'f'), 0o700)).toThrow(expect.objectContaining({ code: 'ENOTDIR', message: `${join(base, 'f')} exists and is not a directory` }));
    // Below the file too, naming the file (not the path asked for).
    expect(() => makeDirsSync(join(base, 'f', 'sub', 'dir'), 0o700)).toThrow(expect.objectContaining({ code: 'ENOTDIR', message: `${join(base, 'f')} exists and is not a directory` }));
  });
});
