/**
 * The interface AF_XDP would use: interface (exists, up), interface_driver, interface_queues,
 * interface_numa, xdp_attached (`ip -j -d link show dev IF`) and zero_copy (a driver list).
 */
import { basename } from 'node:path';
import { countRxQueues, parseIpLink, type IpLink } from '../parse.js';
import { check, skipped, type DoctorContext } from './context.js';
import type { Check } from '../types.js';

/** The XDP program name the AF_XDP transport loads (transport-xdp attach.ts). */
export const WRAITH_PROG_NAME = 'wraith_xdp';

const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

/**
 * Drivers with AF_XDP zero-copy support in mainline Linux (heuristic: versions and firmware
 * vary; the transport tries zero-copy and falls back to copy mode when it is refused).
 */
export const ZERO_COPY_DRIVERS: ReadonlySet<string> = new Set([
  'i40e', 'ice', 'ixgbe', 'igc', 'igb', 'idpf', 'mlx5_core', 'stmmac', 'ena', 'virtio_net', 'gve', 'fec', 'tsnep', 'octeontx2-nicpf', 'bnxt_en',
]);

interface IfaceInfo {
  readonly name: string;
  readonly link: IpLink | null;
  readonly ipOutput: string | null;
  readonly driver: string | null;
  readonly driverSource: string;
}

function sysfs(ctx: DoctorContext, name: string, file: string): string | null {
  return ctx.sys.readText(`/sys/class/net/${name}/${file}`)?.trim() ?? null;
}

function nativeXdp(ctx: DoctorContext): Record<string, unknown> | null {
  const x = ctx.sys.nativeModule().native?.xdp;
  return x !== null && typeof x === 'object' ? (x as Record<string, unknown>) : null;
}

