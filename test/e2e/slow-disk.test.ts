/**
 * A receiver whose disk is slower than the network: its download directory is an ext4 image on
 * a loop device, its writes throttled to 2 MiB/s by a blkio cgroup the daemon is moved into
 * (root only; everything is undone in the scope's cleanup, also when a test fails). Every byte is
 * sent long before it is on the disk; the sender's progress must then follow the disk (the
 * receiver's WRITTEN messages), not stand at 100 % with no ETA.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, needRoot } from '../support/prereq.js';
import { Scope, sha256File, writeRandomFile, type Daemon, type TestHome } from '../support/procs.js';

const MiB = 1024 * 1024;
const BLKIO = '/sys/fs/cgroup/blkio';

function prerequisite(): string | null {
  return needRoot() ?? (existsSync(join(BLKIO, 'blkio.throttle.write_bps_device')) ? null : `no cgroup v1 blkio controller at ${BLKIO}`);
}

describeIf(prerequisite(), 'a receiver disk slower than the network (blkio-throttled loop ext4)', () => {
  const scope = new Scope('slow-disk');
  let mnt = '';
  let daemon: Daemon;
  let tx: TestHome;

  beforeAll(async () => {
    const dir = await scope.tempDir('disk');
    const img = join(dir, 'disk.img');
    mnt = join(dir, 'mnt');
    await mkdir(mnt);
    execFileSync('truncate', ['-s', '128M', img]);
    execFileSync('mkfs.ext4', ['-q', '-F', img]);
    const loop = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
    const cgroup = join(BLKIO, `wraith-test-${process.pid}`);
    // After the processes are killed: the cgroup can go once empty, the image once unmounted.
    scope.defer(async () => {
      try {
        execFileSync('umount', [mnt]);
      } catch {
        execFileSync('umount', ['-l', mnt]);
      }
      execFileSync('losetup', ['-d', loop]);
      if (existsSync(cgroup)) await rmdir(cgroup);
    });
    execFileSync('mount', [loop, mnt]);
    await mkdir(cgroup);
    const majMin = execFileSync('lsblk', ['-dno', 'MAJ:MIN', loop], { encoding: 'utf8' }).trim();
    await writeFile(join(cgroup, 'blkio.throttle.write_bps_device'), `${majMin} ${2 * MiB}\n`);
    [tx, daemon] = await Promise.all([scope.home('tx'), scope.home('rx').then((rx) => scope.daemon({ home: rx, output: join(mnt), args: ['--max-buffer-bytes', '4MiB'] }))]);
    await writeFile(join(cgroup, 'cgroup.procs'), `${daemon.child.pid}\n`);
  });
  afterAll(() => scope.dispose());

  it('once all is sent, progress shows the bytes on the receiver disk (bytes_written) and an ETA at its pace; the file arrives identical', async () => {
    const src = join(await scope.tempDir('src'), 'slow.bin');
    const sent = await writeRandomFile(src, 12 * MiB);
    const send = scope.spawn(['send', src, '--to', daemon.peer(), '--json', '--reconnect-for', '0s'], { home: tx, name: 'send' });
    const r = await send.result(120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(join(mnt, 'slow.bin'))).toBe(sent);

    const progress = r.events.filter((e) => e.type === 'progress');
    const finishing = progress.filter((e) => e['receiver_finishing'] === true);
    // 4 MiB of window at 2 MiB/s: about two seconds with every byte sent and the disk behind.
    expect(finishing.length, JSON.stringify(progress)).toBeGreaterThanOrEqual(1);
    const written = finishing.map((e) => e['bytes_written'] as number | undefined);
    expect(written.every((w) => typeof w === 'number' && w >= 4 * MiB && w < 12 * MiB), JSON.stringify(finishing)).toBe(true);
    expect([...written].sort((a, b) => a! - b!)).toEqual(written); // it only grows
    expect(finishing.some((e) => typeof e['eta_s'] === 'number' && (e['eta_s'] as number) > 0), JSON.stringify(finishing)).toBe(true);
  });
});
