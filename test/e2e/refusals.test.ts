/**
 * What the CLI refuses, with the codes and exit codes of docs/CLI.md §9:
 * wrong peer id, an untrusted sender, a PEER without an id, a second daemon
 * on one home, and a key file that others can read. Each refusal is paired
 * with the same command succeeding once the one thing is fixed, so a test
 * cannot pass for an unrelated reason.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_NATIVE_PASS } from '../support/prereq.js';
import { Scope, freeUdpPort, randomTree, sha256File, writeRandomFile, type Daemon, type RunResult, type TestHome } from '../support/procs.js';

const scope = new Scope('refusals');
let rx: TestHome;
let tx: TestHome;
let daemon: Daemon;
let src: string;
let sent: string;

beforeAll(async () => {
  [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
  daemon = await scope.daemon({ home: rx });
  src = join(await scope.tempDir('src'), 'r.bin');
  sent = await writeRandomFile(src, 300_000);
});
const silent: Socket[] = [];
afterAll(async () => {
  for (const s of silent.splice(0)) s.close();
  await scope.dispose();
});

/** A port where a socket is bound but never answers (a closed port would answer ICMP port unreachable). */
async function silentPort(): Promise<number> {
  const s = createSocket('udp4');
  silent.push(s);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s.address().port;
}

/**
 * The NDJSON error line with the code and its exit code, and the process's exit code. A fatal
 * error is the last line; a per-file refusal (the session was up) is followed by nothing but
 * progress.
 */
function expectFatal(r: RunResult, code: string, exitCode: number, perFile = false): void {
  const what = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-3000)}`;
  expect(r.code, what).toBe(exitCode);
  const errors = r.events.filter((e) => e.type === 'error');
  expect(errors.length, what).toBeGreaterThan(0);
  const e = perFile ? errors[0] : r.events[r.events.length - 1];
  expect(e, what).toMatchObject({ v: 1, type: 'error', code, exit_code: exitCode });
  expect(typeof e?.['message']).toBe('string');
  expect(e).toHaveProperty('hint');
  expect(r.events.some((x) => x.type === 'completed'), what).toBe(false);
  if (perFile) expect(r.events.slice(r.events.indexOf(e!) + 1).every((x) => x.type === 'progress' || x.type === 'error'), what).toBe(true);
}

/** The human form on stderr: `error[CODE]: ...`. */
function expectHumanError(r: RunResult, code: string, exitCode: number): void {
  const what = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-3000)}`;
  expect(r.code, what).toBe(exitCode);
  expect(r.stderr, what).toContain(`error[${code}]`);
}

