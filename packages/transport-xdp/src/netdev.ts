/**
 * What sysfs and /proc say about an interface and this process: queue
 * count, MTU, MAC, NUMA node, operational state, capabilities, limits.
 * All cold-path, synchronous reads.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

export function validIfName(name: string): boolean {
  return IFNAME.test(name) && name !== '.' && name !== '..';
}

function sysfs(ifname: string, file: string): string | null {
  if (!validIfName(ifname)) return null;
  try {
    return readFileSync(`/sys/class/net/${ifname}/${file}`, 'utf8').trim();
  } catch {
    return null;
  }
}

export function interfaceExists(ifname: string): boolean {
  return sysfs(ifname, 'ifindex') !== null;
}

/** RX queue indices from /sys/class/net/IF/queues/rx-*. */
export function rxQueues(ifname: string): number[] {
  if (!validIfName(ifname)) return [];
  try {
    return readdirSync(`/sys/class/net/${ifname}/queues`)
      .filter((n) => /^rx-\d+$/.test(n))
      .map((n) => Number(n.slice(3)))
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

export function mtu(ifname: string): number | null {
  const v = sysfs(ifname, 'mtu');
  return v === null ? null : Number(v);
}

export function macAddress(ifname: string): string | null {
  return sysfs(ifname, 'address');
}

/** 'up', 'down', 'unknown', ... (operstate); null when absent. */
export function operState(ifname: string): string | null {
  return sysfs(ifname, 'operstate');
}

/** IFF_UP from the flags word (virtual devices often report operstate 'unknown'). */
export function adminUp(ifname: string): boolean {
  const v = sysfs(ifname, 'flags');
  return v !== null && (parseInt(v, 16) & 0x1) !== 0;
}

/** NUMA node of the device, -1 when unknown or virtual. */
export function numaNode(ifname: string): number {
  const v = sysfs(ifname, 'device/numa_node');
  return v === null ? -1 : Number(v);
}

/** Driver name from the device's sysfs link, null for virtual devices. */
export function sysfsDriver(ifname: string): string | null {
  if (!validIfName(ifname)) return null;
  try {
    return basename(readlinkSync(`/sys/class/net/${ifname}/device/driver`));
  } catch {
    return null;
  }
}

/** Effective capability bits from /proc/self/status (CapEff). */
export function effectiveCaps(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

/** Capability numbers (include/uapi/linux/capability.h). */
export const CAP = { NET_ADMIN: 12, NET_RAW: 13, IPC_LOCK: 14, SYS_ADMIN: 21, BPF: 39 } as const;

export function hasCap(caps: bigint, cap: number): boolean {
  return ((caps >> BigInt(cap)) & 1n) === 1n;
}

/** RLIMIT_MEMLOCK soft limit in bytes (Infinity when unlimited), from /proc/self/limits. */
export function memlockLimit(): number {
  try {
    const m = /^Max locked memory\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m?.[1]) return 0;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return 0;
  }
}

/** Free and total 2 MiB huge pages from /proc/meminfo. */
export function hugePages(): { total: number; free: number } {
  try {
    const t = readFileSync('/proc/meminfo', 'utf8');
    const total = Number(/^HugePages_Total:\s*(\d+)/m.exec(t)?.[1] ?? 0);
    const free = Number(/^HugePages_Free:\s*(\d+)/m.exec(t)?.[1] ?? 0);
    return { total, free };
  } catch {
    return { total: 0, free: 0 };
  }
}

/** Kernel release, e.g. '6.18.44', and [major, minor]. */
export function kernelVersion(): { release: string; major: number; minor: number } {
  let release = '';
  try {
    release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {}
  const m = /^(\d+)\.(\d+)/.exec(release);
  return { release, major: Number(m?.[1] ?? 0), minor: Number(m?.[2] ?? 0) };
}
