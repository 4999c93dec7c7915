import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fdSetModeAndTime, fdSyncAndClose, fdTruncateNow } from '../src/store/fdio.js';

function isClosed(fd: number): boolean {
  try {
    fstatSync(fd);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EBADF';
  }
}

describe('fd helpers of the store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wraith-fdio-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sets size, mode and mtime, then fsyncs and closes', async () => {
    const path = join(dir, 'f');
    writeFileSync(path, 'abc');
    const fd = openSync(path, 'r+');
    fdTruncateNow(fd, 10_000);
    fdSetModeAndTime(fd, 0o100640, 1_700_000_000_123);
    await fdSyncAndClose(fd);
    expect(isClosed(fd)).toBe(true);
    const st = statSync(path);
    expect(st.size).toBe(10_000);
    expect(st.mode & 0o7777).toBe(0o640); // file-type bits are dropped
    expect(Math.round(st.mtimeMs)).toBe(1_700_000_000_123);
    expect(readFileSync(path).subarray(0, 3).toString()).toBe('abc');
  });

  it('sets the exact millisecond, to the nanosecond, with no microsecond lost to rounding', () => {
    const path = join(dir, 'f');
    writeFileSync(path, 'x');
    const fd = openSync(path, 'r+');
    try {
      // …001 ms was stored as …000999000 ns: ms / 1000 is a hair below it and libuv truncates.
      const cases = [0, 1, 999, 1_704_110_400_001, 1_795_460_579_866, 1_700_000_000_123, 4_102_444_799_999];
      for (let i = 0; i < 200; i++) cases.push(1_000_000_000_000 + Math.floor(Math.random() * 3_000_000_000_000));
      for (const ms of cases) {
        fdSetModeAndTime(fd, 0o644, ms);
        expect({ ms, ns: fstatSync(fd, { bigint: true }).mtimeNs }).toEqual({ ms, ns: BigInt(ms) * 1_000_000n });
      }
    } finally {
      closeSync(fd);
    }
  });

  it('closes the fd when fsync fails, and reports the fsync error', async () => {
    const fd = openSync('/dev/null', 'r'); // a character device: fsync gives EINVAL
    await expect(fdSyncAndClose(fd)).rejects.toMatchObject({ code: 'EINVAL', syscall: 'fsync' });
    expect(isClosed(fd)).toBe(true);
  });

  it('throws node-style errors for a bad fd', () => {
    expect(() => fdTruncateNow(987_654, 1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => fdSetModeAndTime(987_654, 0o644, 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
