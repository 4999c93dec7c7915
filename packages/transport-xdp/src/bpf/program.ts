/**
 * The XDP program: UDP datagrams to one of our ports go to the AF_XDP socket
 * of the queue they arrived on; everything else — other traffic, anything
 * malformed, truncated or fragmented — continues to the kernel (XDP_PASS).
 *
 * Packet fields are loaded little-endian, so a big-endian field compares
 * against its byte-swapped constant (swap16).
 */
import { endianness } from 'node:os';
import { BpfAsm, R0, R1, R2, R3, R4, R5, R6, R7, R8, swap16 } from './asm.js';

/** XDP verdicts (include/uapi/linux/bpf.h enum xdp_action). */
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;

/** bpf_redirect_map helper id (include/uapi/linux/bpf.h __BPF_FUNC_MAPPER). */
const BPF_FUNC_redirect_map = 51;

// struct xdp_md field offsets.
const MD_DATA = 0;
const MD_DATA_END = 4;
const MD_RX_QUEUE_INDEX = 16;

const ETH_HLEN = 14;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPV4_MIN_HLEN = 20;
const IPV6_HLEN = 40;
const UDP_HLEN = 8;
const IPPROTO_UDP = 17;
/** IPv4 flags+fragment offset with MF and the 13-bit offset, as a little-endian load sees them. */
const IPV4_MF_OFFSET_MASK = swap16(0x3fff);

/** The most ports one program matches (compares are unrolled). */
export const MAX_PORTS = 16;

export interface XdpProgramSpec {
  /** UDP destination ports to redirect (1..MAX_PORTS of them). */
  readonly ports: readonly number[];
  /** fd of the XSKMAP keyed by RX queue index. */
  readonly xsksMapFd: number;
}

export function buildXdpProgram(spec: XdpProgramSpec): Buffer {
  if (endianness() !== 'LE') throw new Error('the XDP program builder assumes a little-endian host');
  const ports = [...new Set(spec.ports)];
  if (ports.length === 0 || ports.length > MAX_PORTS) throw new Error(`XDP program needs 1..${MAX_PORTS} ports, got ${ports.length}`);
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`UDP port ${p} is not in 1..65535`);
  }
  const a = new BpfAsm();

  // Keep the context: r1 is overwritten by the helper call's arguments.
  a.mov(R6, R1);

  // Packet bounds: r2 = data, r3 = data_end. Every load below is preceded by
  // a check against r3, which is what the verifier demands and what turns
  // truncated frames into XDP_PASS.
  a.ldx('w', R2, R1, MD_DATA);
  a.ldx('w', R3, R1, MD_DATA_END);

  // Ethernet: the whole header must be present; dispatch on the EtherType.
  // VLAN tags, ARP and everything else are not ours.
  a.mov(R4, R2).aluImm('add', R4, ETH_HLEN).jmpReg('jgt', R4, R3, 'pass');
  a.ldx('h', R5, R2, 12);
  a.jmpImm('jeq', R5, swap16(ETH_P_IP), 'ipv4');
  a.jmpImm('jeq', R5, swap16(ETH_P_IPV6), 'ipv6');
  a.ja('pass');

  // IPv4, fixed part: version 4, IHL >= 5 (r5 = header bytes, 20..60).
  a.label('ipv4');
  a.mov(R4, R2).aluImm('add', R4, ETH_HLEN + IPV4_MIN_HLEN).jmpReg('jgt', R4, R3, 'pass');
  a.ldx('b', R5, R2, ETH_HLEN);
  a.mov(R7, R5).aluImm('rsh', R7, 4).jmpImm('jne', R7, 4, 'pass');
  a.aluImm('and', R5, 0x0f).jmpImm('jlt', R5, 5, 'pass').aluImm('lsh', R5, 2);

  // IPv4: protocol UDP, and not a fragment (MF set or a non-zero offset:
  // only the kernel can reassemble).
  a.ldx('b', R7, R2, ETH_HLEN + 9).jmpImm('jne', R7, IPPROTO_UDP, 'pass');
  a.ldx('h', R7, R2, ETH_HLEN + 6).aluImm('and', R7, IPV4_MF_OFFSET_MASK).jmpImm('jne', R7, 0, 'pass');

  // IPv4 total length: at least header + UDP header, and all of it inside
  // the frame (shorter frames are truncated; padding after it is fine).
  a.ldx('h', R7, R2, ETH_HLEN + 2).be(R7, 16).aluImm('and', R7, 0xffff);
  a.mov(R8, R5).aluImm('add', R8, UDP_HLEN).jmpReg('jlt', R7, R8, 'pass');
  a.mov(R4, R2).aluImm('add', R4, ETH_HLEN).aluReg('add', R4, R7).jmpReg('jgt', R4, R3, 'pass');

  // UDP header after the IPv4 options: r4 = its start; r5 = destination port.
  a.aluImm('add', R5, ETH_HLEN);
  a.mov(R4, R2).aluReg('add', R4, R5);
  a.mov(R8, R4).aluImm('add', R8, UDP_HLEN).jmpReg('jgt', R8, R3, 'pass');
  a.ldx('h', R5, R4, 2);
  a.ja('ports');

  // IPv6: fixed header plus a UDP header present, version 6, and UDP as the
  // very next header. Extension headers (the fragment header among them)
  // go to the kernel.
  a.label('ipv6');
  a.mov(R4, R2).aluImm('add', R4, ETH_HLEN + IPV6_HLEN + UDP_HLEN).jmpReg('jgt', R4, R3, 'pass');
  a.ldx('b', R5, R2, ETH_HLEN).aluImm('rsh', R5, 4).jmpImm('jne', R5, 6, 'pass');
  a.ldx('b', R5, R2, ETH_HLEN + 6).jmpImm('jne', R5, IPPROTO_UDP, 'pass');

  // IPv6 payload length: at least a UDP header and all of it inside the frame.
  a.ldx('h', R7, R2, ETH_HLEN + 4).be(R7, 16).aluImm('and', R7, 0xffff).jmpImm('jlt', R7, UDP_HLEN, 'pass');
  a.mov(R4, R2).aluImm('add', R4, ETH_HLEN + IPV6_HLEN).aluReg('add', R4, R7).jmpReg('jgt', R4, R3, 'pass');
  a.ldx('h', R5, R2, ETH_HLEN + IPV6_HLEN + 2);

  // Destination port in our set?
  a.label('ports');
  for (const p of ports) a.jmpImm('jeq', R5, swap16(p), 'redirect');
  a.ja('pass');

  // Ours: to the socket of this RX queue. With no socket in that slot the
  // helper returns its flags argument, XDP_PASS, so the kernel gets it.
  a.label('redirect');
  a.ldx('w', R2, R6, MD_RX_QUEUE_INDEX);
  a.ldMapFd(R1, spec.xsksMapFd);
  a.movImm(R3, XDP_PASS);
  a.call(BPF_FUNC_redirect_map);
  a.exit();

  a.label('pass');
  a.movImm(R0, XDP_PASS);
  a.exit();

  return a.assemble();
}
