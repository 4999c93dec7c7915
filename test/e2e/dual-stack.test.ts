/**
 * A peer given by host name with an IPv6 and an IPv4 address, as `localhost` is on a stock
 * Debian /etc/hosts (::1 first in the resolver's order), and a daemon bound to 0.0.0.0 (IPv4
 * only; the default listen_addr is [::]): only the IPv4 address answers (::1 answers ICMP port unreachable, which
 * ends that dial at once; a silent address, passed over after 250 ms, is dial.test.ts's). The
 * send must dial both and succeed through 127.0.0.1. A receiver bound to `localhost` takes
 * ::1 only, and says so. Runs in a network namespace of its own, whose /etc/hosts is
 * /etc/netns/<ns>/hosts (bind-mounted by `ip netns exec`), created and removed here.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNetns, type Netns } from '../support/netns.js';
import { describeIf, needRoot } from '../support/prereq.js';
import { Scope, sha256File, writeRandomFile, type TestHome } from '../support/procs.js';
import { netnsDaemon, spawnInNetns, type AdminDaemon } from '../support/hostile.js';

describeIf(needRoot(), 'a host name with an IPv6 and an IPv4 address', () => {
  const scope = new Scope('dual-stack');
  let ns: Netns;
  let tx: TestHome;
  let d: AdminDaemon;
  let etcDir = '';

  beforeAll(async () => {
    ns = await createNetns();
    scope.defer(() => ns.destroy());
    etcDir = join('/etc/netns', ns.name);
    await mkdir(etcDir, { recursive: true });
    scope.defer(async () => {
      await rm(etcDir, { recursive: true, force: true });
      await rmdir('/etc/netns').catch(() => undefined); // only when empty
    });
    await writeFile(join(etcDir, 'hosts'), '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n');
    // The resolver inside the namespace gives ::1 first (RFC 6724), as on such a host.
    const order = execFileSync('ip', ['netns', 'exec', ns.name, process.execPath, '-e',
      "require('dns').lookup('localhost',{all:true},(e,a)=>console.log(JSON.stringify(a.map(x=>x.address))))"], { encoding: 'utf8' });
    expect(JSON.parse(order)).toEqual(['::1', '127.0.0.1']);
    tx = await scope.home('tx');
    d = await netnsDaemon(scope, ns, { home: await scope.home('rx'), bind: '0.0.0.0:0' });
  });
  afterAll(() => scope.dispose());

  it('send --to ID@localhost:PORT to a daemon on 0.0.0.0: the refusing ::1 is passed over and the file arrives through 127.0.0.1', async () => {
    const src = join(await scope.tempDir('src'), 'dual.bin');
    const sha = await writeRandomFile(src, 2_000_000);
    const t0 = Date.now();
    const s = spawnInNetns(scope, ns, ['--home', tx.dir, 'send', src, '--to', `${d.daemon.peerId}@localhost:${d.daemon.port}`,
      '--no-progress', '--json', '--handshake-timeout', '5s', '--reconnect-for', '5s'], 'send');
    const r = await s.result(60_000);
    expect(r.code, s.describe()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000); // not after a handshake timeout on ::1
    expect(await sha256File(join(d.daemon.output, 'dual.bin'))).toBe(sha);
    // The peer keeps its name in what the sender prints.
    expect(r.events.find((e) => e.type === 'started')?.['peer']).toBe(`${d.daemon.peerId}@localhost:${d.daemon.port}`);
  });

  it('--bind localhost:PORT takes the first address and warns that senders of the other find nothing', async () => {
    const rxHome = await scope.home('rx-localhost');
    const out = await scope.tempDir('out-localhost');
    const r = spawnInNetns(scope, ns, ['--home', rxHome.dir, 'receive', '--output', out, '--bind', 'localhost:0', '--no-progress'], 'receive');
    await r.until(() => r.stderr.includes('wraith receiving as'), 20_000, 'the receiving line');
    expect(r.stderr).toMatch(/wraith receiving as [0-9a-f]{64}@\[::1\]:\d+/);
    expect(r.stderr).toMatch(/localhost names 2 addresses; listening on \[::1\]:\d+ only, so senders that dial 127\.0\.0\.1 find nothing/);
    r.signal('SIGINT');
    expect((await r.waitExit(20_000)).code).toBe(0);
  });
});
