import { describe, expect, it } from 'vitest';
import { parseDest } from '../src/dest.js';
import { validateRelativeName } from '../src/store/names.js';

describe('parseDest (send --dest, the admin API\'s dest)', () => {
  it('takes a relative directory, with or without a trailing slash', () => {
    expect(parseDest('backups')).toBe('backups');
    expect(parseDest('nightly/2026-11-24/')).toBe('nightly/2026-11-24');
    expect(parseDest('café/données')).toBe('café/données');
  });

  it.each([
    ['', 'the name is empty'],
    ['/', 'the name is empty'],
    ['/srv/in', 'absolute paths are not allowed'],
    ['../up', '".." components are not allowed'],
    ['a/./b', '"." components are not allowed'],
    ['a//b', 'empty path component'],
    ['a\nb', 'control characters are not allowed'],
    ['a\\b', 'backslashes are not allowed'],
    ['x'.repeat(256), 'a component is longer than 255 bytes'],
  ])('refuses %j as a usage error that says why: %s', (value, why) => {
    let err: unknown;
    try {
      parseDest(value, 'dest');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'E_USAGE', message: `dest ${JSON.stringify(value)}: ${why}` });
  });

  it('what it takes, the receiver takes as the start of a name', () => {
    for (const d of ['backups', 'a/b/c/', 'space in it']) expect(() => validateRelativeName(`${parseDest(d)}/file.bin`)).not.toThrow();
  });
});
