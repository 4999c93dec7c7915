import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isWraithError, type WraithError } from '@wraith/core';
import { x25519 } from '@noble/curves/ed25519.js';
import { checkPrivate, ensureHome, homePaths, openHome, resolveHomeDir } from '../src/home/home.js';
import { generateIdentity, loadIdentity } from '../src/home/identity.js';
import { acquireDaemonLock, flockHolder, lockDownloadDir, processStartTime, readLockHolder } from '../src/home/lock.js';
import { readRunInfo, removeRunInfo, requireRunInfo, writeRunInfo } from '../src/home/runinfo.js';
import { ensureAdminToken } from '../src/home/token.js';
import { tmpDir } from './helpers.js';

async function rejects(p: Promise<unknown>): Promise<WraithError> {
  try {
    await p;
  } catch (e) {
    if (isWraithError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

/** A pid that certainly does not run: a child that already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('home directory', () => {
  it('resolves --home, then $WRAITH_HOME, then ~/.config/wraith', () => {
    expect(resolveHomeDir('h', { WRAITH_HOME: '/e' }, '/cwd')).toBe('/cwd/h');
    expect(resolveHomeDir(undefined, { WRAITH_HOME: '/e' }, '/cwd')).toBe('/e');
    expect(resolveHomeDir(undefined, { HOME: '/home/u' }, '/cwd')).toBe('/home/u/.config/wraith');
  });

  it('creates the home 0700 with state/ and run/', async () => {
    const dir = join(tmpDir(), 'a', 'home');
    const home = await ensureHome(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(home.stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(home.runDir).mode & 0o777).toBe(0o700);
  });

  it('refuses a home that group or others can read or write, naming the path and the chmod', async () => {
    const dir = tmpDir();
    chmodSync(dir, 0o755);
    const err = await rejects(ensureHome(dir));
    expect(err.code).toBe('E_HOME_PERMISSIONS');
    expect(err.message).toContain(dir);
    expect(err.message).toContain('0755');
    expect(err.hint).toBe(`run: chmod 700 ${dir}`);
    expect(err.exitCode).toBe(3);
  });

  it('says how to create a missing home', async () => {
    const err = await rejects(openHome(join(tmpDir(), 'missing')));
    expect(err.code).toBe('E_NO_IDENTITY');
    expect(err.hint).toMatch(/wraith keygen/);
  });
});

describe('identity', () => {
  it('keygen writes a 0600 key with O_EXCL and refuses to overwrite without force', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    const a = await generateIdentity(home.identityFile);
    expect(statSync(home.identityFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(home.identityFile, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(a.peerId).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(x25519.getPublicKey(a.privateKey)).toString('hex')).toBe(a.peerId);

    const err = await rejects(generateIdentity(home.identityFile));
    expect(err.code).toBe('E_IDENTITY_EXISTS');
    expect((await loadIdentity(home.identityFile)).peerId).toBe(a.peerId); // untouched

    const b = await generateIdentity(home.identityFile, { force: true });
    expect(b.peerId).not.toBe(a.peerId);
    expect((await loadIdentity(home.identityFile)).peerId).toBe(b.peerId);
    expect(statSync(home.identityFile).mode & 0o777).toBe(0o600);
  });

  it('refuses a 0644 identity.key with E_HOME_PERMISSIONS', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    await generateIdentity(home.identityFile);
    chmodSync(home.identityFile, 0o644);
    const err = await rejects(loadIdentity(home.identityFile));
    expect(err.code).toBe('E_HOME_PERMISSIONS');
    expect(err.message).toContain(home.identityFile);
    expect(err.hint).toBe(`run: chmod 600 ${home.identityFile}`);
  });

  it('reports a missing or malformed key', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    expect((await rejects(loadIdentity(home.identityFile))).code).toBe('E_NO_IDENTITY');
    writeFileSync(home.identityFile, 'not a key\n', { mode: 0o600 });
    expect(await rejects(loadIdentity(home.identityFile))).toMatchObject({ code: 'E_CRYPTO_KEY', message: `${home.identityFile} is not an identity key: expected 64 hex characters (found other characters)` });
    writeFileSync(home.identityFile, `${'ab'.repeat(31)}\n`, { mode: 0o600 });
    expect((await rejects(loadIdentity(home.identityFile))).message).toContain('(found 62 hex characters)');
    writeFileSync(home.identityFile, '', { mode: 0o600 });
    const empty = await rejects(loadIdentity(home.identityFile));
    expect(empty.message).toContain('(the file is empty)');
    expect(empty.hint).toContain('changes the peer id');
  });

  it('reads a key whatever its line end or case: CRLF, no newline, upper case, a BOM', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    const id = await generateIdentity(home.identityFile);
    const hex = Buffer.from(id.privateKey).toString('hex');
    for (const text of [`${hex}\r\n`, hex, `${hex.toUpperCase()}\n`, `\uFEFF${hex}\n`, `  ${hex}\n\n`]) {
      writeFileSync(home.identityFile, text, { mode: 0o600 });
      expect((await loadIdentity(home.identityFile)).peerId, JSON.stringify(text)).toBe(id.peerId);
    }
  });

  it('checkPrivate refuses non-regular files', async () => {
    const dir = tmpDir();
    mkdirSync(join(dir, 'k'), { mode: 0o700 });
    expect((await rejects(checkPrivate(join(dir, 'k'), 'file'))).code).toBe('E_HOME_PERMISSIONS');
  });
});

describe('daemon lock', () => {
  it('refuses a second holder with E_HOME_LOCKED and frees on release', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    const lock = await acquireDaemonLock(home);
    const held = await readLockHolder(home.lockFile);
    expect(held?.holder?.pid).toBe(process.pid);
    const err = await rejects(acquireDaemonLock(home));
    expect(err.code).toBe('E_HOME_LOCKED');
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.exitCode).toBe(3);
    await lock.release();
    expect(existsSync(home.lockFile)).toBe(false);
    const again = await acquireDaemonLock(home);
    again.releaseSync();
    expect(existsSync(home.lockFile)).toBe(false);
  });

  it('recovers a stale lock left by a dead pid', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    const pid = deadPid();
    writeFileSync(home.lockFile, JSON.stringify({ pid, start: null, host: '' }));
    const lock = await acquireDaemonLock(home);
    expect((await readLockHolder(home.lockFile))?.holder?.pid).toBe(process.pid);
    await lock.release();
  });

  it('recovers a lock held by a zombie (killed, not yet reaped by its parent)', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    // The background sleep exits at once; its parent, exec'd into a long sleep, never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((r) => parent.stdout.once('data', (b: Buffer) => r(b.toString()))));
      const state = (): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0]!;
      for (let i = 0; i < 200 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 10));
      expect(state()).toBe('Z');
      writeFileSync(home.lockFile, JSON.stringify({ pid, start: processStartTime(pid), host: '' }));
      const lock = await acquireDaemonLock(home);
      expect((await readLockHolder(home.lockFile))?.holder?.pid).toBe(process.pid);
      await lock.release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('treats a live pid with another start time as reused (stale)', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    writeFileSync(home.lockFile, JSON.stringify({ pid: process.pid, start: '1', host: '' }));
    const lock = await acquireDaemonLock(home);
    await lock.release();
  });

  it('treats unreadable lock content as stale', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    writeFileSync(home.lockFile, 'garbage');
    const lock = await acquireDaemonLock(home);
    await lock.release();
  });

  it("another host's lock: stale once the flock on run/ is free (a container replaced after a crash), refused while it is held", async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    writeFileSync(home.lockFile, JSON.stringify({ pid: 1, start: '1', host: 'replaced-pod-7f9c' }));
    const lock = await acquireDaemonLock(home);
    expect((await readLockHolder(home.lockFile))?.holder?.pid).toBe(process.pid);
    await lock.release();
    expect(existsSync(home.lockFile)).toBe(false);

    writeFileSync(home.lockFile, JSON.stringify({ pid: 1, start: '1', host: 'live-pod' }));
    const holder = spawn('flock', ['-x', home.runDir, 'sh', '-c', 'echo locked; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    try {
      await new Promise<void>((r) => holder.stdout.once('data', () => r()));
      const err = await rejects(acquireDaemonLock(home));
      expect(err.code).toBe('E_HOME_LOCKED');
      expect(err.message).toBe(`home ${home.dir} is in use by a daemon (pid 1 on live-pod)`);
      expect(readFileSync(home.lockFile, 'utf8')).toContain('live-pod'); // untouched
      // A dead holder's file while the flock is held: the flock's holder is named.
      writeFileSync(home.lockFile, JSON.stringify({ pid: deadPid(), start: null, host: '' }));
      expect((await rejects(acquireDaemonLock(home))).message).toBe(`home ${home.dir} is in use by a daemon (pid ${holder.pid})`);
    } finally {
      try {
        process.kill(-holder.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  it('a live holder on this host without the flock (a node without the addon) still counts', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && processStartTime(child.pid!) === null; i++) await new Promise((r) => setTimeout(r, 10));
      writeFileSync(home.lockFile, JSON.stringify({ pid: child.pid, start: processStartTime(child.pid!), host: hostname() }));
      const err = await rejects(acquireDaemonLock(home));
      expect(err.message).toBe(`home ${home.dir} is in use by a daemon (pid ${child.pid})`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('release leaves a lock that is not ours alone', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    const lock = await acquireDaemonLock(home);
    writeFileSync(home.lockFile, JSON.stringify({ pid: 1, start: null, host: '' }));
    await lock.release();
    expect(existsSync(home.lockFile)).toBe(true);
  });
});

describe('download directory lock', () => {
  it('refuses a second holder, also through a symlink, writes nothing there, and frees on release', () => {
    const base = tmpDir();
    const dir = join(base, 'in', 'coming'); // created 0700, parents too
    const first = lockDownloadDir(dir);
    expect(first.dir).toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    symlinkSync(dir, join(base, 'link'));
    let err: WraithError | null = null;
    try {
      lockDownloadDir(join(base, 'link'));
    } catch (e) {
      err = e as WraithError;
    }
    expect(err?.code).toBe('E_DOWNLOAD_DIR_LOCKED');
    expect(err?.exitCode).toBe(3);
    expect(err?.message).toMatch(new RegExp(`^download directory ${join(base, 'link')} \\(${dir}\\) is in use by another process \\(pid ${process.pid}: .*node`));
    expect(readdirSync(dir)).toEqual([]);
    first.release();
    first.release(); // twice is harmless
    lockDownloadDir(dir).release();
  });

  it('is held by another process until it dies, and names it', async () => {
    const dir = join(tmpDir(), 'in');
    mkdirSync(dir);
    // Its own process group: the command flock(1) forks inherits the locked file, so both go.
    const holder = spawn('flock', ['-x', dir, 'sh', '-c', 'echo locked; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    const killAll = (): void => {
      try {
        process.kill(-holder.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    };
    try {
      await new Promise<void>((r) => holder.stdout.once('data', () => r()));
      let msg = '';
      try {
        lockDownloadDir(dir);
      } catch (e) {
        msg = (e as Error).message;
      }
      // flock(1) takes the lock, then forks the command: its own pid is the one /proc/locks shows.
      expect(msg).toContain(`is in use by another process (pid ${holder.pid}: flock -x ${dir} sh -c`);
      const exited = new Promise((r) => holder.once('exit', r));
      killAll();
      await exited;
      for (let i = 0; i < 100 && readFileSync('/proc/locks', 'utf8').includes(`:${statSync(dir).ino} `); i++) await new Promise((r) => setTimeout(r, 10));
      lockDownloadDir(dir).release();
    } finally {
      killAll();
    }
  });

  it('recheck: a directory removed and made again gets the lock; one another receiver locked first is refused', () => {
    const dir = join(tmpDir(), 'in');
    const first = lockDownloadDir(dir);
    expect(first.recheck()).toBe('same');
    rmSync(dir, { recursive: true });
    expect(first.recheck()).toBe('gone');
    mkdirSync(dir);
    expect(first.recheck()).toBe('moved');
    expect(first.recheck()).toBe('same');
    expect(() => lockDownloadDir(dir)).toThrow(/is in use by another process/);
    // Made again, and another receiver starts there before the next check.
    rmSync(dir, { recursive: true });
    const second = lockDownloadDir(dir);
    let err: WraithError | null = null;
    try {
      first.recheck();
    } catch (e) {
      err = e as WraithError;
    }
    expect(err?.code).toBe('E_DOWNLOAD_DIR_LOCKED');
    first.release();
    expect(second.recheck()).toBe('same');
    second.release();
    lockDownloadDir(dir).release();
  });

  it('recheck follows the directory as resolved at start, as the store does: a symlink re-pointed elsewhere does not move the lock', () => {
    const base = tmpDir();
    mkdirSync(join(base, 'v1'));
    mkdirSync(join(base, 'v2'));
    symlinkSync(join(base, 'v1'), join(base, 'incoming'));
    const lock = lockDownloadDir(join(base, 'incoming'));
    rmSync(join(base, 'incoming'));
    symlinkSync(join(base, 'v2'), join(base, 'incoming'));
    expect(lock.recheck()).toBe('same');
    expect(() => lockDownloadDir(join(base, 'v1'))).toThrow(/is in use by another process/);
    lockDownloadDir(join(base, 'v2')).release();
    lock.release();
  });

  it('reads the holder from /proc/locks by major:minor:inode', () => {
    const locks = [
      '1: POSIX  ADVISORY  WRITE 100 fe:00:12 0 EOF',
      '2: FLOCK  ADVISORY  WRITE 200 00:1b:169492 0 EOF',
      '2: -> FLOCK  ADVISORY  WRITE 300 00:1b:169492 0 EOF',
      '3: FLOCK  ADVISORY  WRITE 400 103:02:7 0 EOF',
    ].join('\n');
    expect(flockHolder(0x1b, 169492, locks)).toBe(200);
    expect(flockHolder((0x103 << 8) | 2, 7, locks)).toBe(400); // major over 255 (nvme)
    expect(flockHolder(0xfe00, 12, locks)).toBeNull(); // a POSIX lock is not ours
    expect(flockHolder(0x1b, 169493, locks)).toBeNull();
  });
});

describe('run info (daemon.json) and admin token', () => {
  it('writes atomically, reads back while the pid lives, ignores a dead one', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    expect(await readRunInfo(home)).toBeNull();
    expect((await rejects(requireRunInfo(home))).code).toBe('E_DAEMON_NOT_RUNNING');
    const info = { pid: process.pid, peer_id: 'ab'.repeat(32), udp_addrs: ['0.0.0.0:40000'], admin_url: 'http://127.0.0.1:40080', transport: 'udp' };
    await writeRunInfo(home, info);
    expect(statSync(home.runInfoFile).mode & 0o777).toBe(0o600);
    expect(await readRunInfo(home)).toEqual(info);
    await writeRunInfo(home, { ...info, pid: deadPid() });
    expect(await readRunInfo(home)).toBeNull();
    await removeRunInfo(home);
    expect(existsSync(home.runInfoFile)).toBe(false);
  });

  it('creates the admin token once, 0600', async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    const t1 = await ensureAdminToken(home);
    expect(t1).toMatch(/^[0-9a-f]{64}$/);
    expect(await ensureAdminToken(home)).toBe(t1);
    expect(statSync(homePaths(home.dir).adminTokenFile).mode & 0o777).toBe(0o600);
  });
});
