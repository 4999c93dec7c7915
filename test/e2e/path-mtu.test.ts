/**
 * A route whose MTU is below max_datagram_size (a tunnel, a VPN, here a veth of MTU 1280): a
 * send's datagrams fit it, so none leaves as IP fragments, which cost a multiple of the CPU and
 * are lost whole when one fragment is. Over IPv4 and IPv6, between namespaces of our own: the
 * narrow link next to the sender, or behind a router that answers ICMP "packet too big".
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createNetns, createVethPair, type Netns, type VethPair } from '../support/netns.js';
import { describeIf, needRoot } from '../support/prereq.js';
import { Scope, sha256File, writeRandomFile, type TestHome } from '../support/procs.js';
import { netnsDaemon, spawnInNetns, type AdminDaemon } from '../support/hostile.js';

const MTU = 1280;

/** Fragments the namespace's IP stack created so far (/proc/net/snmp FragCreates, snmp6 Ip6FragCreates). */
async function fragCreates(ns: Netns): Promise<{ v4: number; v6: number }> {
  const snmp = (await ns.execOk('cat', ['/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Ip: '));
  const names = snmp[0]!.split(/\s+/);
  const values = snmp[1]!.split(/\s+/);
  const v6 = /Ip6FragCreates\s+(\d+)/.exec(await ns.execOk('cat', ['/proc/net/snmp6']));
  return { v4: Number(values[names.indexOf('FragCreates')]), v6: Number(v6![1]) };
}

describeIf(needRoot(), `a route of MTU ${MTU}`, () => {
  const scope = new Scope('path-mtu');
  let pair: VethPair;
  let tx: TestHome;
  let d: AdminDaemon;

  beforeAll(async () => {
    pair = await createVethPair({ mtu: MTU });
    scope.defer(() => pair.destroy());
    tx = await scope.home('tx');
    d = await netnsDaemon(scope, pair.b, { home: await scope.home('rx'), bind: '[::]:0' });
  });
  afterAll(() => scope.dispose());

  it.each([
    ['IPv4', 'v4', () => pair.ipB, MTU - 28],
    ['IPv6', 'v6', () => `[${pair.ip6B}]`, MTU - 48],
  ] as const)('%s: the file arrives identical and no datagram was fragmented', async (_family, key, host, size) => {
    const src = join(await scope.tempDir('src'), `${key}.bin`);
    const sha = await writeRandomFile(src, 12 << 20);
    const before = await fragCreates(pair.a);
    const s = spawnInNetns(scope, pair.a, ['--home', tx.dir, 'send', src, '--to', `${d.daemon.peerId}@${host()}:${d.daemon.port}`,
      '--no-progress', '--json', '--reconnect-for', '5s', '--log-level', 'info'], 'send');
    const r = await s.result(60_000);
    expect(r.code, s.describe()).toBe(0);
    expect(await sha256File(join(d.daemon.output, `${key}.bin`))).toBe(sha);
    const after = await fragCreates(pair.a);
    expect(after[key] - before[key], s.stderr).toBe(0);
    const line = s.stderr.split('\n').find((l) => l.includes('"path_datagram"'));
    expect(line, s.stderr).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ path_datagram: size, max_datagram_size: 1452, using: size });
  }, 90_000);
});

/**
 * sender a -- (MTU 1500) -- router r -- (MTU 1280 out of r) -- receiver b. The sender's own link is wide,
 * so its first datagrams are full size; r drops them and answers ICMP "fragmentation needed"
 * (IPv4) or "packet too big" (IPv6), the kernel lowers the route's MTU, and the session's
 * datagrams shrink to fit: only those already on their way leave fragmented.
 */