function gather(ctx: DoctorContext, name: string): IfaceInfo {
  const r = ctx.sys.run('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
  const ipOutput = r === null ? null : `$ ip -j -d link show dev ${name}\n${r.stdout}${r.stderr}`;
  const link = r !== null && r.code === 0 ? parseIpLink(r.stdout) : null;
  const devDriver = ctx.sys.readlink(`/sys/class/net/${name}/device/driver`);
  if (devDriver !== null) return { name, link, ipOutput, driver: basename(devDriver), driverSource: 'sysfs' };
  if (link?.kind != null) return { name, link, ipOutput, driver: link.kind, driverSource: 'ip link kind' };
  const x = nativeXdp(ctx);
  if (x !== null && typeof x.ethtoolDriver === 'function') {
    try {
      const d = (x.ethtoolDriver as (n: string) => { driver: string })(name).driver;
      if (d !== '') return { name, link, ipOutput, driver: d, driverSource: 'ethtool' };
    } catch {
      // fall through: unknown
    }
  }
  return { name, link, ipOutput, driver: null, driverSource: 'none' };
}

export function interfaceChecks(ctx: DoctorContext): Check[] {
  const names = ['interface', 'interface_driver', 'interface_queues', 'interface_numa', 'xdp_attached', 'zero_copy'] as const;
  if (ctx.iface === null) {
    return names.map((n) => skipped(n, 'an interface: pass --interface IF (there is no default IPv4 route to pick one from)'));
  }
  const name = ctx.iface;
  if (!IFNAME.test(name) || ctx.sys.readText(`/sys/class/net/${name}/ifindex`) === null) {
    return [
      check('interface', 'fail', `no interface ${JSON.stringify(name)} in this network namespace`, {
        code: 'E_CONFIG', remedy: 'name an existing interface (ip link) with --interface or [network] xdp_interface',
      }),
      ...names.slice(1).map((n) => skipped(n, `an existing interface (${name} does not exist)`)),
    ];
  }
  const info = gather(ctx, name);
  return [
    presence(ctx, info),
    driverCheck(ctx, info),
    queuesCheck(ctx, info),
    numaCheck(ctx, info),
    attachedCheck(ctx, info),
    zeroCopyCheck(ctx, info),
  ];
}

function presence(ctx: DoctorContext, info: IfaceInfo): Check {
  const oper = info.link?.operstate ?? sysfs(ctx, info.name, 'operstate') ?? 'unknown';
  const flags = Number.parseInt(sysfs(ctx, info.name, 'flags') ?? '0', 16);
  const up = (flags & 0x1) !== 0;
  const mtu = info.link?.mtu ?? Number(sysfs(ctx, info.name, 'mtu') ?? NaN);
  const how = ctx.ifaceSource === 'flag' ? '--interface' : 'the default route';
  const found = `${info.name} (from ${how}), ${up ? 'up' : 'down'}, operstate ${oper.toLowerCase()}, MTU ${mtu}`;
  if (!up || oper.toLowerCase() === 'down') {
    return check('interface', 'fail', found, { code: 'E_XDP_UNAVAILABLE', remedy: `ip link set dev ${info.name} up, and check the link (cable, peer)`, debug: info.ipOutput }, ctx.debug);
  }
  return check('interface', 'ok', found, { debug: info.ipOutput }, ctx.debug);
}

function driverCheck(ctx: DoctorContext, info: IfaceInfo): Check {
  if (info.driver === null) {
    return check('interface_driver', 'warn', `the driver of ${info.name} is unknown (no sysfs device, no link kind, no ethtool answer)`, { debug: info.ipOutput }, ctx.debug);
  }
  return check('interface_driver', 'ok', `driver ${info.driver} (${info.driverSource})`, { debug: info.ipOutput }, ctx.debug);
}

function queuesCheck(ctx: DoctorContext, info: IfaceInfo): Check {
  const entries = ctx.sys.readdir(`/sys/class/net/${info.name}/queues`);
  const rx = entries !== null ? countRxQueues(entries) : (info.link?.numRxQueues ?? null);
  const tx = entries !== null ? entries.filter((e) => /^tx-\d+$/.test(e)).length : (info.link?.numTxQueues ?? null);
  const dbg = { debug: `/sys/class/net/${info.name}/queues: ${entries?.sort().join(' ') ?? '(unreadable)'}` };
  if (rx === null) return skipped('interface_queues', `/sys/class/net/${info.name}/queues or ip link output`);
  if (rx === 0) {
    return check('interface_queues', 'fail', `${info.name} reports no RX queues`, { ...dbg, code: 'E_XDP_UNAVAILABLE', remedy: `ethtool -L ${info.name} combined N` }, ctx.debug);
  }
  const allocated = entries !== null && info.link?.numRxQueues != null && info.link.numRxQueues !== rx ? ` (${info.link.numRxQueues} allocated)` : '';
  return check('interface_queues', 'ok', `${rx} RX queue${rx === 1 ? '' : 's'}${allocated}, ${tx ?? '?'} TX: one AF_XDP socket per RX queue`, dbg, ctx.debug);
}

function numaCheck(ctx: DoctorContext, info: IfaceInfo): Check {
  const node = sysfs(ctx, info.name, 'device/numa_node');
  if (node === null) {
    const hasDevice = ctx.sys.readlink(`/sys/class/net/${info.name}/device`) !== null;
    return check('interface_numa', 'ok', hasDevice ? 'the device reports no NUMA node' : 'no NUMA node: a virtual device without a bus device');
  }
  if (node === '-1') return check('interface_numa', 'ok', 'the device reports no NUMA affinity (-1)');
  const cpus = ctx.sys.readText(`/sys/devices/system/node/node${node}/cpulist`)?.trim();
  return check('interface_numa', 'ok', `NUMA node ${node}${cpus !== undefined ? `, CPUs ${cpus}` : ''}`, {
    remedy: cpus !== undefined ? `run the AF_XDP queues there: [xdp] cpus within ${cpus}` : undefined,
  });
}

function attachedCheck(ctx: DoctorContext, info: IfaceInfo): Check {
  let xdp: IpLink['xdp'] = info.link?.xdp ?? null;
  let source = 'ip link';
  if (info.link === null) {
    const x = nativeXdp(ctx);
    if (x === null || typeof x.xdpQuery !== 'function' || typeof x.ifIndex !== 'function') {
      return skipped('xdp_attached', 'iproute2 (`ip -j -d link`) or the native addon to query the XDP state');
    }
    try {
      const q = (x.xdpQuery as (i: number) => { attached: string; progId: number; drvProgId: number; skbProgId: number })((x.ifIndex as (n: string) => number)(info.name));
      xdp = q.attached === 'none' ? null : { mode: q.attached, progId: q.progId || q.drvProgId || q.skbProgId || null, progName: null };
      source = 'netlink query';
    } catch (e) {
      return check('xdp_attached', 'warn', `cannot query the XDP state of ${info.name}: ${(e as Error).message}`);
    }
  }
  if (xdp === null) return check('xdp_attached', 'ok', `no XDP program attached to ${info.name}`, { debug: info.ipOutput }, ctx.debug);
  const prog = `program ${xdp.progId ?? '?'}${xdp.progName !== null ? ` "${xdp.progName}"` : ''}`;
  if (xdp.progName === WRAITH_PROG_NAME) {
    return check('xdp_attached', 'ok', `wraith's own XDP ${prog} is attached in ${xdp.mode} mode (a wraith daemon runs on ${info.name})`, { debug: info.ipOutput }, ctx.debug);
  }
  return check('xdp_attached', 'fail', `another XDP ${prog} is attached to ${info.name} in ${xdp.mode} mode (${source}): attaching fails with EBUSY`, {
    code: 'E_XDP_BUSY', debug: info.ipOutput,
    remedy: `wraith leaves it alone: if nothing needs it, detach it (ip link set dev ${info.name} xdp off), or use another interface`,
  }, ctx.debug);
}

function zeroCopyCheck(ctx: DoctorContext, info: IfaceInfo): Check {
  if (info.driver === null) return skipped('zero_copy', 'a known driver (see interface_driver)');
  if (ZERO_COPY_DRIVERS.has(info.driver)) {
    return check('zero_copy', 'ok', `${info.driver} supports AF_XDP zero-copy in mainline Linux (heuristic; the transport tries it and falls back to copy mode)`);
  }
  return check('zero_copy', 'warn', `no: ${info.driver} has no AF_XDP zero-copy; copy mode is used${info.driver === 'veth' ? ' (veth refuses XDP_ZEROCOPY with EOPNOTSUPP)' : ''}`, {
    remedy: '[xdp] zero_copy = "auto" (the default) uses copy mode here; "on" would fail',
  });
}
