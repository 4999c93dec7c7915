import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadNativeXdp } from '../src/native.js';
import { itIf } from '../../../test/support/prereq.js';
import {
  buildUdpFrame,
  bytesToIp,
  foldComplement,
  HeaderTemplate,
  ipToBytes,
  newParsedUdp,
  onesSum,
  parseMac,
  formatMac,
  parseUdpFrame,
  udpChecksum,
} from '../src/frames.js';

const macA = parseMac('02:00:00:00:00:0a');
const macB = parseMac('02:00:00:00:00:0b');
const v4 = { srcMac: macA, dstMac: macB, srcIp: '10.1.2.3', dstIp: '10.1.2.4', srcPort: 40000, dstPort: 4433 };
const v6 = { srcMac: macA, dstMac: macB, srcIp: 'fd00::1', dstIp: 'fd00::2', srcPort: 40000, dstPort: 4433 };

describe('checksums', () => {
  it('matches the RFC 1071 worked example', () => {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (before complement).
    const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(foldComplement(onesSum(b, 0, b.length))).toBe(~0xddf2 & 0xffff);
  });

  it('gives a known IPv4 header its known checksum', () => {
    // The classic example header (Wikipedia "IPv4 header checksum"): checksum b861.
    const h = Uint8Array.from([0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]);
    expect(foldComplement(onesSum(h, 0, 20))).toBe(0xb861);
  });

  it('built IPv4 frames verify: the header sums to zero, the UDP checksum recomputes', () => {
    const f = buildUdpFrame(v4, Uint8Array.from([1, 2, 3, 4, 5]));
    expect(foldComplement(onesSum(f, 14, 34))).toBe(0);
    const dv = new DataView(f.buffer);
    expect(dv.getUint16(14 + 20 + 6)).toBe(udpChecksum(f));
    // Verification over pseudo-header + UDP with the checksum in place gives zero.
    let s = onesSum(f, 26, 34) + 17 + dv.getUint16(14 + 20 + 4);
    s = onesSum(f, 34, f.length, s);
    expect(foldComplement(s)).toBe(0);
  });

  it('IPv4 may leave the UDP checksum zero; IPv6 never does', () => {
    const f4 = buildUdpFrame(v4, new Uint8Array(10), { udpChecksum: false });
    expect(new DataView(f4.buffer).getUint16(40)).toBe(0);
    const f6 = buildUdpFrame(v6, new Uint8Array(10), { udpChecksum: false });
    expect(new DataView(f6.buffer).getUint16(14 + 40 + 6)).not.toBe(0);
  });

  const native = loadNativeXdp().xdp;
  itIf(native ? null : 'the native addon with AF_XDP support', 'native fillUdpChecksum agrees with the TypeScript one on random frames', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.uint8Array({ minLength: 0, maxLength: 1500 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.constantFrom(0, 4, 8, 40),
        (six, payload, sp, dp, opt) => {
          const spec = { ...(six ? v6 : v4), srcPort: sp, dstPort: dp };
          const f = buildUdpFrame(spec, payload, six ? {} : { ipOptions: new Uint8Array(opt).fill(1) });
          const want = udpChecksum(f);
          const g = f.slice();
          const udp = six ? 14 + 40 : 14 + 20 + opt;
          g[udp + 6] = 0x12; // garbage the native code must overwrite
          g[udp + 7] = 0x34;
          expect(native!.fillUdpChecksum(g)).toBe(true);
          expect((g[udp + 6]! << 8) | g[udp + 7]!).toBe(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  itIf(native ? null : 'the native addon with AF_XDP support', 'native fillUdpChecksum refuses frames that are not Ethernet + IP + UDP', () => {
    expect(native!.fillUdpChecksum(new Uint8Array(10))).toBe(false);
    const arp = new Uint8Array(60);
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(native!.fillUdpChecksum(arp)).toBe(false);
    const f = buildUdpFrame(v4, new Uint8Array(100));
    expect(native!.fillUdpChecksum(f.subarray(0, 60))).toBe(false); // UDP length beyond the frame
  });
});

describe('addresses', () => {
  it('converts IPv4 and IPv6 literals both ways', () => {
    expect(Array.from(ipToBytes('10.0.0.1'))).toEqual([10, 0, 0, 1]);
    for (const ip of ['fd00::1', '::', '::1', 'fe80::1:2', '2001:db8::8:800:200c:417a', '1:2:3:4:5:6:7:8', 'fd00:1::2:0:0:3']) {
      const b = ipToBytes(ip);
      expect(b.length).toBe(16);
      expect(bytesToIp(b, 0, 6)).toBe(ip);
    }
    expect(bytesToIp(ipToBytes('::ffff:10.0.0.1'), 0, 6)).toBe('::ffff:a00:1');
    expect(() => ipToBytes('10.0.0.256')).toThrow();
    expect(formatMac(parseMac('2:0:0:0:0:AB'))).toBe('02:00:00:00:00:ab');
    expect(() => parseMac('02:00:00:00:00')).toThrow();
  });
});

describe('HeaderTemplate', () => {
  it('writes exactly what buildUdpFrame builds (UDP checksum left to native TX)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 0, max: 1472 }), (six, len) => {
        const spec = six ? v6 : v4;
        const t = new HeaderTemplate(spec);
        const payload = new Uint8Array(len).fill(7);
        const want = buildUdpFrame(spec, payload, { udpChecksum: false });
        const got = new Uint8Array(t.length + len);
        expect(t.write(got, 0, len)).toBe(t.length);
        got.set(payload, t.length);
        // IPv6 frames from buildUdpFrame always carry a checksum; compare without it.
        const csum = t.length - 2;
        want[csum] = want[csum + 1] = 0;
        expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
      }),
    );
  });
});

describe('parseUdpFrame', () => {
  const p = newParsedUdp();

  it('finds payload and addresses in IPv4, IPv4 with options, and IPv6 frames at an offset', () => {
    for (const [spec, opts, hdr] of [
      [v4, {}, 42],
      [v4, { ipOptions: new Uint8Array(12).fill(1) }, 54],
      [v6, {}, 62],
    ] as const) {
      const f = buildUdpFrame(spec, Uint8Array.from([9, 8, 7]), opts);
      const buf = new Uint8Array(f.length + 100);
      buf.set(f, 100);
      expect(parseUdpFrame(buf, 100, f.length, p)).toBe(true);
      expect(p.payloadOffset).toBe(100 + hdr);
      expect(p.payloadLength).toBe(3);
      expect(p.srcPort).toBe(40000);
      expect(p.dstPort).toBe(4433);
      expect(bytesToIp(buf, p.srcIpOffset, p.family)).toBe(spec.srcIp);
      expect(bytesToIp(buf, p.dstIpOffset, p.family)).toBe(spec.dstIp);
    }
  });

  it('accepts Ethernet padding after the IP datagram', () => {
    const f = buildUdpFrame(v4, Uint8Array.from([1]));
    const padded = new Uint8Array(60);
    padded.set(f);
    expect(parseUdpFrame(padded, 0, 60, p)).toBe(true);
    expect(p.payloadLength).toBe(1);
  });

  it('rejects fragments, bad header checksums, wrong protocols and every truncation', () => {
    const frag = buildUdpFrame(v4, new Uint8Array(20), { ipFragField: 0x2000 });
    expect(parseUdpFrame(frag, 0, frag.length, p)).toBe(false);
    const f = buildUdpFrame(v4, new Uint8Array(20));
    const bad = f.slice();
    bad[14 + 8] = bad[14 + 8]! ^ 1; // TTL changed, checksum not
    expect(parseUdpFrame(bad, 0, bad.length, p)).toBe(false);
    const tcp = f.slice();
    tcp[14 + 9] = 6;
    expect(parseUdpFrame(tcp, 0, tcp.length, p)).toBe(false);
    for (const g of [f, buildUdpFrame(v6, new Uint8Array(20))]) {
      for (let len = 0; len < g.length; len++) expect(parseUdpFrame(g, 0, len, p)).toBe(false);
    }
  });

  it('never throws or reads outside the frame on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (b) => {
        const ok = parseUdpFrame(b, 0, b.length, p);
        if (ok) expect(p.payloadOffset + p.payloadLength).toBeLessThanOrEqual(b.length);
      }),
    );
  });
});
