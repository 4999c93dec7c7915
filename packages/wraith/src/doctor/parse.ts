/** Parsers for what /proc, /sys and iproute2 print. Pure functions. */

export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** "6.18.44-fc-v769" -> 6.18.44; null when it does not start with numbers. */
export function parseKernelRelease(release: string): KernelVersion | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release.trim());
  if (m === null) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

export function atLeast(v: KernelVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** CONFIG_X values from a kernel config: "y", "m", a string, or "n" for "# CONFIG_X is not set". */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (set !== null) {
      out.set(set[1]!, set[2]!.replace(/^"|"$/g, ''));
      continue;
    }
    const unset = /^# (CONFIG_[A-Z0-9_]+) is not set$/.exec(line);
    if (unset !== null) out.set(unset[1]!, 'n');
  }
  return out;
}

/** Capability bit numbers (linux/capability.h). */
export const CAP = {
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_SYS_ADMIN: 21,
  CAP_BPF: 39,
} as const;
export type CapName = keyof typeof CAP;

/** The CapEff mask from /proc/self/status; null when absent. */
export function parseCapEff(status: string): bigint | null {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m === null ? null : BigInt(`0x${m[1]}`);
}

export function hasCap(mask: bigint, cap: CapName): boolean {
  return (mask & (1n << BigInt(CAP[cap]))) !== 0n;
}

/** "Max locked memory" soft limit in bytes from /proc/self/limits; Infinity for unlimited. */
export function parseMemlock(limits: string): number | null {
  const m = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(limits);
  if (m === null) return null;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

export interface HugePages {
  readonly total: number;
  readonly free: number;
  /** Bytes. */
  readonly size: number;
}

export function parseMeminfo(meminfo: string): HugePages | null {
  const num = (key: string): number | null => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo);
    return m === null ? null : Number(m[1]);
  };
  const total = num('HugePages_Total');
  const free = num('HugePages_Free');
  const sizeKb = num('Hugepagesize');
  if (total === null || free === null) return null;
  return { total, free, size: (sizeKb ?? 0) * 1024 };
}

/** What `ip -j -d link show dev IF` says about one interface. */
export interface IpLink {
  readonly ifname: string;
  readonly kind: string | null;
  readonly numRxQueues: number | null;
  readonly numTxQueues: number | null;
  readonly operstate: string | null;
  readonly mtu: number | null;
  /** null when no XDP program is attached. */
  readonly xdp: { readonly mode: string; readonly progId: number | null; readonly progName: string | null } | null;
}

const XDP_MODES: Record<number, string> = { 1: 'native', 2: 'generic', 3: 'offload', 4: 'multi' };

export function parseIpLink(json: string): IpLink | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  const e = Array.isArray(v) ? (v[0] as Record<string, unknown> | undefined) : undefined;
  if (e === undefined || typeof e.ifname !== 'string') return null;
  const linkinfo = e.linkinfo as { info_kind?: unknown } | undefined;
  const xdp = e.xdp as { mode?: unknown; prog?: { id?: unknown; name?: unknown }; attached?: Array<{ mode?: unknown; prog?: { id?: unknown; name?: unknown } }> } | undefined;
  let xdpInfo: IpLink['xdp'] = null;
  if (xdp !== undefined && xdp !== null) {
    const prog = xdp.prog ?? xdp.attached?.[0]?.prog;
    const mode = typeof xdp.mode === 'number' ? (XDP_MODES[xdp.mode] ?? String(xdp.mode)) : 'unknown';
    xdpInfo = {
      mode,
      progId: typeof prog?.id === 'number' ? prog.id : null,
      progName: typeof prog?.name === 'string' ? prog.name : null,
    };
  }
  const num = (x: unknown): number | null => (typeof x === 'number' ? x : null);
  return {
    ifname: e.ifname,
    kind: typeof linkinfo?.info_kind === 'string' ? linkinfo.info_kind : null,
    numRxQueues: num(e.num_rx_queues),
    numTxQueues: num(e.num_tx_queues),
    operstate: typeof e.operstate === 'string' ? e.operstate : null,
    mtu: num(e.mtu),
    xdp: xdpInfo,
  };
}

/** The interface of the default IPv4 route from /proc/net/route; null when there is none. */
export function defaultRouteInterface(procNetRoute: string): string | null {
  for (const line of procNetRoute.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[1] === '00000000' && f[7] === '00000000') return f[0]!;
  }
  return null;
}

/** 'rx-0', 'rx-1', ... in /sys/class/net/IF/queues. */
export function countRxQueues(entries: readonly string[]): number {
  return entries.filter((n) => /^rx-\d+$/.test(n)).length;
}