describeIf(needRoot(), `a router in front of a link of MTU ${MTU}`, () => {
  const scope = new Scope('path-mtu-router');
  let a: Netns;
  let r: Netns;
  let b: Netns;
  let tx: TestHome;
  let d: AdminDaemon;
  const x = randomBytes(2);
  const net = (i: number): string => `10.${100 + (x[0]! % 100)}.${(x[1]! + i) % 256}`;
  const net6 = (i: number): string => `fd00:${x.toString('hex')}:${i}`;
  const dst = { v4: `${net(1)}.2`, v6: `${net6(1)}::2` };

  beforeAll(async () => {
    a = await createNetns();
    scope.defer(() => a.destroy());
    r = await createNetns();
    scope.defer(() => r.destroy());
    b = await createNetns();
    scope.defer(() => b.destroy());
    await a.ip(['link', 'add', 'wa0', 'type', 'veth', 'peer', 'name', 'wr0', 'netns', r.name]);
    await r.ip(['link', 'add', 'wr1', 'type', 'veth', 'peer', 'name', 'wb0', 'netns', b.name]);
    const ends: Array<[Netns, string, number, string, number]> = [
      [a, 'wa0', 0, '1', 1500],
      [r, 'wr0', 0, '2', 1500],
      [r, 'wr1', 1, '1', MTU],
      // b's own end stays wide: a narrow interface of the receiver's own it announces itself
      // (the last describe), so the narrow hop here is the router's.
      [b, 'wb0', 1, '2', 1500],
    ];
    for (const [ns, dev, i, host, mtu] of ends) {
      await ns.ip(['link', 'set', 'dev', dev, 'mtu', String(mtu)]);
      await ns.ip(['addr', 'add', `${net(i)}.${host}/24`, 'dev', dev]);
      await ns.ip(['-6', 'addr', 'add', `${net6(i)}::${host}/64`, 'dev', dev, 'nodad']);
      await ns.ip(['link', 'set', 'dev', dev, 'up']);
    }
    await a.ip(['route', 'add', 'default', 'via', `${net(0)}.2`]);
    await a.ip(['-6', 'route', 'add', 'default', 'via', `${net6(0)}::2`]);
    await b.ip(['route', 'add', 'default', 'via', `${net(1)}.1`]);
    await b.ip(['-6', 'route', 'add', 'default', 'via', `${net6(1)}::1`]);
    await r.execOk('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    tx = await scope.home('tx');
    d = await netnsDaemon(scope, b, { home: await scope.home('rx'), bind: '[::]:0' });
  });
  afterAll(() => scope.dispose());

  it.each([
    ['IPv4', 'v4', MTU - 28],
    ['IPv6', 'v6', MTU - 48],
  ] as const)('%s: the file arrives identical, and the session shrinks its datagrams once told', async (_family, key, size) => {
    const SIZE = 24 << 20;
    const src = join(await scope.tempDir('src'), `${key}.bin`);
    const sha = await writeRandomFile(src, SIZE);
    const before = await fragCreates(a);
    const host = key === 'v4' ? dst.v4 : `[${dst.v6}]`;
    const s = spawnInNetns(scope, a, ['--home', tx.dir, 'send', src, '--to', `${d.daemon.peerId}@${host}:${d.daemon.port}`,
      '--no-progress', '--json', '--reconnect-for', '5s', '--log-level', 'info'], 'send');
    const res = await s.result(60_000);
    expect(res.code, s.describe()).toBe(0);
    expect(await sha256File(join(d.daemon.output, `${key}.bin`))).toBe(sha);
    // Narrowed on the ICMP error at once; the route check each second could come first, by chance.
    const line = s.stderr.split('\n').find((l) => l.includes('"sessions"') && l.includes('"path_datagram"'));
    expect(line, s.stderr).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ path_datagram: size });
    // Left fragmented every datagram would be two fragments: ~2 per 1400 bytes of the file. A
    // second of it (until the route check) would be thousands, so this bound needs the ICMP.
    const frags = (await fragCreates(a))[key] - before[key];
    expect(frags, s.stderr).toBeLessThan(SIZE / 1400 / 10);
  }, 90_000);

  it('IPv6 with the router\'s "packet too big" suppressed (a black hole): the session falls back to 1200-byte datagrams and the file arrives', async () => {
    // Rate-limit type 2 too (by default it is exempt), to nothing: the router stays silent.
    await r.execOk('sysctl', ['-qw', 'net.ipv6.icmp.ratemask=0-127', 'net.ipv6.icmp.ratelimit=100000000']);
    // Another address of b: the path MTU a learnt for the first one does not apply to it.
    const hole = `${net6(1)}::3`;
    await b.ip(['-6', 'addr', 'add', `${hole}/64`, 'dev', 'wb0', 'nodad']);
    const src = join(await scope.tempDir('src'), 'hole.bin');
    const sha = await writeRandomFile(src, 8 << 20);
    const s = spawnInNetns(scope, a, ['--home', tx.dir, 'send', src, '--to', `${d.daemon.peerId}@[${hole}]:${d.daemon.port}`,
      '--no-progress', '--json', '--reconnect-for', '5s', '--log-level', 'info'], 'send');
    const res = await s.result(60_000);
    expect(res.code, s.describe()).toBe(0);
    expect(await sha256File(join(d.daemon.output, 'hole.bin'))).toBe(sha);
    const line = s.stderr.split('\n').find((l) => l.includes('black hole'));
    expect(line, s.stderr).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 'warn', from: 1452, to: 1200 });
    expect(s.stderr).not.toContain('"path_datagram"');
  }, 90_000);

  it('the narrow link widens during the send (it was a route change): a probe finds the full size again within seconds', async () => {
    await r.execOk('sysctl', ['-qw', 'net.ipv6.icmp.ratemask=0-127', 'net.ipv6.icmp.ratelimit=100000000']);
    const hole = `${net6(1)}::4`; // no path MTU learnt for it yet
    await b.ip(['-6', 'addr', 'add', `${hole}/64`, 'dev', 'wb0', 'nodad']);
    const src = join(await scope.tempDir('src'), 'widens.bin');
    const sha = await writeRandomFile(src, 24 << 20);
    const s = spawnInNetns(scope, a, ['--home', tx.dir, 'send', src, '--to', `${d.daemon.peerId}@[${hole}]:${d.daemon.port}`,
      '--rate', '2M', '--no-progress', '--json', '--reconnect-for', '5s', '--log-level', 'info'], 'send');
    await s.until(() => s.stderr.includes('black hole'), 30_000, 'the black hole');
    await r.ip(['link', 'set', 'dev', 'wr1', 'mtu', '1500']);
    await b.ip(['link', 'set', 'dev', 'wb0', 'mtu', '1500']);
    const res = await s.result(60_000);
    expect(res.code, s.describe()).toBe(0);
    expect(await sha256File(join(d.daemon.output, 'widens.bin'))).toBe(sha);
    const lines = s.stderr.split('\n');
    const hole1 = lines.findIndex((l) => l.includes('black hole'));
    const raised = lines.findIndex((l) => l.includes('probe got through'));
    expect(raised, s.stderr).toBeGreaterThan(hole1);
    expect(JSON.parse(lines[raised]!)).toMatchObject({ level: 'info', from: 1200, to: 1452 });
  }, 90_000);
});

