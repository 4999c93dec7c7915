/**
 * A full disk on the receiver: the daemon's download directory is a small
 * tmpfs (root only; unmounted in afterAll whatever happens). The file is
 * admitted (it fits), then the test fills the file system while the file is
 * arriving: the sender must fail with E_NO_SPACE (exit 7, the I/O category)
 * within 2 s, nothing may appear under the final name, and the daemon must
 * still take the next (small) file once there is room again.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, stat, statfs, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needRoot, describeIf } from '../support/prereq.js';
import { Scope, allocatedBytes, findPartials, sha256File, writeRandomFile, type Daemon, type TestHome } from '../support/procs.js';

const MiB = 1024 * 1024;

describeIf(needRoot(), 'full disk on the receiver (tmpfs)', () => {
  const scope = new Scope('disk-full');
  let mnt = '';
  let daemon: Daemon;
  let tx: TestHome;

  beforeAll(async () => {
    mnt = join(await scope.tempDir('mnt'), 'fs');
    await mkdir(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', mnt]);
    // Runs after the processes are killed and before the temp dirs go, even when a test failed.
    scope.defer(() => {
      try {
        execFileSync('umount', [mnt]);
      } catch {
        execFileSync('umount', ['-l', mnt]);
      }
    });
    const rx = await scope.home('rx');
    tx = await scope.home('tx');
    daemon = await scope.daemon({ home: rx, output: mnt, minFree: '0' });
  });
  afterAll(() => scope.dispose());

  it('the disk fills during a transfer: E_NO_SPACE (exit 7) within 2 s, no final name, the daemon takes the next file', async () => {
    const src = join(await scope.tempDir('src'), 'big.bin');
    await writeRandomFile(src, 16 * MiB);
    const send = scope.send([src], daemon.peer(), { home: tx, args: ['--rate', '4MiB', '--reconnect-for', '0s'] });

    // Once some of it is on disk, take every free block that is left.
    let partial = '';
    await send.until(
      async () => {
        partial = (await findPartials(mnt))[0] ?? '';
        return partial !== '' && (await allocatedBytes(partial)) >= 2 * MiB;
      },
      60_000,
      'partly received',
      20,
    );
    const st = await statfs(mnt);
    const free = st.bavail * st.bsize;
    // dd stops with ENOSPC when the file system is full: that is the point.
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=64k', `count=${Math.ceil(free / 65536) + 16}`], { stdio: 'ignore' });
    } catch {
      // "No space left on device"
    }
    const fullAt = Date.now();
    const after = await statfs(mnt);
    expect(after.bavail).toBe(0);

    const r = await send.result(60_000);
    const seconds = (Date.now() - fullAt) / 1000;
    console.log(`disk full: the sender exited ${seconds.toFixed(2)} s later with code ${r.code}`);
    expect(r.code, send.describe()).toBe(7);
    const err = r.events.filter((e) => e.type === 'error').at(-1);
    expect(err, send.describe()).toMatchObject({ code: 'E_NO_SPACE', exit_code: 7 });
    expect(seconds).toBeLessThanOrEqual(2);
    expect(await readdir(mnt)).not.toContain('big.bin');
    // The partial is not kept on a full disk.
    expect(await findPartials(mnt)).toEqual([]);

    // Room again: the daemon still serves.
    await rm(join(mnt, 'filler'));
    const small = join(await scope.tempDir('small'), 'small.bin');
    const sent = await writeRandomFile(small, 100_000);
    const next = scope.send([small], daemon.peer(), { home: tx });
    const n = await next.result(60_000);
    expect(n.code, next.describe()).toBe(0);
    expect(await sha256File(join(mnt, 'small.bin'))).toBe(sent);
    expect(daemon.alive).toBe(true);
    expect(await readdir(mnt)).not.toContain('big.bin');
  }, 180_000);

  it('a file larger than the free space is refused at once with E_NO_SPACE (exit 7)', async () => {
    const src = join(await scope.tempDir('src'), 'huge.bin');
    await writeRandomFile(src, 40 * MiB);
    const send = scope.send([src], daemon.peer(), { home: tx });
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(7);
    expect(r.events.find((e) => e.type === 'error')).toMatchObject({ code: 'E_NO_SPACE', exit_code: 7 });
    expect(await readdir(mnt)).not.toContain('huge.bin');
    expect(await findPartials(mnt)).toEqual([]);
  }, 120_000);

  it('a file system out of inodes (bytes free): E_NO_SPACE says inodes, on both sides, and the files that fit arrive', async () => {
    const fs = join(await scope.tempDir('inodefs'), 'fs');
    await mkdir(fs);
    // nr_inodes counts the root directory and the download directory too.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,nr_inodes=12,mode=0700', 'tmpfs', fs]);
    scope.defer(() => execFileSync('umount', ['-l', fs]));
    const d = await scope.daemon({ home: await scope.home('rx-inodes'), output: fs, minFree: '0' });
    const tree = join(await scope.tempDir('tree'), 'tree');
    await mkdir(tree);
    const sums = new Map<string, string>();
    for (let i = 0; i < 20; i++) sums.set(`f${String(i).padStart(2, '0')}`, await writeRandomFile(join(tree, `f${String(i).padStart(2, '0')}`), 1000));
    const send = scope.send([tree], d.peer(), { home: tx, args: ['--reconnect-for', '0s'] });
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(7);
    const errors = r.events.filter((e) => e.type === 'error');
    expect(errors.length, send.describe()).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e, send.describe()).toMatchObject({ code: 'E_NO_SPACE', message: expect.stringMatching(/no free inodes left on its file system \(all 12 are in use/) });
    }
    expect(d.stderr).toMatch(/no free inodes left on its file system/);
    expect((await statfs(fs)).bavail).toBeGreaterThan(0);
    // What fitted arrived whole; nothing failed is left as a partial.
    const got = (await readdir(join(fs, 'tree'))).filter((n) => !n.startsWith('.'));
    expect(got.length + errors.length, send.describe()).toBe(20);
    for (const n of got) expect(await sha256File(join(fs, 'tree', n))).toBe(sums.get(n));
    expect(await findPartials(fs)).toEqual([]);
  }, 120_000);

  it('a home on a full file system: keygen, the daemon lock and the admin token fail with E_NO_SPACE (exit 7) and leave no empty or temp file', async () => {
    const fs = join(await scope.tempDir('homefs'), 'fs');
    await mkdir(fs);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', fs]);
    scope.defer(() => execFileSync('umount', ['-l', fs]));
    const home = join(fs, 'home');
    const ballast = join(fs, 'ballast');
    const fill = (): void => {
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${ballast}`, 'bs=4k'], { stdio: 'ignore' });
      } catch {
        // ENOSPC: full, as wanted
      }
    };
    const fails = async (args: string[], what: string): Promise<void> => {
      const r = await scope.run(['--home', home, ...args, '--json'], { name: what, timeoutMs: 30_000 });
      expect(r.code, `${what}: ${r.stdout}${r.stderr}`).toBe(7);
      expect(r.events.at(-1), what).toMatchObject({ type: 'error', code: 'E_NO_SPACE', hint: expect.stringMatching(/^free space on the file system that holds \//) });
      expect(r.events.at(-1)?.['hint']).toContain(home);
    };
    const daemonArgs = ['daemon', '--bind', '127.0.0.1:0', '--output', fs, '--admin-listen', '127.0.0.1:0'];

    await mkdir(home, { mode: 0o700 });
    fill();
    // keygen makes run/ and state/ (directories cost no blocks here); no file may be left.
    const files = async (): Promise<string[]> => (await readdir(home)).filter((n) => n !== 'run' && n !== 'state').sort();
    await fails(['keygen'], 'keygen');
    expect(await files()).toEqual([]);

    await rm(ballast);
    expect((await scope.run(['--home', home, 'keygen'])).code).toBe(0);
    const key = await readFile(join(home, 'identity.key'), 'utf8');
    fill();
    await fails(daemonArgs, 'daemon (lock)');
    await fails(['keygen', '--force'], 'keygen --force');
    expect(await readFile(join(home, 'identity.key'), 'utf8')).toBe(key);
    // Room for the lock but not the token.
    await truncate(ballast, (await stat(ballast)).size - 4096);
    await fails(daemonArgs, 'daemon (token)');
    expect(await files()).toEqual(['identity.key']);
    // Without the admin API the same room holds the lock, and run/daemon.json fails: the daemon
    // closes what it started and releases the lock.
    await fails(daemonArgs.slice(0, -1).concat('off'), 'daemon (run/daemon.json)');
    expect(await files()).toEqual(['identity.key']);
    expect(await readdir(join(home, 'run'))).toEqual([]);

    await rm(ballast);
    // A home provisioned with only its key (no run/ or state/) starts as well.
    await rm(join(home, 'run'), { recursive: true });
    await rm(join(home, 'state'), { recursive: true });
    const d = await scope.daemon({ home: { dir: home, peerId: '' }, output: fs, adminListen: '127.0.0.1:0' });
    expect(await readFile(join(home, 'admin.token'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(JSON.parse(await readFile(join(home, 'run', 'daemon.json'), 'utf8'))).toMatchObject({ pid: d.ready['pid'] });
    await d.terminate();
  }, 120_000);
});
