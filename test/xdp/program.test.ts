/**
 * The XDP program's verdicts, checked with BPF_PROG_TEST_RUN on crafted
 * frames — nothing is attached anywhere.
 *
 * What TEST_RUN returns for our redirect (measured on this kernel and
 * asserted below): bpf_redirect_map on an XSKMAP slot that holds no socket
 * returns its flags argument, XDP_PASS (2); with a bound AF_XDP socket in
 * the slot it returns XDP_REDIRECT (4). TEST_RUN without a context runs on
 * the namespace loopback's RX queue 0, so slot 0 is the one looked up. An
 * AF_XDP socket must be bound to a device before it can enter an XSKMAP, so
 * that half runs in a child process inside a namespace with a veth.
 * TEST_RUN refuses frames shorter than an Ethernet header (EINVAL), so
 * truncations are tested from 14 bytes up; the program's own bounds checks
 * cover shorter ones.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildUdpFrame, buildXdpProgram, BpfAsm, loadNativeXdp, parseMac, R0, R1, XDP_PASS, XDP_REDIRECT } from '@wraith/transport-xdp';
import { createVethPair, destroyAllNetns } from '../support/netns.js';
import { describeIf, needRoot, REPO_ROOT } from '../support/prereq.js';

const PORT = 4433;
const OTHER_PORT = 5353;
const mac = parseMac('02:00:00:00:00:01');
const v4 = { srcMac: mac, dstMac: mac, srcIp: '10.9.0.2', dstIp: '10.9.0.1', srcPort: 40000, dstPort: PORT };
const v6 = { ...v4, srcIp: 'fd00:9::2', dstIp: 'fd00:9::1' };
const payload = new Uint8Array(64).map((_, i) => i);

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Rewrites the IPv4 header checksum after a field was changed. */
function fixIpv4Checksum(f: Uint8Array): Uint8Array {
  const ihl = (f[14]! & 0x0f) * 4;
  f[24] = f[25] = 0;
  let s = 0;
  for (let i = 14; i < 14 + ihl; i += 2) s += (f[i]! << 8) | f[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  f[24] = c >> 8;
  f[25] = c & 0xff;
  return f;
}

/** An IPv6 frame whose first next-header is `nh` followed by an 8-byte extension header, then UDP. */
function ipv6WithExtension(nh: number): Uint8Array {
  const plain = buildUdpFrame(v6, payload);
  const f = new Uint8Array(plain.length + 8);
  f.set(plain.subarray(0, 54), 0);
  f.set(plain.subarray(54), 62);
  f[20] = nh; // next header of the fixed header
  f[54] = 17; // the extension's next header: UDP
  f[55] = 0; // 8 bytes long; for a fragment header these bytes are offset/flags/id
  const plen = plain.length - 54 + 8;
  f[18] = plen >> 8;
  f[19] = plen & 0xff;
  return f;
}

function arp(): Uint8Array {
  const f = new Uint8Array(42);
  f.set(mac, 6);
  f.fill(0xff, 0, 6);
  f[12] = 0x08;
  f[13] = 0x06;
  return f;
}

function vlanTagged(): Uint8Array {
  const inner = buildUdpFrame(v4, payload);
  const f = new Uint8Array(inner.length + 4);
  f.set(inner.subarray(0, 12), 0);
  f.set([0x81, 0x00, 0x00, 0x07], 12);
  f.set(inner.subarray(12), 16);
  return f;
}

function icmpEcho(): Uint8Array {
  const f = buildUdpFrame(v4, payload, { udpChecksum: false });
  f[14 + 9] = 1;
  return fixIpv4Checksum(f);
}

interface Case {
  name: string;
  frame: Uint8Array;
  /** Verdict with a socket in the XSKMAP. */
  want: number;
}

function cases(): Case[] {
  const ours4 = buildUdpFrame(v4, payload);
  const ours6 = buildUdpFrame(v6, payload);
  const opts4 = buildUdpFrame(v4, payload, { ipOptions: Uint8Array.from([0x01, 0x01, 0x01, 0x00]) });
  const opts40 = buildUdpFrame(v4, payload, { ipOptions: new Uint8Array(40).fill(1) });
  const tiny = buildUdpFrame(v4, Uint8Array.from([1]));
  const padded = new Uint8Array(60);
  padded.set(tiny);
  const list: Case[] = [
    { name: 'IPv4 UDP to our port', frame: ours4, want: XDP_REDIRECT },
    { name: 'IPv6 UDP to our port', frame: ours6, want: XDP_REDIRECT },
    { name: 'IPv4 with 4 bytes of options', frame: opts4, want: XDP_REDIRECT },
    { name: 'IPv4 with 40 bytes of options (IHL 15)', frame: opts40, want: XDP_REDIRECT },
    { name: 'IPv4 to the second port of the set', frame: buildUdpFrame({ ...v4, dstPort: 4434 }, payload), want: XDP_REDIRECT },
    { name: 'IPv4 in a padded 60-byte Ethernet frame', frame: padded, want: XDP_REDIRECT },
    { name: 'IPv4 UDP, zero checksum', frame: buildUdpFrame(v4, payload, { udpChecksum: false }), want: XDP_REDIRECT },
    { name: 'IPv4 UDP to another port', frame: buildUdpFrame({ ...v4, dstPort: OTHER_PORT }, payload), want: XDP_PASS },
    { name: 'IPv6 UDP to another port', frame: buildUdpFrame({ ...v6, dstPort: OTHER_PORT }, payload), want: XDP_PASS },
    { name: 'IPv4 from our port to another', frame: buildUdpFrame({ ...v4, srcPort: PORT, dstPort: OTHER_PORT }, payload), want: XDP_PASS },
    { name: 'ICMP', frame: icmpEcho(), want: XDP_PASS },
    { name: 'ARP', frame: arp(), want: XDP_PASS },
    { name: 'VLAN-tagged IPv4 UDP to our port', frame: vlanTagged(), want: XDP_PASS },
    { name: 'IPv4 first fragment (MF)', frame: buildUdpFrame(v4, payload, { ipFragField: 0x2000 }), want: XDP_PASS },
    { name: 'IPv4 later fragment (offset 185)', frame: buildUdpFrame(v4, payload, { ipFragField: 185 }), want: XDP_PASS },
    { name: 'IPv4 last fragment (offset, DF ignored)', frame: buildUdpFrame(v4, payload, { ipFragField: 0x4000 | 1 }), want: XDP_PASS },
    { name: 'IPv6 fragment header', frame: ipv6WithExtension(44), want: XDP_PASS },
    { name: 'IPv6 hop-by-hop header', frame: ipv6WithExtension(0), want: XDP_PASS },
  ];
  const tcp = ours4.slice();
  tcp[14 + 9] = 6;
  list.push({ name: 'TCP to our port', frame: fixIpv4Checksum(tcp), want: XDP_PASS });
  const ihl4 = ours4.slice();
  ihl4[14] = 0x44;
  list.push({ name: 'IPv4 with IHL 4', frame: fixIpv4Checksum(ihl4), want: XDP_PASS });
  const ver6 = ours4.slice();
  ver6[14] = 0x65;
  list.push({ name: 'IPv4 EtherType carrying version 6', frame: ver6, want: XDP_PASS });
  const longTotal = ours4.slice();
  longTotal[16] = 0x05; // total length 1280+: longer than the frame
  list.push({ name: 'IPv4 total length beyond the frame', frame: fixIpv4Checksum(longTotal), want: XDP_PASS });
  const shortTotal = ours4.slice();
  shortTotal[16] = 0;
  shortTotal[17] = 24; // shorter than header + UDP header
  list.push({ name: 'IPv4 total length below header + UDP', frame: fixIpv4Checksum(shortTotal), want: XDP_PASS });
  const longPlen = ours6.slice();
  longPlen[18] = 0x05;
  list.push({ name: 'IPv6 payload length beyond the frame', frame: longPlen, want: XDP_PASS });
  const shortPlen = ours6.slice();
  shortPlen[18] = 0;
  shortPlen[19] = 4;
  list.push({ name: 'IPv6 payload length below a UDP header', frame: shortPlen, want: XDP_PASS });
  // Every truncation of frames we would otherwise redirect.
  for (const [label, f] of [
    ['IPv4', ours4],
    ['IPv4+options', opts4],
    ['IPv6', ours6],
  ] as const) {
    for (let len = 14; len < f.length; len++) list.push({ name: `${label} truncated to ${len}`, frame: f.subarray(0, len), want: XDP_PASS });
  }
  return list;
}

const native = loadNativeXdp();

describeIf(needRoot() ?? (native.xdp ? null : `native addon: ${native.reason}`), 'XDP program (BPF_PROG_TEST_RUN)', () => {
  afterAll(destroyAllNetns);
  const x = native.xdp!;

  it('passes the verifier and sends everything to the kernel while the XSKMAP is empty', () => {
    const map = x.mapCreateXsk(4);
    try {
      const prog = x.progLoadXdp(buildXdpProgram({ ports: [PORT, 4434], xsksMapFd: map }));
      try {
        expect(x.progId(prog)).toBeGreaterThan(0);
        for (const c of cases()) {
          expect(x.progTestRun(prog, c.frame).retval, c.name).toBe(XDP_PASS);
        }
      } finally {
        x.closeFd(prog);
      }
    } finally {
      x.closeFd(map);
    }
  });

  it('surfaces the verifier log when the kernel rejects a program', () => {
    // Reads r1 (the context) at an offset the verifier forbids.
    const bad = new BpfAsm().ldx('w', R0, R1, 400).exit().assemble();
    let err: unknown;
    try {
      x.progLoadXdp(bad);
    } catch (e) {
      err = e;
    }
    const e = err as { code?: string; errno?: number; verifierLog?: string; message?: string };
    expect(e?.code).toBe('E_XDP_UNAVAILABLE');
    expect(e.errno).toBe(13); // EACCES: rejected by the verifier
    expect(e.message).toMatch(/^bpf\(BPF_PROG_LOAD, XDP, insn_cnt=2\): .*: the verifier rejected the program/);
    expect(e.verifierLog).toMatch(/invalid bpf_context access/);
  });

  it('checks parameters before the syscall', () => {
    expect(() => x.progLoadXdp(new Uint8Array(7))).toThrow(/eBPF instructions of 8 bytes/);
    expect(() => x.mapCreateXsk(0)).toThrow(/maxEntries/);
    expect(() => x.linkCreateXdp(1, 1, 'sideways' as 'native')).toThrow(/'native' or 'generic'/);
  });

  it('redirects exactly our UDP datagrams once a socket is in the XSKMAP', async () => {
    const pair = await createVethPair();
    try {
      const list = cases();
      const child = pair.a.spawnNode(join(REPO_ROOT, 'test/xdp/fixtures/verdicts.mjs'));
      child.proc.stdin!.end(JSON.stringify({ interface: pair.ifA, ports: [PORT, 4434], frames: list.map((c) => ({ name: c.name, hex: hex(c.frame) })) }));
      const r = (await child.waitFor((m) => Array.isArray(m['withSocket']), 60_000)) as { empty: unknown[]; withSocket: unknown[] };
      const redirected = list.filter((c) => c.want === XDP_REDIRECT).length;
      expect(redirected).toBe(7);
      list.forEach((c, i) => {
        expect(r.empty[i], `${c.name} (empty map)`).toBe(XDP_PASS);
        expect(r.withSocket[i], c.name).toBe(c.want);
      });
    } finally {
      await pair.destroy();
    }
  });
});
