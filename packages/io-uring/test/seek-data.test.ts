// isHole and holeMap: lseek(SEEK_DATA) through the addon, for a hash pass that skips a sparse file's holes.
import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { holeMap, isHole } from '../src/index.js';
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

    it('holeMap: the pieces of a span that are all hole; null when none is, or the file is shorter', () => {
      const map = (offset: number, length: number, unit: number): number[] | null => {
        const m = holeMap(fd, offset, length, unit);
        return m === null ? null : Array.from(m);
      };
      // 8 MiB pieces of [24 MiB, 56 MiB): hole, data, hole, hole.
      expect(map(24 * MiB, 32 * MiB, 8 * MiB)).toEqual([1, 0, 1, 1]);
      // A piece that straddles the data's edge holds data; a short last piece up to the end is a hole.
      expect(map(31 * MiB, 33 * MiB, 2 * MiB)).toEqual([0, ...Array<number>(16).fill(1)]);
      expect(map(30 * MiB + 1, 3 * MiB, MiB)).toEqual([1, 0, 0]);
      expect(map(32 * MiB, MiB, 256 * 1024)).toBeNull(); // all data
      expect(map(0, 40 * MiB, 16 * MiB)).toEqual([1, 1, 0]); // the last piece: 8 MiB, from 32 MiB
      expect(map(40 * MiB, 24 * MiB + 1, MiB)).toBeNull(); // past the end: the read finds it short
      expect(map(0, 0, MiB)).toBeNull();
    });

    it('is false for a file that is all data, and for a closed fd', () => {
      const full = openSync(join(dir, 'full'), 'w+');
      writeSync(full, Buffer.alloc(MiB, 1));
      expect(isHole(full, 0, MiB)).toBe(false);
      expect(holeMap(full, 0, MiB, 4096)).toBeNull();
      closeSync(full);
      expect(holeMap(full, 0, MiB, 4096)).toBeNull();
      expect(isHole(full, 0, MiB)).toBe(false);
    });
  },
  false,
);
