import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { ensureHome } from '../src/home/home.js';
import { acquireDaemonLock } from '../src/home/lock.js';
import { writeRunInfo } from '../src/home/runinfo.js';
import { memIo, tmpDir } from './helpers.js';

const ID = 'ab'.repeat(32);

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const io = memIo(env);
  const code = await main(argv, io);
  return { code, out: io.stdout.text, err: io.stderr.text, io };
}

function freshHome(): string {
  return join(tmpDir(), 'home');
}

describe('help', () => {
  const commands = [[], ['keygen'], ['id'], ['daemon'], ['receive'], ['send'], ['demo'], ['config'], ['config', 'check'], ['config', 'show'], ['status'], ['transfers'], ['peers'], ['cancel'], ['doctor'], ['hash'], ['completion']];
  it.each(commands)('%s --help shows an example and the exit-code table', async (...cmd) => {
    const { code, out } = await run([...cmd, '--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/\nExamples:\n {2}\$ wraith /);
    expect(out).toMatch(/Exit codes:\n +0 {2}success\n +1 .*\n +2 {2}usage.*\n +3 {2}config.*\n +4 .*\n +5 .*\n +6 .*\n +7 .*\n +130 {2}cancelled/);
  });

  it('daemon --help lists a flag for the config keys', async () => {
    const { out } = await run(['daemon', '--help']);
    for (const f of ['--transport', '--xdp-interface', '--admin-listen', '--io-backend', '--crypto-backend', '--rx-ring-size', '--tx-ring-size',
      '--umem-size', '--umem-huge-pages', '--batch-size', '--lock-memory', '--no-lock-memory', '--cpus', '--bind', '--output', '--auto-accept', '--verbose', '--json', '--config']) {
      expect(out).toContain(f);
    }
  });

  it('prints the version, the protocol version and the native addon status', async () => {
    const { code, out } = await run(['--version']);
    expect(code).toBe(0);
    expect(out).toMatch(/^wraith \d+\.\d+\.\d+\nprotocol 1\nnative addon: .+\nnode v/);
  });

  it('no command: help on stderr, exit 2', async () => {
    const { code, err } = await run([]);
    expect(code).toBe(2);
    expect(err).toContain('Usage: wraith');
    const group = await run(['config']);
    expect(group.code).toBe(2);
    expect(group.err).toContain('Usage: wraith config');
  });

  it('unknown commands and options are usage errors (exit 2)', async () => {
    for (const argv of [['bogus'], ['id', '--nope'], ['send', 'x']]) {
      const { code, err } = await run(argv);
      expect(code).toBe(2);
      expect(err).toMatch(/^error\[E_USAGE\]: [^\n]+\n {2}hint: [^\n]+\n$/);
    }
  });
});

describe('keygen and id', () => {
  it('creates the home and key, prints the id; refuses to overwrite without --force', async () => {
    const home = freshHome();
    const k = await run(['--home', home, 'keygen']);
    expect(k.code).toBe(0);
    const id = k.out.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await run(['--home', home, 'id'])).out).toBe(`${id}\n`);
    expect((await run(['id'], { WRAITH_HOME: home })).out).toBe(`${id}\n`);

    const again = await run(['--home', home, 'keygen']);
    expect(again.code).toBe(3);
    expect(again.err).toMatch(/^error\[E_IDENTITY_EXISTS\]: .*identity\.key already exists\n {2}hint: pass --force/);

    const forced = await run(['--home', home, 'keygen', '--force', '--json']);
    expect(forced.code).toBe(0);
    const line = JSON.parse(forced.out) as Record<string, unknown>;
    expect(line).toMatchObject({ v: 1, type: 'identity', transfer_id: null, created: true });
    expect(line.peer_id).not.toBe(id);
  });

  it('refuses an identity readable by others (exit 3)', async () => {
    const home = freshHome();
    await run(['--home', home, 'keygen']);
    chmodSync(join(home, 'identity.key'), 0o644);
    const { code, err } = await run(['--home', home, 'id']);
    expect(code).toBe(3);
    expect(err).toContain('error[E_HOME_PERMISSIONS]');
    expect(err).toContain(`chmod 600 ${join(home, 'identity.key')}`);
  });

  it('id without a home says to run keygen', async () => {
    const { code, err } = await run(['--home', freshHome(), 'id']);
    expect(code).toBe(3);
    expect(err).toMatch(/E_NO_IDENTITY[\s\S]*wraith keygen/);
  });
});

