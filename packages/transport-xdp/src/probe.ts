/**
 * Can AF_XDP run on this interface, here, now? A list of checks, each with a
 * reason and a remedy an operator can apply (systemd unit lines, sysctl,
 * ulimit, ethtool). The node logs xdpUnavailableMessage() and falls back to
 * UDP when ok is false. Read-only: nothing is loaded or attached.
 */
import { execFileSync } from 'node:child_process';
import type { ErrorCode } from '@wraith/core';
import { loadNativeXdp } from './native.js';
import * as netdev from './netdev.js';

export interface XdpCheck {
  name: string;
  ok: boolean;
  /** The error a transport start would fail with; null when ok. */
  code: ErrorCode | null;
  reason: string;
  /** What to change; empty when ok. */
  remedy: string;
}

export interface XdpProbe {
  ok: boolean;
  interface: string;
  checks: XdpCheck[];
  /** The first failing check's reason; null when ok. */
  reason: string | null;
}

export interface ProbeOptions {
  frameSize?: 2048 | 4096;
  /** UMEM bytes the transport will lock (all queues); default 16 MiB (one queue, default rings). */
  umemBytes?: number;
}

/** Minimum kernel: BPF links for XDP (5.9) and need_wakeup/XDP_STATISTICS fields (5.9). */
const MIN_KERNEL: [number, number] = [5, 10];
/** RX data starts this far into a copy-mode frame (XDP_PACKET_HEADROOM). */
const XDP_HEADROOM = 256;
const CAPS_REMEDY =
  'run the node with the capabilities it needs, e.g. in its systemd unit: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN CAP_BPF CAP_IPC_LOCK and CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN CAP_BPF CAP_IPC_LOCK';

export function xdpUnavailableMessage(p: XdpProbe): string {
  return `XDP unavailable: falling back to UDP (${p.reason ?? 'unknown reason'})`;
}

