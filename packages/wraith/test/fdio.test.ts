import { fstatSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
