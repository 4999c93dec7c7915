/** The doctor's download_dir check on real directories (the O_DIRECT answer checked against an open of our own). */
import { closeSync, constants, openSync, readdirSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeIf, needRoot } from '../../../../test/support/prereq.js';
import { downloadDirCheck } from '../../src/doctor/download-dir.js';
import { fsName } from '../../src/fs-kind.js';
import { tmpDir } from '../helpers.js';
import { lockDownloadDir } from '../../src/home/lock.js';

function directOpens(dir: string): boolean {
  const p = join(dir, 'oracle');
  try {
    closeSync(openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o600));
    return true;
  } catch {
    return false;
  } finally {
    try {
      unlinkSync(p);
    } catch {
      // never created
    }
  }
}

describe('download_dir', () => {
  it("names the holder of the directory's receiver lock: this home's daemon is fine, another process warns", async () => {
    const dir = tmpDir();
    expect((await downloadDirCheck({ dir, minFree: 0, directWrites: false })).detail).not.toMatch(/lock|in use/);
    const lock = lockDownloadDir(dir);
    try {
      const own = await downloadDirCheck({ dir, minFree: 0, directWrites: false, daemonPid: process.pid });
      expect(own.status).toBe('ok');
      expect(own.detail).toContain(`locked by this home's daemon (pid ${process.pid})`);
      const other = await downloadDirCheck({ dir, minFree: 0, directWrites: false, daemonPid: null });
      expect(other.status).toBe('warn');
      expect(other.detail).toMatch(new RegExp(`in use by another process \\(pid ${process.pid}: .*\\): a daemon or receive with this config fails with E_DOWNLOAD_DIR_LOCKED`));
    } finally {
      lock.release();
    }
    expect((await downloadDirCheck({ dir, minFree: 0, directWrites: false })).status).toBe('ok');
  });

  it('names the file system and free space, says whether O_DIRECT opens, and leaves nothing behind', async () => {
    const dir = tmpDir();
    const r = await downloadDirCheck({ dir, minFree: 0, directWrites: true });
    expect(r.status).toBe('ok');
    expect(r.detail).toContain(`${dir}: ${fsName(statfsSync(dir).type)}, `);
    expect(r.detail).toMatch(/ free, min_free 0 B; /);
    expect(r.detail).toContain(directOpens(dir) ? 'O_DIRECT: yes' : 'O_DIRECT: no');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a file system that refuses O_DIRECT is reported, and is not a problem', async () => {
    const dir = tmpDir();
    const r = await downloadDirCheck({ dir, minFree: 0, directWrites: true, openDirect: async () => ({ reason: 'EINVAL: the file system does not take O_DIRECT' }) });
    expect(r).toEqual({ status: 'ok', detail: expect.stringContaining('O_DIRECT: no (EINVAL: the file system does not take O_DIRECT); received files go through the page cache') });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('with direct_writes off it does not probe', async () => {
    let probed = false;
    const r = await downloadDirCheck({ dir: tmpDir(), minFree: 0, directWrites: false, openDirect: async () => ((probed = true), { reason: 'x' }) });
    expect(r.detail).toContain('O_DIRECT off ([io] direct_writes = false)');
    expect(probed).toBe(false);
  });

  it('less free space than min_free warns', async () => {
    const dir = tmpDir();
    const s = statfsSync(dir);
    const r = await downloadDirCheck({ dir, minFree: s.blocks * s.bsize, directWrites: true });
    expect(r.status).toBe('warn');
  });

  it('a directory that does not exist yet is created at start; one where no file can be created fails', async () => {
    const missing = join(tmpDir(), 'later');
    expect(await downloadDirCheck({ dir: missing, minFree: 0, directWrites: true })).toEqual({ status: 'ok', detail: `${missing} (created at start)` });
    const base = tmpDir();
    const notDir = join(base, 'file');
    writeFileSync(notDir, 'x');
    const r = await downloadDirCheck({ dir: notDir, minFree: 0, directWrites: true });
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('cannot create a file there (ENOTDIR)');
    expect(r.code).toBe('E_IO');
  });
});

describeIf(needRoot(), 'download_dir on a file system out of inodes', () => {
  it('fails with E_NO_SPACE naming inodes, not space or permission', async () => {
    const mnt = tmpDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,nr_inodes=2', 'tmpfs', mnt]);
    try {
      writeFileSync(join(mnt, 'last-inode'), 'x');
      const r = await downloadDirCheck({ dir: mnt, minFree: 0, directWrites: true });
      expect(r).toMatchObject({ status: 'fail', code: 'E_NO_SPACE' });
      expect(r.detail).toContain('cannot create a file there (no free inodes left on its file system (all 2 are in use; free bytes do not help), ENOSPC)');
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  });
});