describe('config', () => {
  it('check: a good file exits 0, a bad one exits 3 naming the key', async () => {
    const dir = tmpDir();
    writeFileSync(join(dir, 'good.toml'), '[transfer]\nchunk_size = "1MiB"\n');
    writeFileSync(join(dir, 'bad.toml'), '[transfer]\nchunk_size = 1000\n');
    const good = await run(['--home', freshHome(), 'config', 'check', join(dir, 'good.toml')]);
    expect(good.code).toBe(0);
    expect(good.out).toBe(`ok: ${join(dir, 'good.toml')}\n`);
    const bad = await run(['--home', freshHome(), 'config', 'check', join(dir, 'bad.toml')]);
    expect(bad.code).toBe(3);
    expect(bad.err).toContain('error[E_CONFIG]: config: transfer.chunk_size: expected a power of two between 16384 and 16777216, found 1000');
    const json = await run(['--home', freshHome(), 'config', 'check', join(dir, 'bad.toml'), '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out)).toMatchObject({ v: 1, type: 'error', transfer_id: null, code: 'E_CONFIG', exit_code: 3 });
    expect(json.err).toBe('');
  });

  it('show: flags override, JSON has numbers', async () => {
    const { code, out } = await run(['--home', freshHome(), 'config', 'show', '--json', '--chunk-size', '1MiB', '--cpus', '0,2-3', '--no-udp-fallback', '--admin-listen', 'off']);
    expect(code).toBe(0);
    const c = JSON.parse(out) as { transfer: { chunk_size: number }; xdp: { cpus: number[] }; network: { udp_fallback: boolean }; admin: { listen: string } };
    expect(c.transfer.chunk_size).toBe(2 ** 20);
    expect(c.xdp.cpus).toEqual([0, 2, 3]);
    expect(c.network.udp_fallback).toBe(false);
    expect(c.admin.listen).toBe('off');
    const toml = await run(['--home', freshHome(), 'config', 'show']);
    expect(toml.out).toContain('[network]\nlisten_addr = "[::]:40000"');
  });

  it('a bad flag value names the flag and the key (exit 3)', async () => {
    const { code, err } = await run(['--home', freshHome(), 'config', 'show', '--chunk-size', '1000']);
    expect(code).toBe(3);
    expect(err).toContain('config: --chunk-size (transfer.chunk_size): expected a power of two');
    const t = await run(['--home', freshHome(), 'config', 'show', '--transport', 'tcp']);
    expect(t.err).toContain('--transport (network.transport): expected one of "auto", "udp", "xdp", found "tcp"');
  });
});

describe('node commands: argument checks and failures', () => {
  async function withKey(): Promise<string> {
    const home = freshHome();
    await run(['--home', home, 'keygen']);
    return home;
  }

  it('send: validates the peer, rate, duration and paths first', async () => {
    const home = await withKey();
    const file = join(tmpDir(), 'f');
    writeFileSync(file, 'x');
    const noId = await run(['--home', home, 'send', file, '--to', '10.0.0.2:40000']);
    expect(noId.code).toBe(2);
    expect(noId.err).toContain('error[E_PEER_ID_REQUIRED]');
    const badId = await run(['--home', home, 'send', file, '--to', 'abc@10.0.0.2:40000']);
    expect(badId.err).toContain('error[E_PEER_ID_INVALID]');
    const rate = await run(['--home', home, 'send', file, '--to', `${ID}@h:1`, '--rate', 'fast']);
    expect(rate.code).toBe(2);
    expect(rate.err).toContain('--rate: expected bytes per second');
    const dur = await run(['--home', home, 'send', file, '--to', `${ID}@h:1`, '--reconnect-for', '10']);
    expect(dur.err).toContain('--reconnect-for: expected a duration');
    const missing = await run(['--home', home, 'send', join(tmpDir(), 'nope'), '--to', `${ID}@h:1`]);
    expect(missing.code).toBe(7);
    // Nothing listens on this port: the kernel's ICMP port unreachable ends the dial (network category, exit 5).
    const ok = await run(['--home', home, 'send', file, '--to', `${ID}@[::1]:9`, '--rate', '500Mbit', '--reconnect-for', '0s', '--handshake-timeout', '500ms']);
    expect(ok.code).toBe(5);
    expect(ok.err).toContain('error[E_PEER_UNREACHABLE]: could not connect: nothing listens on UDP port 9 at ::1');
  });

  it('send --json reports errors as an NDJSON line on stdout', async () => {
    const home = await withKey();
    const { code, out, err } = await run(['--home', home, 'send', '/etc/hostname', '--to', '10.0.0.2:1', '--json']);
    expect(code).toBe(2);
    expect(err).toBe('');
    expect(JSON.parse(out)).toMatchObject({ v: 1, type: 'error', code: 'E_PEER_ID_REQUIRED', exit_code: 2, hint: expect.any(String) });
  });

  it('send resolves a [peers.NAME] entry', async () => {
    const home = await withKey();
    writeFileSync(join(home, 'config.toml'), `[peers.backup]\nid = "${ID}"\naddr = "127.0.0.1:9"\n`);
    const named = await run(['--home', home, 'send', '/etc/hostname', '--to', 'backup', '--reconnect-for', '0s', '--handshake-timeout', '500ms']);
    expect(named.err).toContain('error[E_PEER_UNREACHABLE]: could not connect: nothing listens on UDP port 9 at 127.0.0.1');
    const unknown = await run(['--home', home, 'send', '/etc/hostname', '--to', 'backpu']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('configured peers: backup');
  });

  it('daemon: --bind is checked, agrees with --listen-addr, and the lock is released on failure', async () => {
    const home = await withKey();
    const bad = await run(['--home', home, 'daemon', '--bind', '0.0.0.0']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('error[E_ADDR_INVALID]');
    const clash = await run(['--home', home, 'daemon', '--bind', '0.0.0.0:1', '--listen-addr', '0.0.0.0:2']);
    expect(clash.code).toBe(2);
    expect(clash.err).toContain('--bind and the flag for network.listen_addr disagree');
  });

  it('daemon: a second daemon on the same home gets E_HOME_LOCKED (exit 3)', async () => {
    const home = await withKey();
    const lock = await acquireDaemonLock(await ensureHome(home));
    try {
      const r = await run(['--home', home, 'daemon']);
      expect(r.code).toBe(3);
      expect(r.err).toContain('error[E_HOME_LOCKED]');
      const rcv = await run(['--home', home, 'receive', '--output', tmpDir()]);
      expect(rcv.err).toContain('error[E_HOME_LOCKED]');
    } finally {
      await lock.release();
    }
  });

  it('receive requires --output', async () => {
    const { code, err } = await run(['--home', await withKey(), 'receive']);
    expect(code).toBe(2);
    expect(err).toContain("required option '--output <DIR>'");
  });

  it('demo checks --size', async () => {
    const { code, err } = await run(['--home', freshHome(), 'demo', '--size', 'lots']);
    expect(code).toBe(2);
    expect(err).toContain('--size: expected a size');
  });
});

describe('admin clients and doctor', () => {
  it('status without a daemon: E_DAEMON_NOT_RUNNING (exit 5); a daemon.json whose API does not answer: a network error', async () => {
    const home = freshHome();
    await run(['--home', home, 'keygen']);
    const none = await run(['--home', home, 'status']);
    expect(none.code).toBe(5);
    expect(none.err).toContain('error[E_DAEMON_NOT_RUNNING]');
    await writeRunInfo(await ensureHome(home), { pid: process.pid, peer_id: ID, udp_addrs: ['0.0.0.0:40000'], admin_url: 'http://127.0.0.1:9', transport: 'udp' });
    for (const argv of [['status'], ['transfers'], ['peers'], ['cancel', 't-1']]) {
      const r = await run(['--home', home, ...argv]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/error\[E_[A-Z_]+\]/);
    }
  });

  it('doctor: exit 0 on a healthy home, the failing check\'s code otherwise', async () => {
    const home = freshHome();
    await run(['--home', home, 'keygen']);
    const json = await run(['--home', home, 'doctor', '--json']);
    const doc = JSON.parse(json.out) as { checks: Array<{ name: string; status: string; found: string }>; transport_ok: boolean };
    expect(doc.checks.find((c) => c.name === 'identity')).toMatchObject({ status: 'ok' });
    expect(doc.checks.find((c) => c.name === 'kernel_version')?.status).toMatch(/ok|warn/);
    // Each check once: the home section no longer repeats io_uring, capabilities and memlock
    // (its memlock said "warn" where the machine's said CAP_IPC_LOCK makes it "ok").
    const names = doc.checks.map((c) => c.name);
    expect(names.filter((x, i) => names.indexOf(x) !== i)).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['memlock', 'capabilities', 'io_uring', 'home', 'config', 'identity', 'download_dir', 'daemon']));
    chmodSync(join(home, 'identity.key'), 0o640);
    const bad = await run(['--home', home, 'doctor', '--json']);
    expect(bad.code).toBe(3);
    const badDoc = JSON.parse(bad.out) as { checks: Array<{ name: string; status: string }> };
    expect(badDoc.checks.find((c) => c.name === 'identity')?.status).toBe('fail');
  });
});
