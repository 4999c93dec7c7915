import { describe, expect, it } from 'vitest';
import {
  chunkCount,
  chunkLog2,
  chunkRange,
  chunkSizeFromLog2,
  validateChunkSize,
  validateManifest,
  type FileManifest,
} from '../../src/transfer/index.js';

const base: FileManifest = {
  name: 'a/b.bin',
  kind: 'file',
  size: 100_000,
  chunkSize: 16384,
  mode: 0o644,
  mtimeMs: 1_700_000_000_000,
  root: new Uint8Array(32),
};

describe('chunk size', () => {
  it('accepts powers of two from 16 KiB to 16 MiB', () => {
    for (let l = 14; l <= 24; l++) {
      expect(() => validateChunkSize(2 ** l)).not.toThrow();
      expect(chunkLog2(2 ** l)).toBe(l);
      expect(chunkSizeFromLog2(l)).toBe(2 ** l);
    }
  });
  it.each([0, 1, 8192, 16383, 16385, 3 * 16384, 2 ** 25, -16384, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects %d with E_CHUNK_SIZE naming the value',
    (n) => {
      expect(() => validateChunkSize(n)).toThrow(expect.objectContaining({ code: 'E_CHUNK_SIZE', message: expect.stringContaining(String(n)) }));
    },
  );
  it('rejects chunk_log2 outside 14..24', () => {
    for (const l of [13, 25, 0, 14.5]) expect(() => chunkSizeFromLog2(l)).toThrow(expect.objectContaining({ code: 'E_CHUNK_SIZE' }));
  });
});

describe('chunking', () => {
  it('splits a file into chunks; the last one is short; an empty file has one empty chunk', () => {
    expect(chunkCount(base)).toBe(7);
    expect(chunkRange(base, 0)).toEqual({ offset: 0, length: 16384 });
    expect(chunkRange(base, 6)).toEqual({ offset: 6 * 16384, length: 100_000 - 6 * 16384 });
    expect(chunkCount({ ...base, size: 16384 * 3 })).toBe(3);
    expect(chunkRange({ ...base, size: 16384 * 3 }, 2)).toEqual({ offset: 32768, length: 16384 });
    expect(chunkCount({ ...base, size: 0 })).toBe(1);
    expect(chunkRange({ ...base, size: 0 }, 0)).toEqual({ offset: 0, length: 0 });
    expect(chunkCount({ ...base, kind: 'dir', size: 0 })).toBe(0);
    const huge = { ...base, size: Number.MAX_SAFE_INTEGER };
    expect(chunkCount(huge)).toBe(Math.ceil(Number.MAX_SAFE_INTEGER / 16384));
    const last = chunkCount(huge) - 1;
    expect(chunkRange(huge, last).offset + chunkRange(huge, last).length).toBe(Number.MAX_SAFE_INTEGER);
  });
  it('rejects chunk indexes outside the file', () => {
    for (const i of [-1, 7, 1.5]) expect(() => chunkRange(base, i)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
  });
});

describe('validateManifest', () => {
  it('accepts a well-formed file and directory', () => {
    expect(() => validateManifest(base)).not.toThrow();
    expect(() => validateManifest({ ...base, kind: 'dir', size: 0, mode: 0o755 })).not.toThrow();
    expect(() => validateManifest({ ...base, size: Number.MAX_SAFE_INTEGER, mode: 0o777, mtimeMs: 0 })).not.toThrow();
  });
  const cases: Array<[string, Partial<Record<keyof FileManifest, unknown>>, string]> = [
    ['negative size', { size: -1 }, 'E_MANIFEST'],
    ['fractional size', { size: 1.5 }, 'E_MANIFEST'],
    ['size above 2^53-1', { size: 2 ** 53 }, 'E_MANIFEST'],
    ['string size', { size: '10' }, 'E_MANIFEST'],
    ['directory with a size', { kind: 'dir', size: 10 }, 'E_MANIFEST'],
    ['unknown kind', { kind: 'link' }, 'E_MANIFEST'],
    ['setuid bit', { mode: 0o4755 }, 'E_MANIFEST'],
    ['file type bits', { mode: 0o100644 }, 'E_MANIFEST'],
    ['mode beyond 32 bits', { mode: 2 ** 40 }, 'E_MANIFEST'],
    ['negative mode', { mode: -1 }, 'E_MANIFEST'],
    ['negative mtime', { mtimeMs: -5 }, 'E_MANIFEST'],
    ['fractional mtime', { mtimeMs: 0.5 }, 'E_MANIFEST'],
    ['short root', { root: new Uint8Array(31) }, 'E_MANIFEST'],
    ['root not bytes', { root: 'ab'.repeat(32) }, 'E_MANIFEST'],
    ['bad chunk size', { chunkSize: 1000 }, 'E_CHUNK_SIZE'],
    ['escaping name', { name: '../x' }, 'E_PATH_INVALID'],
  ];
  it.each(cases)('rejects %s', (_what, patch, code) => {
    expect(() => validateManifest({ ...base, ...patch } as FileManifest)).toThrow(expect.objectContaining({ code }));
  });
});
