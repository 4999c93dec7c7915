// isHole: lseek(SEEK_DATA) through the addon, for a hash pass that skips a sparse file's holes.
import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isHole } from '../src/index.js';
import { describeNative, tempDir } from './helpers.js';

const MiB = 1024 * 1024;

describeNative(
  'isHole',
  () => {
    let dir: string;
    let fd: number;
    beforeAll(() => {
      dir = tempDir('seek-data');
      fd = openSync(join(dir, 'sparse'), 'w+');
      ftruncateSync(fd, 64 * MiB);
      writeSync(fd, Buffer.alloc(MiB, 7), 0, MiB, 32 * MiB); // data in [32 MiB, 33 MiB)
    });
    afterAll(() => {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    });

    it('is true only for spans with no data, up to the end of the file', () => {
      expect(isHole(fd, 0, 16 * MiB)).toBe(true);
      expect(isHole(fd, 0, 32 * MiB)).toBe(true);
      expect(isHole(fd, 0, 32 * MiB + 1)).toBe(false);
      expect(isHole(fd, 32 * MiB, 4096)).toBe(false);
      expect(isHole(fd, 40 * MiB, 24 * MiB)).toBe(true); // a hole to the end
      expect(isHole(fd, 40 * MiB, 24 * MiB + 1)).toBe(false); // past the end: the read finds it short
      expect(isHole(fd, 70 * MiB, 1)).toBe(false);
      expect(isHole(fd, 0, 0)).toBe(false);
    });

    it('is false for a file that is all data, and for a closed fd', () => {
      const full = openSync(join(dir, 'full'), 'w+');
      writeSync(full, Buffer.alloc(MiB, 1));
      expect(isHole(full, 0, MiB)).toBe(false);
      closeSync(full);
      expect(isHole(full, 0, MiB)).toBe(false);
    });
  },
  false,
);
