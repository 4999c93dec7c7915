import { describe, expect, it } from 'vitest';
import { validateName } from '../../src/transfer/index.js';

const ok = [
  'a',
  'file.txt',
  'dir/sub/file',
  '.hidden',
  'a..b',
  '...',
  'dir/.config/x',
  'name with spaces',
  'ünïcödé/файл/文件',
  '😀/emoji',
  'x'.repeat(255),
  `${'é'.repeat(127)}a`, // 255 bytes of UTF-8
  Array.from({ length: 16 }, () => 'y'.repeat(255)).join('/').slice(0, 4096),
];

const bad: Array<[string, RegExp]> = [
  ['', /empty/],
  ['/etc/passwd', /absolute/],
  ['/', /absolute/],
  ['a//b', /empty component/],
  ['a/', /empty component/],
  ['..', /"\.\." component/],
  ['../x', /"\.\." component/],
  ['a/../b', /"\.\." component/],
  ['a/..', /"\.\." component/],
  ['.', /"\." component/],
  ['./a', /"\." component/],
  ['a/./b', /"\." component/],
  ['a\\b', /backslash/],
  ['..\\x', /backslash/],
  ['a\0b', /control character 0x00/],
  ['a\nb', /control character 0x0a/],
  ['tab\there', /control character 0x09/],
  ['del\x7f', /control character 0x7f/],
  ['esc\x1b[31m', /control character 0x1b/],
  ['csi\u009b2J', /control character 0x9b/],
  ['c1\u0085', /control character 0x85/],
  ['x'.repeat(256), /256 bytes, more than 255/],
  [`${'é'.repeat(128)}`, /256 bytes, more than 255/],
  [Array.from({ length: 17 }, () => 'y'.repeat(250)).join('/'), /bytes of UTF-8, more than 4096/],
  ['lone\ud800surrogate', /unpaired surrogate/],
  ['\udc00', /unpaired surrogate/],
];

describe('validateName', () => {
  it.each(ok)('accepts %j', (name) => {
    expect(() => validateName(name)).not.toThrow();
  });
  it.each(bad)('rejects %j', (name, why) => {
    let err: unknown;
    try {
      validateName(name);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'E_PATH_INVALID' });
    expect((err as Error).message).toMatch(why);
  });
  it('rejects non-strings', () => {
    expect(() => validateName(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'E_PATH_INVALID' }));
  });
});
