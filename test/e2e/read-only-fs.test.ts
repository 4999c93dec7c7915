/**
 * A receiver's file system that goes read-only mid-transfer, as ext4 with errors=remount-ro does
 * after an I/O error (here set off through /sys/fs/ext4/DEV/trigger_fs_error on a loop image the
 * test made; root only, unmounted whatever happens). Every file would fail the same way, so the
 * session ends with E_IO naming the cause and the send stops (exit 7) instead of offering the rest
 * of its tree; no O_DIRECT fallback is tried, nothing appears under a final name, and the daemon
 * says what to do at error level. A sync in flight as ext4 aborts its journal fails with EIO, just
 * before the file system turns read-only: that is read as the read-only file system too.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needRoot, describeIf } from '../support/prereq.js';
import { Scope, allocatedBytes, findPartials, writeRandomFile, type Daemon, type TestHome } from '../support/procs.js';

const MiB = 1024 * 1024;

describeIf(needRoot(), 'a receiver file system that goes read-only (ext4, errors=remount-ro)', () => {
  const scope = new Scope('read-only-fs');
  let mnt = '';
  let loop = '';
  let daemon: Daemon;
  let tx: TestHome;

  beforeAll(async () => {
    const dir = await scope.tempDir('ext4');
    const image = join(dir, 'fs.img');
    mnt = join(dir, 'mnt');
    await mkdir(mnt);
    execFileSync('truncate', ['-s', '96M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    execFileSync('mount', ['-o', 'loop,errors=remount-ro', image, mnt]);
    // Runs after the processes are killed (the daemon's lock keeps the mount busy) and before
    // the temp dirs go, even when a test failed. The loop device is freed with the mount.
    scope.defer(() => {
      try {
        execFileSync('umount', [mnt]);
      } catch {
        execFileSync('umount', ['-l', mnt]);
      }
    });
    const dev = readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mnt)?.split(' ')[0] ?? '';
    loop = basename(dev);
    expect(loop).toMatch(/^loop\d+$/);
    await mkdir(join(mnt, 'in'), { mode: 0o700 });
    daemon = await scope.daemon({ home: await scope.home('rx'), output: join(mnt, 'in'), minFree: '0' });
    tx = await scope.home('tx');
  });
  afterAll(() => scope.dispose());

  it('mid-transfer: the session ends with E_IO naming the read-only file system (exit 7); the next send is turned away at once', async () => {
    const tree = join(await scope.tempDir('src'), 'tree');
    await mkdir(tree);
    await writeRandomFile(join(tree, 'a-big.bin'), 24 * MiB);
    for (let i = 0; i < 20; i++) await writeRandomFile(join(tree, `s${String(i).padStart(2, '0')}`), 1000);
    const send = scope.send([tree], daemon.peer(), { home: tx, args: ['--rate', '4MiB', '--reconnect-for', '0s'] });
    let partial = '';
    await send.until(
      async () => {
        partial = (await findPartials(join(mnt, 'in')))[0] ?? '';
        return partial !== '' && (await allocatedBytes(partial)) >= 2 * MiB;
      },
      60_000,
      'partly received',
      20,
    );
    writeFileSync(`/sys/fs/ext4/${loop}/trigger_fs_error`, '1');
    const roAt = Date.now();
    const r = await send.result(60_000);
    const seconds = (Date.now() - roAt) / 1000;
    expect(r.code, send.describe()).toBe(7);
    expect(seconds).toBeLessThanOrEqual(5);
    const errors = r.events.filter((e) => e.type === 'error');
    expect(errors.length, send.describe()).toBeGreaterThan(0);
    expect(String(errors[0]!['message']), send.describe()).toMatch(/^the receiver's download directory <download dir> is on a file system now mounted read-only \(EROFS\): (write\(|EROFS: read-only file system, fdatasync|EIO: i\/o error, fdatasync)/);
    for (const e of errors) expect(e, send.describe()).toMatchObject({ code: 'E_IO', exit_code: 7, message: expect.stringMatching(/read-only \(EROFS\)/) });
    expect(r.events.some((e) => e.type === 'completed')).toBe(false);
    expect(await readdir(join(mnt, 'in', 'tree')).catch(() => [])).not.toContain('a-big.bin');
    // Said once, at error level, with what to do; no O_DIRECT fallback was tried.
    expect(daemon.stderr.match(/"level":"error".*the download directory is on a read-only file system/g)?.length).toBe(1);
    expect(daemon.stderr).not.toContain('an O_DIRECT write failed');

    // The next send: its first offer is refused, the session ends, and the rest is not offered.
    const more = join(await scope.tempDir('more'), 'more');
    await mkdir(more);
    for (let i = 0; i < 50; i++) await writeRandomFile(join(more, `m${String(i).padStart(2, '0')}`), 1000);
    const next = scope.send([more], daemon.peer(), { home: tx, args: ['--reconnect-for', '0s'] });
    const n = await next.result(60_000);
    expect(n.code, next.describe()).toBe(7);
    const nErrors = n.events.filter((e) => e.type === 'error');
    expect(nErrors.at(-1), next.describe()).toMatchObject({ code: 'E_IO', message: expect.stringMatching(/mounted read-only \(EROFS\)/) });
    // The daemon said it once, not once for each file offered with it.
    expect(daemon.stderr.match(/"level":"warn"[^\n]*"msg":"offer refused"/g)?.length, daemon.stderr).toBe(1);
    expect(daemon.alive).toBe(true);
  }, 180_000);
});
