/**
 * A route whose MTU is below max_datagram_size (a tunnel, a VPN, here a veth of MTU 1280): a
 * send's datagrams fit it, so none leaves as IP fragments, which cost a multiple of the CPU and
 * are lost whole when one fragment is. Over IPv4 and IPv6, between two namespaces of our own.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createVethPair, type VethPair } from '../support/netns.js';
import { describeIf, needRoot } from '../support/prereq.js';
import { Scope, sha256File, writeRandomFile, type TestHome } from '../support/procs.js';
import { netnsDaemon, spawnInNetns, type AdminDaemon } from '../support/hostile.js';

const MTU = 1280;

/** Fragments the namespace's IP stack created so far (/proc/net/snmp FragCreates, snmp6 Ip6FragCreates). */
async function fragCreates(pair: VethPair): Promise<{ v4: number; v6: number }> {
  const snmp = (await pair.a.execOk('cat', ['/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Ip: '));
  const names = snmp[0]!.split(/\s+/);
  const values = snmp[1]!.split(/\s+/);
  const v6 = /Ip6FragCreates\s+(\d+)/.exec(await pair.a.execOk('cat', ['/proc/net/snmp6']));
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
    const before = await fragCreates(pair);
    const s = spawnInNetns(scope, pair.a, ['--home', tx.dir, 'send', src, '--to', `${d.daemon.peerId}@${host()}:${d.daemon.port}`,
      '--no-progress', '--json', '--reconnect-for', '5s', '--log-level', 'info'], 'send');
    const r = await s.result(60_000);
    expect(r.code, s.describe()).toBe(0);
    expect(await sha256File(join(d.daemon.output, `${key}.bin`))).toBe(sha);
    const after = await fragCreates(pair);
    expect(after[key] - before[key], s.stderr).toBe(0);
    const line = s.stderr.split('\n').find((l) => l.includes('"path_datagram"'));
    expect(line, s.stderr).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ path_datagram: size, max_datagram_size: 1452, using: size });
  }, 90_000);
});