export function probeXdp(ifname: string, opts: ProbeOptions = {}): XdpProbe {
  const checks: XdpCheck[] = [];
  const pass = (name: string, reason: string): void => {
    checks.push({ name, ok: true, code: null, reason, remedy: '' });
  };
  const fail = (name: string, reason: string, remedy: string, code: ErrorCode = 'E_XDP_UNAVAILABLE'): void => {
    checks.push({ name, ok: false, code, reason, remedy });
  };

  const { xdp, reason: nativeReason } = loadNativeXdp();
  if (xdp) pass('native', 'native addon with AF_XDP support loaded');
  else fail('native', nativeReason ?? 'native addon missing', 'reinstall so the native addon builds (npm rebuild @wraith/native); a C++ compiler and the Node headers are needed');

  const k = netdev.kernelVersion();
  if (k.major > MIN_KERNEL[0] || (k.major === MIN_KERNEL[0] && k.minor >= MIN_KERNEL[1])) pass('kernel', `Linux ${k.release}`);
  else fail('kernel', `Linux ${k.release || 'unknown'} is older than ${MIN_KERNEL.join('.')}`, `upgrade to Linux ${MIN_KERNEL.join('.')} or later`);

  const caps = netdev.effectiveCaps();
  const missing: string[] = [];
  if (!netdev.hasCap(caps, netdev.CAP.NET_RAW)) missing.push('CAP_NET_RAW');
  if (!netdev.hasCap(caps, netdev.CAP.NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  if (!netdev.hasCap(caps, netdev.CAP.BPF) && !netdev.hasCap(caps, netdev.CAP.SYS_ADMIN)) missing.push('CAP_BPF');
  if (missing.length === 0) pass('capabilities', 'CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF are effective');
  else fail('capabilities', `missing ${missing.join(', ')}`, CAPS_REMEDY);

  if (xdp) {
    const err = xdp.afXdpErrno();
    if (err === 0) pass('af_xdp', 'AF_XDP sockets can be created');
    else if (err === 1 || err === 13) fail('af_xdp', `socket(AF_XDP) is not permitted (errno ${err})`, CAPS_REMEDY);
    else fail('af_xdp', `socket(AF_XDP) fails with errno ${err}`, 'use a kernel built with CONFIG_XDP_SOCKETS=y');
  }

  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore', timeout: 2000 });
    pass('iproute2', 'the ip command is available (addresses, routes, neighbours)');
  } catch {
    fail('iproute2', 'the ip command is missing', 'install iproute2: next hops and addresses are read with it');
  }

  const exists = netdev.interfaceExists(ifname);
  if (!exists) fail('interface', `no interface '${ifname}'`, 'name an existing interface (ip link)');
  else if (!netdev.adminUp(ifname) || netdev.operState(ifname) === 'down') {
    fail('interface', `${ifname} is down (operstate ${netdev.operState(ifname) ?? '?'})`, `ip link set dev ${ifname} up, and check the cable or peer`);
  } else pass('interface', `${ifname} is up`);

  if (exists && xdp) {
    let driver = netdev.sysfsDriver(ifname);
    try {
      driver = xdp.ethtoolDriver(ifname).driver || driver;
    } catch {}
    pass('driver', driver ? `driver ${driver}` : 'driver unknown');

    const queues = netdev.rxQueues(ifname);
    let channels = '';
    try {
      const ch = xdp.ethtoolChannels(ifname);
      if (ch) channels = ` (channels: combined ${ch.combined}/${ch.maxCombined}, rx ${ch.rx}/${ch.maxRx})`;
    } catch {}
    if (queues.length > 0) pass('queues', `${queues.length} RX queue(s)${channels}; one AF_XDP socket each`);
    else fail('queues', `${ifname} reports no RX queues`, `ethtool -L ${ifname} combined N to enable queues`);

    const ifindex = xdp.ifIndex(ifname);
    try {
      const q = ifindex ? xdp.xdpQuery(ifindex) : null;
      if (!q || q.attached === 'none') pass('xdp_attached', 'no XDP program attached');
      else
        fail(
          'xdp_attached',
          `an XDP program (id ${q.progId || q.drvProgId || q.skbProgId}) is already attached in ${q.attached} mode`,
          `it is left alone: detach it yourself (ip link set dev ${ifname} xdp off) only if nothing needs it, or use another interface`,
          'E_XDP_BUSY',
        );
    } catch (e) {
      fail('xdp_attached', `cannot query XDP state: ${(e as Error).message}`, CAPS_REMEDY);
    }

    const frameSize = opts.frameSize ?? 2048;
    const mtu = netdev.mtu(ifname) ?? 1500;
    if (mtu + 14 <= frameSize - XDP_HEADROOM) pass('mtu', `MTU ${mtu} fits a ${frameSize}-byte frame`);
    else
      fail(
        'mtu',
        `MTU ${mtu} frames do not fit a ${frameSize}-byte UMEM frame after ${XDP_HEADROOM} bytes of headroom`,
        frameSize === 2048 ? 'set frame_size = 4096, or lower the MTU' : `lower the MTU to ${frameSize - XDP_HEADROOM - 14}`,
      );
  }

  const needed = opts.umemBytes ?? 16 << 20;
  const limit = netdev.memlockLimit();
  if (netdev.hasCap(caps, netdev.CAP.IPC_LOCK)) pass('memlock', 'CAP_IPC_LOCK: UMEM is exempt from RLIMIT_MEMLOCK');
  else if (limit >= needed) pass('memlock', `RLIMIT_MEMLOCK ${limit === Infinity ? 'unlimited' : `${limit} bytes`} covers ${needed} bytes of UMEM`);
  else
    fail(
      'memlock',
      `RLIMIT_MEMLOCK ${limit} bytes is below the ${needed} bytes of UMEM`,
      'grant CAP_IPC_LOCK (AmbientCapabilities=CAP_IPC_LOCK), or raise the limit: LimitMEMLOCK=infinity in the unit, or ulimit -l unlimited',
    );

  const hp = netdev.hugePages();
  pass(
    'huge_pages',
    hp.total > 0 ? `${hp.free} of ${hp.total} huge pages free` : 'no huge pages reserved; UMEM uses normal pages (sysctl vm.nr_hugepages=N to reserve, then huge_pages = true)',
  );

  const failed = checks.find((c) => !c.ok);
  return { ok: failed === undefined, interface: ifname, checks, reason: failed ? `${failed.name}: ${failed.reason}` : null };
}
