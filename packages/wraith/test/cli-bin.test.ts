/**
 * The installed entry point: `node packages/wraith/bin/wraith.js` as a child process, against the
 * compiled dist/. The build (`tsc -b packages/wraith`) runs first when dist/ is older than src/.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, REPO_ROOT, itIf } from '../../../test/support/prereq.js';
import { buildCliIfStale, tmpDir } from './helpers.js';

const PKG = join(REPO_ROOT, 'packages', 'wraith');
const BIN = join(PKG, 'bin', 'wraith.js');
const NOBODY = IS_ROOT
  ? { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).split(':')[2]) }
  : { uid: -1, gid: -1 };

beforeAll(buildCliIfStale, 180_000);

function wraith(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tmpDir(), ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('bin/wraith.js', () => {
  it('--help shows an example and the exit-code table', () => {
    const r = wraith(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Examples:\n  $ wraith ');
    expect(r.out).toMatch(/Exit codes:\n +0 {2}success[\s\S]*\n +3 {2}config[\s\S]*\n +130 {2}cancelled/);
    const send = wraith(['send', '--help']);
    expect(send.out).toContain('--to <PEER>');
    expect(send.out).toContain('Exit codes:');
  });

  it('--version names the protocol and the native addon', () => {
    const r = wraith(['--version']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wraith \S+\nprotocol 1\nnative addon: /);
  });

  it('keygen then id print the same peer id', () => {
    const home = join(tmpDir(), 'h');
    const k = wraith(['keygen'], { WRAITH_HOME: home });
    expect(k.code).toBe(0);
    expect(k.out).toMatch(/^[0-9a-f]{64}\n$/);
    expect(wraith(['--home', home, 'id']).out).toBe(k.out);
    const again = wraith(['--home', home, 'keygen']);
    expect(again.code).toBe(3);
    expect(again.err).toContain('error[E_IDENTITY_EXISTS]');
  });

  it('config check: good -> 0, bad -> 3 with the key path on stderr', () => {
    const dir = tmpDir();
    writeFileSync(join(dir, 'good.toml'), '[network]\nlisten_addr = "[::]:40000"\n');
    writeFileSync(join(dir, 'bad.toml'), '[network]\nmax_datagram_size = 70000\n');
    const good = wraith(['config', 'check', join(dir, 'good.toml')], { WRAITH_HOME: join(dir, 'h') });
    expect(good.code).toBe(0);
    const bad = wraith(['config', 'check', join(dir, 'bad.toml')], { WRAITH_HOME: join(dir, 'h') });
    expect(bad.code).toBe(3);
    expect(bad.err).toContain('error[E_CONFIG]: config: network.max_datagram_size: expected an integer between 1200 and 65507, found 70000');
    expect(bad.err).toContain(`hint: fix network.max_datagram_size in ${join(dir, 'bad.toml')}`);
  });

  it('a usage error exits 2', () => {
    const r = wraith(['send', '/etc/hostname']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error\[E_USAGE\]: required option '--to <PEER>' not specified/);
  });

  it('send PATH: "-" is not standard input (exit 2); a missing PATH is E_NOT_FOUND (exit 7), before any home is needed', () => {
    const peer = `${'ab'.repeat(32)}@127.0.0.1:9`;
    const dash = wraith(['send', '-', '--to', peer]);
    expect(dash.code).toBe(2);
    expect(dash.err).toContain('error[E_USAGE]: wraith sends files, not standard input ("-")');
    const missing = join(tmpDir(), 'nope');
    const gone = wraith(['send', missing, '--to', peer]);
    expect(gone.code).toBe(7);
    expect(gone.err).toContain(`error[E_NOT_FOUND]: ${missing}: no such file or directory`);
  });

  it('send PATH that is a device, a FIFO or on procfs: a usage error (exit 2) before anything starts, not a skip that exits 0', () => {
    const peer = `${'ab'.repeat(32)}@127.0.0.1:9`;
    const fifo = join(tmpDir(), 'fifo');
    spawnSync('mkfifo', [fifo]);
    for (const [path, what] of [['/dev/null', 'is a character device'], [fifo, 'is a FIFO'], ['/proc/cpuinfo', 'is on procfs, whose files have no fixed size']]) {
      const r = wraith(['send', path!, '--to', peer]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain(`error[E_USAGE]: ${path} ${what}: wraith sends regular files and directories`);
    }
  });

  // A system user whose home directory does not exist yet (useradd --system makes none).
  itIf(IS_ROOT ? null : 'needs root (setpriv to nobody)', 'keygen where the home cannot be created: E_PERMISSION (exit 7) and a hint to create it', () => {
    const parent = tmpDir();
    chmodSync(parent, 0o755);
    const home = join(parent, 'wraith');
    const r = spawnSync('setpriv', ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups', process.execPath, BIN, '--home', home, 'keygen'], {
      cwd: '/', encoding: 'utf8', env: { PATH: process.env.PATH },
    });
    expect(r.status, r.stderr).toBe(7);
    expect(r.stderr).toContain(`error[E_PERMISSION]: cannot create home ${home}: EACCES`);
    expect(r.stderr).toContain('hint: create it (mode 0700, owned by the user that runs wraith)');
  });

  // A drop-box directory this user may write into but not list: no lock can be taken on it, and
  // the receiver starts anyway, saying so.
  itIf(IS_ROOT ? null : 'needs root (setpriv to nobody)', 'receive into a directory it cannot read: runs without the download directory lock, with a warning', () => {
    const parent = tmpDir();
    chmodSync(parent, 0o755);
    const home = join(parent, 'home');
    const out = join(parent, 'drop');
    mkdirSync(home, { mode: 0o700 });
    mkdirSync(out, { mode: 0o333 });
    chownSync(home, NOBODY.uid, NOBODY.gid);
    chownSync(out, NOBODY.uid, NOBODY.gid);
    chmodSync(out, 0o333);
    const asNobody = (args: string[], timeout?: number) =>
      spawnSync('setpriv', ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups', process.execPath, BIN, '--home', home, ...args], {
        cwd: '/', encoding: 'utf8', env: { PATH: process.env.PATH }, ...(timeout !== undefined ? { timeout, killSignal: 'SIGTERM' as const } : {}),
      });
    expect(asNobody(['keygen']).status).toBe(0);
    const r = asNobody(['receive', '--output', out, '--bind', '127.0.0.1:0', '--log-level', 'warn'], 4000);
    expect(r.stderr).toContain('no lock on the download directory: it cannot be locked here (EACCES); a second receiver started there would not be refused');
    expect(r.stdout + r.stderr).toContain('wraith receiving as ');
  });
});
