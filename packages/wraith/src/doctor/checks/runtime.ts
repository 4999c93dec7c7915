/** af_xdp_socket, io_uring and native_addon: what the addon and the kernel let this process do. */
import { classifyErrno, errnoName } from '../errno.js';
import { unitRemedy } from '../remedy.js';
import { check, skipped, type DoctorContext } from './context.js';
import type { Check } from '../types.js';

export function nativeAddonCheck(ctx: DoctorContext): Check {
  const m = ctx.sys.nativeModule();
  if (m.native === null) {
    return check('native_addon', 'warn', `not loaded: ${m.loadError ?? 'unknown reason'}; UDP and fs fallbacks work, AF_XDP and io_uring do not`, {
      code: 'E_NATIVE_UNAVAILABLE', remedy: 'npm rebuild @wraith/native (needs a C++ compiler and the Node headers)',
    });
  }
  const areas = [['xdp', 'AF_XDP'], ['uringProbe', 'io_uring'], ['crypto', 'crypto'], ['fsOpenat2', 'safe fs']]
    .filter(([key]) => m.native![key!] !== undefined)
    .map(([, label]) => label);
  const abi = typeof m.native.abiVersion === 'number' || typeof m.native.abiVersion === 'string' ? `ABI ${String(m.native.abiVersion)}, ` : '';
  return check('native_addon', 'ok', `loaded (${abi}${areas.join(', ')})`);
}

export function afXdpSocketCheck(ctx: DoctorContext): Check {
  const x = ctx.sys.nativeModule().native?.xdp as { afXdpErrno?: () => number } | undefined;
  if (x === undefined || typeof x.afXdpErrno !== 'function') return skipped('af_xdp_socket', 'the native addon with its AF_XDP area (see native_addon)');
  const errno = x.afXdpErrno();
  if (errno === 0) return check('af_xdp_socket', 'ok', 'socket(AF_XDP) works');
  const c = classifyErrno(errno);
  const remedy = c.kind === 'capability'
    ? unitRemedy({ caps: true, memlock: true })
    : c.kind === 'missing'
      ? 'use a kernel built with CONFIG_XDP_SOCKETS=y, or transport = "udp"'
      : 'see the kernel log (dmesg); transport = "udp" works without AF_XDP';
  return check('af_xdp_socket', 'fail', `socket(AF_XDP): ${errnoName(errno)}: ${c.meaning}`, { code: 'E_XDP_UNAVAILABLE', remedy });
}

const URING_SYSCTL: Record<string, string> = {
  '0': 'allowed for all',
  '1': 'allowed only for kernel.io_uring_group members and privileged processes',
  '2': 'disabled',
};

export async function ioUringCheck(ctx: DoctorContext): Promise<Check> {
  const path = '/proc/sys/kernel/io_uring_disabled';
  const sysctl = ctx.sys.readText(path)?.trim();
  const sysctlText = sysctl === undefined ? 'kernel.io_uring_disabled absent (older kernel: allowed)' : `kernel.io_uring_disabled = ${sysctl} (${URING_SYSCTL[sysctl] ?? 'unknown value'})`;
  const probe = await ctx.sys.ioUringProbe();
  const dbg = { debug: `${path}: ${sysctl ?? '(absent)'}\nprobe: ${JSON.stringify(probe)}` };
  if (probe === null) {
    // No addon: only the sysctl can be read; wraith needs the addon for io_uring anyway.
    return check('io_uring', 'warn', `${sysctlText}; not probed: the native addon is not loaded, so the fs backend is used`, {
      ...dbg, code: 'E_IO_URING_UNAVAILABLE', remedy: 'build the native addon (see native_addon)',
    }, ctx.debug);
  }
  if (probe.ok) return check('io_uring', 'ok', `io_uring_setup works; ${sysctlText}`, dbg, ctx.debug);
  const errno = probe.errno !== undefined ? `${errnoName(probe.errno)}: ${classifyErrno(probe.errno).meaning}; ` : '';
  const remedy = sysctl === '2' ? 'sysctl -w kernel.io_uring_disabled=0 to allow it (a security trade-off)'
    : sysctl === '1' ? 'add the service user to kernel.io_uring_group, or sysctl -w kernel.io_uring_disabled=0'
      : 'a container runtime may block io_uring with seccomp; [io] backend = "fs" avoids it';
  return check('io_uring', 'warn', `unavailable: ${errno}${probe.reason ?? 'probe failed'}; ${sysctlText}; the fs backend is used`, {
    ...dbg, code: probe.code ?? 'E_IO_URING_UNAVAILABLE', remedy,
  }, ctx.debug);
}
