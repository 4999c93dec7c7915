// --exclude patterns: .gitignore's rules, matched against the path below a PATH.
import { describe, expect, it } from 'vitest';
import { compileExcludes, parseExcludeFile } from '../src/exclude.js';

describe('compileExcludes', () => {
  it.each([
    ['*.log', 'a.log', false, true],
    ['*.log', 'x/y/a.log', false, true],
    ['*.log', 'a.logs', false, false],
    ['cache/', 'cache', true, true],
    ['cache/', 'cache', false, false],
    ['cache/', 'a/cache', true, true],
    ['/tmp', 'tmp', true, true],
    ['/tmp', 'a/tmp', true, false],
    ['logs/*.gz', 'logs/a.gz', false, true],
    ['logs/*.gz', 'x/logs/a.gz', false, false],
    ['logs/*.gz', 'logs/d/a.gz', false, false],
    ['**/b', 'a/x/b', false, true],
    ['**/b', 'b', false, true],
    ['a/**/b', 'a/b', false, true],
    ['a/**/b', 'a/x/y/b', false, true],
    ['a/**', 'a/x/y', false, true],
    ['a/**', 'a', true, false],
    ['[ab].txt', 'a.txt', false, true],
    ['[!ab].txt', 'a.txt', false, false],
    ['[!ab].txt', 'c.txt', false, true],
    ['[a-c]x', 'bx', false, true],
    ['[]a]', ']', false, true],
    ['f?o', 'foo', false, true],
    ['f?o', 'f/o', false, false],
    ['\\*', '*', false, true],
    ['\\*', 'x', false, false],
    ['a.b', 'axb', false, false],
    ['(x)+', '(x)+', false, true],
    ['*', 'any/thing', false, true],
    // Literal patterns (looked up in sets) keep every rule: depth, anchoring, directories only.
    ['a\\[b', 'x/a[b', false, true],
    ['a\\[b', 'ab', false, false],
    ['/x/y', 'x/y', false, true],
    ['/x/y', 'z/x/y', false, false],
    ['x/y/', 'x/y', false, false],
    ['x/y/', 'x/y', true, true],
    ['name', 'a/b/name', true, true],
  ])('%s against %s (directory: %s) -> %s', (pattern, sub, dir, want) => {
    expect(compileExcludes([pattern]).excludes(sub, dir)).toBe(want);
  });

  it('a generated list of 200 000 names: each is matched as its pattern says, the others still by their rules', () => {
    const names = Array.from({ length: 200_000 }, (_, i) => `file-${i}.bin`);
    const ex = compileExcludes([...names.slice(0, 100_000), ...names.slice(100_000).map((n) => `/top/${n}`), 'keep/', '*.tmp']);
    expect(ex.excludes('deep/down/file-99999.bin', false)).toBe(true);
    expect(ex.excludes('top/file-150000.bin', false)).toBe(true);
    expect(ex.excludes('other/file-150000.bin', false)).toBe(false);
    expect(ex.excludes('file-200000.bin', false)).toBe(false);
    expect(ex.excludes('x/keep', true)).toBe(true);
    expect(ex.excludes('x/keep', false)).toBe(false);
    expect(ex.excludes('x/y.tmp', false)).toBe(true);
  });

  it('any of several patterns', () => {
    const ex = compileExcludes(['*.tmp', 'build/']);
    expect([ex.excludes('x.tmp', false), ex.excludes('build', true), ex.excludes('build', false), ex.excludes('src', true)]).toEqual([true, true, false, false]);
    expect(ex.patterns).toEqual(['*.tmp', 'build/']);
  });

  it.each([
    ['', 'it is empty'],
    ['/', 'it is empty'],
    ['a/../b', '".."'],
    ['./a', '"."'],
    ['a//b', 'empty'],
    ['a**', '"**" must be a whole component'],
    ['**a', '"**" must be a whole component'],
    ['[abc', 'without its "]"'],
    ['x\\', 'ends in a "\\"'],
    ['a\u0001', 'control character'],
  ])('%j is E_USAGE, naming the pattern and why', (pattern, why) => {
    expect(() => compileExcludes(['ok', pattern])).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining(why) }));
    expect(() => compileExcludes([pattern])).toThrow(`--exclude ${JSON.stringify(pattern)}: `);
  });
});

describe('parseExcludeFile', () => {
  it('a pattern per line; blank lines and # comments are not patterns; CRLF is a line end', () => {
    expect(parseExcludeFile('# build output\r\nbuild/\r\n\r\n  \n*.tmp\n#x\n')).toEqual(['build/', '*.tmp']);
  });
});
