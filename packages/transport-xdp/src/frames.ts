/**
 * Ethernet + IPv4/IPv6 + UDP frames: building (full frames for tests and the
 * cold path, per-peer header templates for the hot path) and parsing of
 * received frames without allocation.
 *
 * Checksums: the IPv4 header checksum is always computed here (RFC 791/1071).
 * The UDP checksum (RFC 768, RFC 8200 section 8.1) is computed by
 * udpChecksum() for full frames; on the hot path the native TX copy fills it
 * in. Received UDP checksums are not verified: a veth peer hands over
 * CHECKSUM_PARTIAL packets whose checksum field holds only the pseudo-header
 * sum, and every datagram is authenticated by the protocol above anyway.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { formatIPv6 } from '@wraith/core';

export const ETH_HLEN = 14;
export const IPV4_HLEN = 20;
export const IPV6_HLEN = 40;
export const UDP_HLEN = 8;
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const IPPROTO_UDP = 17;
/** Ethernet + IPv6 + UDP: the longest header we write. */
export const MAX_HDR_LEN = ETH_HLEN + IPV6_HLEN + UDP_HLEN;

export function parseMac(s: string): Uint8Array {
  const parts = s.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new Error(`'${s}' is not a MAC address`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** An IP literal as 4 or 16 bytes. */
export function ipToBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`'${ip}' is not an IP address`);
  let s = ip.replace(/%.*$/, '');
  // An embedded dotted IPv4 tail becomes two hex groups.
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m?.[1]) {
    const v4 = ipToBytes(m[1]);
    s = s.slice(0, -m[1].length) + `${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** 4 or 16 bytes at `off` as an IP literal (IPv6 in the RFC 5952 short form). */
export function bytesToIp(b: Uint8Array, off: number, family: 4 | 6): string {
  if (family === 4) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  return formatIPv6(b, off);
}

/** One's-complement sum of b[start, end) as 16-bit big-endian words, unfolded. */
export function onesSum(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return sum;
}

/** Folds a sum to 16 bits and complements it (RFC 1071). */
export function foldComplement(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export interface UdpFrameSpec {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
}

export interface BuildOptions {
  /** Compute the UDP checksum (default true; IPv6 always has one). */
  udpChecksum?: boolean;
  /** IPv4 options (a multiple of 4 bytes, at most 40). */
  ipOptions?: Uint8Array;
  /** IPv4 flags + fragment offset field (default 0x4000, don't fragment). */
  ipFragField?: number;
  ttl?: number;
}

/** A complete frame: Ethernet, IPv4 or IPv6 (chosen by the addresses), UDP, payload. */
export function buildUdpFrame(spec: UdpFrameSpec, payload: Uint8Array, opts: BuildOptions = {}): Uint8Array {
  const src = ipToBytes(spec.srcIp);
  const dst = ipToBytes(spec.dstIp);
  if (src.length !== dst.length) throw new Error(`source ${spec.srcIp} and destination ${spec.dstIp} differ in family`);
  const v4 = src.length === 4;
  const optLen = opts.ipOptions?.length ?? 0;
  if (optLen % 4 !== 0 || optLen > 40 || (!v4 && optLen > 0)) throw new Error(`IPv4 options of ${optLen} bytes are invalid`);
  const ipLen = v4 ? IPV4_HLEN + optLen : IPV6_HLEN;
  const udpLen = UDP_HLEN + payload.length;
  const f = new Uint8Array(ETH_HLEN + ipLen + udpLen);
  const dv = new DataView(f.buffer);
  f.set(spec.dstMac.subarray(0, 6), 0);
  f.set(spec.srcMac.subarray(0, 6), 6);
  dv.setUint16(12, v4 ? ETH_P_IP : ETH_P_IPV6);
  const ip = ETH_HLEN;
  if (v4) {
    f[ip] = 0x40 | (ipLen / 4);
    dv.setUint16(ip + 2, ipLen + udpLen);
    dv.setUint16(ip + 6, opts.ipFragField ?? 0x4000);
    f[ip + 8] = opts.ttl ?? 64;
    f[ip + 9] = IPPROTO_UDP;
    f.set(src, ip + 12);
    f.set(dst, ip + 16);
    if (opts.ipOptions) f.set(opts.ipOptions, ip + IPV4_HLEN);
    dv.setUint16(ip + 10, foldComplement(onesSum(f, ip, ip + ipLen)));
  } else {
    f[ip] = 0x60;
    dv.setUint16(ip + 4, udpLen);
    f[ip + 6] = IPPROTO_UDP;
    f[ip + 7] = opts.ttl ?? 64;
    f.set(src, ip + 8);
    f.set(dst, ip + 24);
  }
  const udp = ip + ipLen;
  dv.setUint16(udp, spec.srcPort);
  dv.setUint16(udp + 2, spec.dstPort);
  dv.setUint16(udp + 4, udpLen);
  f.set(payload, udp + UDP_HLEN);
  if (!v4 || opts.udpChecksum !== false) dv.setUint16(udp + 6, udpChecksum(f));
  return f;
}

/** The UDP checksum a frame should carry (its own checksum field is ignored). */
export function udpChecksum(f: Uint8Array): number {
  const ethertype = (f[12]! << 8) | f[13]!;
  let sum: number;
  let udp: number;
  if (ethertype === ETH_P_IP) {
    const ihl = (f[ETH_HLEN]! & 0x0f) * 4;
    sum = onesSum(f, ETH_HLEN + 12, ETH_HLEN + 20);
    udp = ETH_HLEN + ihl;
  } else {
    sum = onesSum(f, ETH_HLEN + 8, ETH_HLEN + 40);
    udp = ETH_HLEN + IPV6_HLEN;
  }
  const udpLen = (f[udp + 4]! << 8) | f[udp + 5]!;
  sum += IPPROTO_UDP + udpLen;
  sum = onesSum(f, udp, udp + 6, sum); // the header without its checksum field
  sum = onesSum(f, udp + UDP_HLEN, udp + udpLen, sum);
  const c = foldComplement(sum);
  return c === 0 ? 0xffff : c;
}

/**
 * The fixed Ethernet + IP + UDP header towards one peer. write() stamps it
 * in front of a payload, patching only the length fields and the IPv4
 * header checksum (incrementally: RFC 1624). The UDP checksum is left zero
 * for the native TX path to fill in.
 */
export class HeaderTemplate {
  readonly bytes: Uint8Array;
  readonly family: 4 | 6;
  readonly length: number;
  /** Sum of the IPv4 header with a zero total length and checksum. */
  private readonly ipSum: number;

  constructor(spec: UdpFrameSpec) {
    const f = buildUdpFrame(spec, new Uint8Array(0), { udpChecksum: false });
    this.family = f.length === ETH_HLEN + IPV4_HLEN + UDP_HLEN ? 4 : 6;
    this.length = f.length;
    this.bytes = f;
    f[ETH_HLEN + 2] = f[ETH_HLEN + 3] = 0;
    f[ETH_HLEN + 10] = f[ETH_HLEN + 11] = 0;
    this.ipSum = this.family === 4 ? onesSum(f, ETH_HLEN, ETH_HLEN + IPV4_HLEN) : 0;
    if (this.family === 6) f[ETH_HLEN + 4] = f[ETH_HLEN + 5] = 0;
    f[this.length - 4] = f[this.length - 3] = 0; // UDP length
    f[this.length - 2] = f[this.length - 1] = 0; // UDP checksum
  }

  /** Writes the header for a payload of `payloadLen` bytes at dst[off]; returns its length. */
  write(dst: Uint8Array, off: number, payloadLen: number): number {
    dst.set(this.bytes, off);
    const udpLen = UDP_HLEN + payloadLen;
    const ip = off + ETH_HLEN;
    if (this.family === 4) {
      const total = IPV4_HLEN + udpLen;
      dst[ip + 2] = total >> 8;
      dst[ip + 3] = total & 0xff;
      const c = foldComplement(this.ipSum + total);
      dst[ip + 10] = c >> 8;
      dst[ip + 11] = c & 0xff;
    } else {
      dst[ip + 4] = udpLen >> 8;
      dst[ip + 5] = udpLen & 0xff;
    }
    const ulen = off + this.length - 4;
    dst[ulen] = udpLen >> 8;
    dst[ulen + 1] = udpLen & 0xff;
    return this.length;
  }
}

/** Where parseUdpFrame() puts what it found; reused across frames. */
export interface ParsedUdp {
  family: 4 | 6;
  /** Offset in the buffer of the source address (4 or 16 bytes). */
  srcIpOffset: number;
  srcPort: number;
  dstPort: number;
  /** Offset in the buffer of the destination address. */
  dstIpOffset: number;
  payloadOffset: number;
  payloadLength: number;
}

export function newParsedUdp(): ParsedUdp {
  return { family: 4, srcIpOffset: 0, srcPort: 0, dstPort: 0, dstIpOffset: 0, payloadOffset: 0, payloadLength: 0 };
}

/**
 * Parses b[off, off+len) as Ethernet + IPv4/IPv6 + UDP into `out`. Returns
 * false for anything else: other protocols, fragments, IPv6 extension
 * headers, bad IPv4 header checksums, lengths that do not add up.
 */
export function parseUdpFrame(b: Uint8Array, off: number, len: number, out: ParsedUdp): boolean {
  if (len < ETH_HLEN + IPV4_HLEN + UDP_HLEN) return false;
  const end = off + len;
  const ethertype = (b[off + 12]! << 8) | b[off + 13]!;
  const ip = off + ETH_HLEN;
  let udp: number;
  let ipEnd: number;
  if (ethertype === ETH_P_IP) {
    const vihl = b[ip]!;
    const ihl = (vihl & 0x0f) * 4;
    if (vihl >> 4 !== 4 || ihl < IPV4_HLEN || ip + ihl + UDP_HLEN > end) return false;
    if (b[ip + 9] !== IPPROTO_UDP) return false;
    if ((((b[ip + 6]! << 8) | b[ip + 7]!) & 0x3fff) !== 0) return false; // fragment
    const total = (b[ip + 2]! << 8) | b[ip + 3]!;
    if (total < ihl + UDP_HLEN || ip + total > end) return false;
    if (foldComplement(onesSum(b, ip, ip + ihl)) !== 0) return false; // header checksum
    out.family = 4;
    out.srcIpOffset = ip + 12;
    out.dstIpOffset = ip + 16;
    udp = ip + ihl;
    ipEnd = ip + total;
  } else if (ethertype === ETH_P_IPV6) {
    if (len < ETH_HLEN + IPV6_HLEN + UDP_HLEN || b[ip]! >> 4 !== 6 || b[ip + 6] !== IPPROTO_UDP) return false;
    const plen = (b[ip + 4]! << 8) | b[ip + 5]!;
    if (plen < UDP_HLEN || ip + IPV6_HLEN + plen > end) return false;
    out.family = 6;
    out.srcIpOffset = ip + 8;
    out.dstIpOffset = ip + 24;
    udp = ip + IPV6_HLEN;
    ipEnd = udp + plen;
  } else {
    return false;
  }
  const udpLen = (b[udp + 4]! << 8) | b[udp + 5]!;
  if (udpLen < UDP_HLEN || udp + udpLen > ipEnd) return false;
  out.srcPort = (b[udp]! << 8) | b[udp + 1]!;
  out.dstPort = (b[udp + 2]! << 8) | b[udp + 3]!;
  out.payloadOffset = udp + UDP_HLEN;
  out.payloadLength = udpLen - UDP_HLEN;
  return true;
}
