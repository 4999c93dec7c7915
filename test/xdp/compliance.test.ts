/**
 * Runs @wraith/core's transport compliance suite against the AF_XDP
 * transport. The suite wants both transports in one process, and each must
 * reach the other through the wire, not through the local stack. Topology:
 *
 *   namespace A                          namespace B (forwards)
 *   wa0 10.N.1.1  <-- veth -->  wb0 10.N.1.2
 *   wd0 10.N.2.1  <-- veth -->  wc0 10.N.2.2
 *
 * Transport a runs on wa0 (10.N.1.1:4433), b on wd0 (10.N.2.1:4434). In A,
 * the local table moves behind two rules for locally generated traffic:
 * "to 10.N.2.1 -> via 10.N.1.2 dev wa0" and "to 10.N.1.1 -> via 10.N.2.2 dev
 * wd0"; B forwards between its two interfaces. Incoming packets still hit
 * the local table, and accept_local lets A take packets with its own
 * source addresses. The suite itself runs in a vitest child inside A.
 */
import { afterAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, destroyAllNetns, type Netns } from '../support/netns.js';
import { describeIf, needRoot, REPO_ROOT } from '../support/prereq.js';

async function loopTopology(): Promise<{ a: Netns; b: Netns; env: { ifA: string; ipA: string; ifB: string; ipB: string } }> {
  const a = await createNetns();
  const b = await createNetns();
  const n = 100 + (randomBytes(1)[0]! % 100);
  const [a1, b1, a2, b2] = [`10.${n}.1.1`, `10.${n}.1.2`, `10.${n}.2.1`, `10.${n}.2.2`];
  await a.ip(['link', 'add', 'wa0', 'type', 'veth', 'peer', 'name', 'wb0', 'netns', b.name]);
  await a.ip(['link', 'add', 'wd0', 'type', 'veth', 'peer', 'name', 'wc0', 'netns', b.name]);
  await a.ip(['addr', 'add', `${a1}/24`, 'dev', 'wa0']);
  await a.ip(['addr', 'add', `${a2}/24`, 'dev', 'wd0']);
  await b.ip(['addr', 'add', `${b1}/24`, 'dev', 'wb0']);
  await b.ip(['addr', 'add', `${b2}/24`, 'dev', 'wc0']);
  for (const [ns, dev] of [[a, 'wa0'], [a, 'wd0'], [b, 'wb0'], [b, 'wc0']] as const) await ns.ip(['link', 'set', 'dev', dev, 'up']);
  await b.execOk('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  for (const k of ['all', 'wa0', 'wd0']) {
    await a.execOk('sysctl', ['-qw', `net.ipv4.conf.${k}.accept_local=1`]);
    await a.execOk('sysctl', ['-qw', `net.ipv4.conf.${k}.rp_filter=0`]);
  }
  await a.ip(['rule', 'add', 'pref', '32765', 'lookup', 'local']);
  await a.ip(['rule', 'del', 'pref', '0']);
  await a.ip(['route', 'add', a2, 'via', b1, 'dev', 'wa0', 'src', a1, 'table', '100']);
  await a.ip(['route', 'add', a1, 'via', b2, 'dev', 'wd0', 'src', a2, 'table', '101']);
  await a.ip(['rule', 'add', 'pref', '10', 'to', a2, 'iif', 'lo', 'lookup', '100']);
  await a.ip(['rule', 'add', 'pref', '11', 'to', a1, 'iif', 'lo', 'lookup', '101']);
  // Fill A's neighbour table for both next hops, so the transports can use
  // AF_XDP from their first datagram.
  for (const hop of [b1, b2]) await a.execOk('python3', [join(REPO_ROOT, 'test/xdp/fixtures/ping.py'), hop, '1']);
  return { a, b, env: { ifA: 'wa0', ipA: a1, ifB: 'wd0', ipB: a2 } };
}

const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

describeIf(needRoot(), 'AF_XDP transport compliance', () => {
  afterAll(destroyAllNetns);

  it('passes the shared transport compliance suite', async () => {
    const t = await loopTopology();
    const dir = mkdtempSync(join(tmpdir(), 'wraith-xdp-compliance-'));
    const statsFile = join(dir, 'stats.jsonl');
    try {
      // The routes each side will use really leave through its own interface.
      for (const [dst, dev] of [[t.env.ipB, 'wa0'], [t.env.ipA, 'wd0']]) {
        const route = JSON.parse(await t.a.ip(['-j', 'route', 'get', dst!])) as Array<{ dev: string }>;
        expect(route[0]!.dev).toBe(dev);
      }
      const r = await t.a.exec(
        'env',
        [
          'NO_COLOR=1',
          `WRAITH_XDP_PAIR=${JSON.stringify({ ...t.env, statsFile })}`,
          process.execPath,
          join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'),
          'run',
          '--root',
          REPO_ROOT,
          '--config',
          join(REPO_ROOT, 'test/xdp/compliance/vitest.config.ts'),
        ],
        150_000,
      );
      const out = stripAnsi(r.stdout);
      expect(r.code, `${out}\n${r.stderr}`).toBe(0);
      expect(out).toMatch(/Tests\s+12 passed/);
      // Every pair resolved both directions to AF_XDP, and the datagrams moved
      // through it: the kernel sockets carried under 1 %.
      const pairs = readFileSync(statsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {
        paths: string[]; a: Record<string, number>; b: Record<string, number>;
      });
      expect(pairs.length).toBe(11);
      let xdp = 0;
      let kernel = 0;
      let inPlace = 0;
      for (const p of pairs) {
        expect(p.paths).toEqual(['xdp', 'xdp']);
        for (const s of [p.a, p.b]) {
          xdp += s['xdp_rx_packets']!;
          kernel += s['kernel_rx_packets']!;
          inPlace += s['tx_in_place'] ?? 0;
        }
      }
      expect(xdp).toBeGreaterThan(1000);
      expect(kernel).toBeLessThan(0.01 * (xdp + kernel));
      // The lent-buffer case queued its 1000 datagrams from the frames they were written in.
      expect(inPlace).toBeGreaterThanOrEqual(1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await Promise.all([t.a.destroy(), t.b.destroy()]);
    }
  });
});