/** A veth pair of MTU 1500 whose receiving end has `rxMtu`, a daemon behind it, a sender's home. */
function vethWithDaemon(name: string, rxMtu: number): { scope: Scope; at: { pair: VethPair; tx: TestHome; d: AdminDaemon } } {
  const scope = new Scope(name);
  const at = {} as { pair: VethPair; tx: TestHome; d: AdminDaemon };
  beforeAll(async () => {
    at.pair = await createVethPair({ mtu: 1500 });
    scope.defer(() => at.pair.destroy());
    if (rxMtu !== 1500) await at.pair.b.ip(['link', 'set', 'dev', at.pair.ifB, 'mtu', String(rxMtu)]);
    at.tx = await scope.home('tx');
    at.d = await netnsDaemon(scope, at.pair.b, { home: await scope.home('rx') });
  });
  afterAll(() => scope.dispose());
  return { scope, at };
}

/**
 * The route narrows under a running send (here the sender's interface MTU is lowered from 1500
 * to 1280; a route moving onto a tunnel is the same), which no ICMP reports: the kernel would
 * fragment every datagram from then on. The node asks the route again each second.
 */
describeIf(needRoot(), 'a route that narrows during a send', () => {
  const { scope, at } = vethWithDaemon('path-mtu-narrows', 1500);

  it('the session follows within seconds: most datagrams leave whole, and the file arrives identical', async () => {
    const SIZE = 64 << 20;
    const src = join(await scope.tempDir('src'), 'narrows.bin');
    const sha = await writeRandomFile(src, SIZE);
    const before = await fragCreates(at.pair.a);
    // 16 MB/s: about 4 s of sending, so most of it comes after the change.
    const s = spawnInNetns(scope, at.pair.a, ['--home', at.tx.dir, 'send', src, '--to', `${at.d.daemon.peerId}@${at.pair.ipB}:${at.d.daemon.port}`,
      '--no-progress', '--json', '--reconnect-for', '5s', '--log-level', 'info', '--rate', '16M'], 'send');
    await s.waitFor((e) => e.type === 'started', 20_000, 'the send starting');
    await new Promise((r) => setTimeout(r, 500));
    await at.pair.a.ip(['link', 'set', 'dev', at.pair.ifA, 'mtu', '1280']);
    const res = await s.result(60_000);
    expect(res.code, s.describe()).toBe(0);
    expect(await sha256File(join(at.d.daemon.output, 'narrows.bin'))).toBe(sha);
    const line = s.stderr.split('\n').find((l) => l.includes('"cause":"route"'));
    expect(line, s.stderr).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ path_datagram: 1252 });
    // Left as it was, every datagram after the change would be two fragments: ~2 × 40 000.
    const frags = (await fragCreates(at.pair.a)).v4 - before.v4;
    expect(frags, s.stderr).toBeLessThan(SIZE / 1452);
  }, 90_000);

  it('and widens again (a tunnel gone, or the learnt path MTU expired): the datagrams grow back', async () => {
    await at.pair.a.ip(['link', 'set', 'dev', at.pair.ifA, 'mtu', '1500']);
    const src = join(await scope.tempDir('src'), 'widens.bin');
    const sha = await writeRandomFile(src, 64 << 20);
    const s = spawnInNetns(scope, at.pair.a, ['--home', at.tx.dir, 'send', src, '--to', `${at.d.daemon.peerId}@${at.pair.ipB}:${at.d.daemon.port}`,
      '--no-progress', '--json', '--reconnect-for', '5s', '--log-level', 'info', '--rate', '16M'], 'send');
    await s.waitFor((e) => e.type === 'started', 20_000, 'the send starting');
    await at.pair.a.ip(['link', 'set', 'dev', at.pair.ifA, 'mtu', '1280']);
    await s.until(() => s.stderr.includes('"cause":"route"'), 10_000, 'the session narrowing');
    await at.pair.a.ip(['link', 'set', 'dev', at.pair.ifA, 'mtu', '1500']);
    const res = await s.result(60_000);
    expect(res.code, s.describe()).toBe(0);
    expect(await sha256File(join(at.d.daemon.output, 'widens.bin'))).toBe(sha);
    const lines = s.stderr.split('\n');
    const narrowed = lines.findIndex((l) => l.includes('"cause":"route"') && l.includes('narrowed'));
    const widened = lines.findIndex((l) => l.includes('widened'));
    expect(narrowed, s.stderr).toBeGreaterThanOrEqual(0);
    expect(widened, s.stderr).toBeGreaterThan(narrowed);
    expect(JSON.parse(lines[narrowed]!)).toMatchObject({ path_datagram: 1252 });
    expect(JSON.parse(lines[widened]!)).toMatchObject({ path_datagram: 1472, cause: 'route' });
  }, 90_000);
});

/**
 * The receiver's own interface is narrower than the sender's (MTU 1280 against 1500): frames
 * larger than it are dropped as they arrive, and no ICMP says so. The daemon announces its
 * route's size in the handshake, so the sender keeps within it from its first datagram rather
 * than finding a black hole.
 */
describeIf(needRoot(), 'a receiver behind a narrower interface', () => {
  const { scope, at } = vethWithDaemon('path-mtu-responder', 1280);

  it('the sender keeps to the size the receiver announced: no black hole, the file arrives identical', async () => {
    const src = join(await scope.tempDir('src'), 'narrow-rx.bin');
    const sha = await writeRandomFile(src, 16 << 20);
    const s = spawnInNetns(scope, at.pair.a, ['--home', at.tx.dir, 'send', src, '--to', `${at.d.daemon.peerId}@${at.pair.ipB}:${at.d.daemon.port}`,
      '--no-progress', '--json', '--reconnect-for', '5s', '--log-level', 'info'], 'send');
    const res = await s.result(60_000);
    expect(res.code, s.describe()).toBe(0);
    expect(await sha256File(join(at.d.daemon.output, 'narrow-rx.bin'))).toBe(sha);
    expect(s.stderr).not.toContain('black hole');
  }, 90_000);
});