describe('refusals', () => {
  it('a wrong peer id: E_PEER_ID_MISMATCH, exit 4 (and the right id works)', async () => {
    const wrong = randomBytes(32).toString('hex');
    const r = await scope.send([src], `${wrong}@${daemon.addr}`, { home: tx }).result(60_000);
    expectFatal(r, 'E_PEER_ID_MISMATCH', 4);
    const ok = await scope.send([src], daemon.peer(), { home: tx }).result(60_000);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await sha256File(join(daemon.output, 'r.bin'))).toBe(sent);
  });

  it('an untrusted sender (no --auto-accept, not in trusted_peers): E_PEER_NOT_AUTHORIZED, exit 4; trusted: accepted', async () => {
    const strict = await scope.daemon({ home: await scope.home('strict'), autoAccept: false });
    const r = await scope.send([src], strict.peer(), { home: tx }).result(60_000);
    expectFatal(r, 'E_PEER_NOT_AUTHORIZED', 4, true);
    const h = await scope.run(['--home', tx.dir, 'send', src, '--to', strict.peer(), '--no-progress'], { timeoutMs: 60_000 });
    expectHumanError(h, 'E_PEER_NOT_AUTHORIZED', 4);
    await strict.terminate();
    // Nothing of an unauthorised sender reaches the disk, not even a partial file.
    expect(await readdir(strict.output)).toEqual([]);

    const trusting = await scope.daemon({ home: strict.home, autoAccept: false, output: strict.output, args: ['--trusted-peers', tx.peerId] });
    const ok = await scope.send([src], trusting.peer(), { home: tx }).result(60_000);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await sha256File(join(trusting.output, 'r.bin'))).toBe(sent);
    await trusting.terminate();
  });

  it("the receiver's download directory removed under the daemon: E_IO (its path only in the receiver's log), exit 7, not recreated; recreated: accepted", async () => {
    const d = await scope.daemon({ home: await scope.home('gone') });
    await rm(d.output, { recursive: true });
    const r = await scope.send([src], d.peer(), { home: tx }).result(60_000);
    expectFatal(r, 'E_IO', 7, true);
    // The sender is told what happened, not where the receiver keeps its files (its log has that).
    expect(String(r.events.find((e) => e.type === 'error')?.['message'])).toContain('download directory <download dir> is gone');
    expect(r.stdout).not.toContain(d.output);
    expect(d.stderr).toContain(`download directory ${d.output} is gone`);
    // A tree stops at it: the receiver ends the session, not one refusal per file of 300.
    const tree = join(await scope.tempDir('tree'), 'tree');
    await randomTree(tree, { files: 300, maxSize: 100, dirs: 3 });
    const t = await scope.send([tree], d.peer(), { home: tx, args: ['--reconnect-for', '60s'] }).result(60_000);
    expectFatal(t, 'E_IO', 7);
    expect(String(t.events.at(-1)?.['message'])).toMatch(/^the session to the peer closed \(E_IO: the receiver's download directory .* is gone/);
    expect(t.events.filter((e) => e.type === 'error').length).toBeLessThan(100);
    await expect(stat(d.output)).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(d.output);
    const ok = await scope.send([src], d.peer(), { home: tx }).result(60_000);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await sha256File(join(d.output, 'r.bin'))).toBe(sent);
    await d.terminate();
  });

  it('a PEER without an id: E_PEER_ID_REQUIRED, exit 2', async () => {
    const r = await scope.send([src], daemon.addr, { home: tx }).result(30_000);
    expectFatal(r, 'E_PEER_ID_REQUIRED', 2);
    const h = await scope.run(['--home', tx.dir, 'send', src, '--to', daemon.addr, '--no-progress'], { timeoutMs: 30_000 });
    expectHumanError(h, 'E_PEER_ID_REQUIRED', 2);
    // A malformed id is a different refusal with the same exit code.
    const bad = await scope.send([src], `abc@${daemon.addr}`, { home: tx }).result(30_000);
    expectFatal(bad, 'E_PEER_ID_INVALID', 2);
  });

  it('a closed port (ICMP port unreachable): E_PEER_UNREACHABLE at once, naming the address, exit 5; no retries for --reconnect-for', async () => {
    const port = await freeUdpPort();
    if (NO_NATIVE_PASS) {
      // node:dgram cannot read ICMP errors: a closed port is a silent one there (documented).
      const r = await scope.send([src], `${daemon.ready['peer_id'] as string}@127.0.0.1:${port}`, { home: tx, args: ['--handshake-timeout', '1s', '--reconnect-for', '2s'] }).result(60_000);
      expectFatal(r, 'E_HANDSHAKE_TIMEOUT', 5);
      return;
    }
    const r = await scope.send([src], `${daemon.ready['peer_id'] as string}@127.0.0.1:${port}`, { home: tx, args: ['--reconnect-for', '10m'] }).result(60_000);
    expectFatal(r, 'E_PEER_UNREACHABLE', 5);
    expect(r.events.at(-1)?.['message']).toBe(`could not connect: nothing listens on UDP port ${port} at 127.0.0.1 (ICMP port unreachable)`);
    expect(r.events.filter((e) => e.type === 'warning')).toEqual([]);
    // A host name says which of its addresses refused (localhost: ::1 and 127.0.0.1 both do).
    const named = await scope.send([src], `${daemon.ready['peer_id'] as string}@localhost:${port}`, { home: tx, args: ['--reconnect-for', '10m'] }).result(60_000);
    expectFatal(named, 'E_PEER_UNREACHABLE', 5);
    expect(named.events.at(-1)?.['message']).toMatch(new RegExp(`^could not connect to localhost:${port}: nothing listens on UDP port ${port} at (127\\.0\\.0\\.1|::1) \\(ICMP port unreachable\\)$`));
  });

  it('a silent address (a socket that never answers): a warning at once, then E_HANDSHAKE_TIMEOUT naming the address, exit 5 (and the daemon\'s address works)', async () => {
    const addr = `127.0.0.1:${await silentPort()}`;
    const t0 = Date.now();
    const r = await scope.send([src], `${daemon.ready['peer_id'] as string}@${addr}`, { home: tx, args: ['--handshake-timeout', '1s', '--reconnect-for', '3s'] }).result(60_000);
    expectFatal(r, 'E_HANDSHAKE_TIMEOUT', 5);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const warning = r.events.find((e) => e.type === 'warning');
    expect(warning?.['message']).toMatch(new RegExp(`^no answer from ${addr.replace(/\./g, '\\.')} yet \\(.+\\); dialling again for up to 3s \\(--reconnect-for\\)$`));
    expect(r.events.indexOf(warning!)).toBe(0); // before anything else: the command says why it waits
    expect(r.events.at(-1)?.['message']).toMatch(new RegExp(`^no wraith node answered at ${addr.replace(/\./g, '\\.')} \\([2-9] dials over \\d+s; last: `));
    const ok = await scope.send([src], daemon.peer(), { home: tx, args: ['--handshake-timeout', '1s', '--reconnect-for', '3s'] }).result(60_000);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('Ctrl-C while dialling a silent address stops at once: E_CANCELLED, exit 130, not the handshake timeout', async () => {
    const addr = `127.0.0.1:${await silentPort()}`;
    const s = scope.send([src], `${daemon.ready['peer_id'] as string}@${addr}`, { home: tx, args: ['--handshake-timeout', '30s', '--reconnect-for', '60s'] });
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    s.signal('SIGINT');
    const r = await s.result(60_000);
    expectFatal(r, 'E_CANCELLED', 130);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.events.at(-1)?.['message']).toBe('cancelled by the user while connecting');
  });

  it('a second daemon (or receive) on the same home: E_HOME_LOCKED, exit 3', async () => {
    const second = scope.spawn(['daemon', '--json', '--bind', '127.0.0.1:0', '--admin-listen', 'off', '--auto-accept'], { home: rx, name: 'second daemon' });
    const r = await second.result(30_000);
    expectFatal(r, 'E_HOME_LOCKED', 3);
    const recv = await scope.run(['receive', '--output', await scope.tempDir('recv'), '--bind', '127.0.0.1:0'], { home: rx, timeoutMs: 30_000 });
    expectHumanError(recv, 'E_HOME_LOCKED', 3);
    // The first daemon is unaffected.
    expect(daemon.alive).toBe(true);
    const ok = await scope.send([src], daemon.peer(), { home: tx }).result(60_000);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.events.find((e) => e.type === 'file')).toMatchObject({ name: 'r.bin', status: 'already_present' });
  });

  // The lock is a flock through the addon: the no-native pass has none (docs/CLI.md says so).
  if (!NO_NATIVE_PASS) {
    it('a second receiver on the same download directory, from another home: E_DOWNLOAD_DIR_LOCKED, exit 3', async () => {
      const other = await scope.home('rx-other');
      const second = scope.spawn(['daemon', '--json', '--bind', '127.0.0.1:0', '--admin-listen', 'off', '--auto-accept', '--output', daemon.output], { home: other, name: 'second daemon' });
      const r = await second.result(30_000);
      expectFatal(r, 'E_DOWNLOAD_DIR_LOCKED', 3);
      expect(r.events.at(-1)?.['message']).toContain(`is in use by another process (pid ${daemon.child.pid}: `);
      const recv = await scope.run(['receive', '--output', daemon.output, '--bind', '127.0.0.1:0'], { home: other, timeoutMs: 30_000 });
      expectHumanError(recv, 'E_DOWNLOAD_DIR_LOCKED', 3);
      // It left nothing behind: the next start on that home is not refused for its home lock.
      const own = await scope.daemon({ home: other });
      expect(own.alive).toBe(true);
      await own.terminate();
      expect(daemon.alive).toBe(true);
      // The first daemon still receives there.
      const ok = await scope.send([src], daemon.peer(), { home: tx }).result(60_000);
      expect(ok.code, ok.stderr).toBe(0);
    });

    it('a download directory removed and made again: the daemon moves its lock there; when another receiver locked it first, the daemon stops with E_DOWNLOAD_DIR_LOCKED, exit 3', async () => {
      const out = join(await scope.tempDir('remade'), 'in');
      const first = await scope.daemon({ home: await scope.home('remade1'), output: out });
      await rm(out, { recursive: true });
      await mkdir(out);
      await first.until(() => first.stderr.includes('its lock moved to the new one'), 10_000, 'the lock to move');
      const other = await scope.home('remade2');
      const refused = await scope.spawn(['daemon', '--json', '--bind', '127.0.0.1:0', '--admin-listen', 'off', '--output', out], { home: other, name: 'refused daemon' }).result(30_000);
      expectFatal(refused, 'E_DOWNLOAD_DIR_LOCKED', 3);
      expect(refused.events.at(-1)?.['message']).toContain(`(pid ${first.child.pid}: `);
      const ok = await scope.send([src], first.peer(), { home: tx }).result(60_000);
      expect(ok.code, ok.stderr).toBe(0);
      expect(await sha256File(join(out, 'r.bin'))).toBe(sent);

      // Removed again, and another receiver starts there before the daemon looks.
      await rm(out, { recursive: true });
      const second = await scope.daemon({ home: other, output: out });
      const r = await first.result(15_000);
      expectFatal(r, 'E_DOWNLOAD_DIR_LOCKED', 3);
      expect(r.events.at(-1)?.['message']).toContain(`(pid ${second.child.pid}: `);
      const mine = await scope.send([src], second.peer(), { home: tx }).result(60_000);
      expect(mine.code, mine.stderr).toBe(0);
      expect(await sha256File(join(out, 'r.bin'))).toBe(sent);
      await second.terminate();
    }, 120_000);
  }

  it('identity.key with mode 0644: E_HOME_PERMISSIONS naming the file and the chmod, exit 3', async () => {
    const home = await scope.home('perm');
    const key = join(home.dir, 'identity.key');
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    await chmod(key, 0o644);
    const d = scope.spawn(['daemon', '--json', '--bind', '127.0.0.1:0', '--admin-listen', 'off'], { home, name: 'daemon 0644' });
    const r = await d.result(30_000);
    expectFatal(r, 'E_HOME_PERMISSIONS', 3);
    const msg = `${String(r.events.at(-1)?.['message'])} ${String(r.events.at(-1)?.['hint'])}`;
    expect(msg).toContain(key);
    expect(msg).toMatch(/chmod/);
    const s = await scope.run(['send', src, '--to', daemon.peer(), '--no-progress'], { home, timeoutMs: 30_000 });
    expectHumanError(s, 'E_HOME_PERMISSIONS', 3);
    const id = await scope.run(['id'], { home, timeoutMs: 30_000 });
    expectHumanError(id, 'E_HOME_PERMISSIONS', 3);
    // Never fixed silently.
    expect((await stat(key)).mode & 0o777).toBe(0o644);

    await chmod(key, 0o600);
    const fixed = await scope.run(['id'], { home, timeoutMs: 30_000 });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout.trim()).toBe(home.peerId);
  });

  it('a home that others can read: E_HOME_PERMISSIONS, exit 3', async () => {
    const home = await scope.home('permdir');
    await chmod(home.dir, 0o755);
    const r = await scope.run(['id', '--json'], { home, timeoutMs: 30_000 });
    expectFatal(r, 'E_HOME_PERMISSIONS', 3);
    expect(String(r.events.at(-1)?.['message'])).toContain(home.dir);
    await chmod(home.dir, 0o700);
    const ok = await scope.run(['id'], { home, timeoutMs: 30_000 });
    expect(ok.code, ok.stderr).toBe(0);
  });
});

