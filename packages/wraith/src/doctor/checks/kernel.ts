/** kernel_version and kernel_config. */
import { atLeast, parseKernelConfig } from '../parse.js';
import { check, skipped, type DoctorContext } from './context.js';
import type { Check } from '../types.js';

/** AF_XDP sockets: 4.18. BPF links for XDP (how wraith attaches, gone with the process): 5.9. */
export const MIN_AF_XDP: [number, number] = [4, 18];
export const MIN_XDP_LINK: [number, number] = [5, 9];

export function kernelVersionCheck(ctx: DoctorContext): Check {
  const k = ctx.kernel;
  const dbg = { debug: `uname -r: ${ctx.release}` };
  if (k === null) return check('kernel_version', 'warn', `cannot parse the kernel release ${JSON.stringify(ctx.release)}`, dbg, ctx.debug);
  const v = `Linux ${ctx.release}`;
  if (!atLeast(k, ...MIN_AF_XDP)) {
    return check('kernel_version', 'fail', `${v}: AF_XDP needs ${MIN_AF_XDP.join('.')} or later`, {
      ...dbg, code: 'E_XDP_UNAVAILABLE', remedy: `upgrade to Linux ${MIN_XDP_LINK.join('.')} or later, or use transport = "udp"`,
    }, ctx.debug);
  }
  if (!atLeast(k, ...MIN_XDP_LINK)) {
    return check('kernel_version', 'fail', `${v}: has AF_XDP, but BPF links for XDP (how wraith attaches) need ${MIN_XDP_LINK.join('.')}`, {
      ...dbg, code: 'E_XDP_UNAVAILABLE', remedy: `upgrade to Linux ${MIN_XDP_LINK.join('.')} or later, or use transport = "udp"`,
    }, ctx.debug);
  }
  return check('kernel_version', 'ok', `${v} (AF_XDP >= ${MIN_AF_XDP.join('.')}, XDP links >= ${MIN_XDP_LINK.join('.')})`, dbg, ctx.debug);
}

const WANTED: Array<{ key: string; xdp: boolean; what: string }> = [
  { key: 'CONFIG_XDP_SOCKETS', xdp: true, what: 'AF_XDP sockets' },
  { key: 'CONFIG_BPF_SYSCALL', xdp: true, what: 'the bpf() syscall' },
  { key: 'CONFIG_IO_URING', xdp: false, what: 'io_uring' },
];

export function kernelConfigCheck(ctx: DoctorContext): Check {
  const boot = `/boot/config-${ctx.release}`;
  let text = ctx.sys.readGzip('/proc/config.gz');
  let source = '/proc/config.gz';
  if (text === null) {
    text = ctx.sys.readText(boot);
    source = boot;
  }
  if (text === null) return skipped('kernel_config', `/proc/config.gz (CONFIG_IKCONFIG_PROC) or ${boot}; neither exists`);
  const cfg = parseKernelConfig(text);
  const values = WANTED.map((w) => ({ ...w, value: cfg.get(w.key) ?? 'n' }));
  const found = `${source}: ${values.map((v) => `${v.key}=${v.value}`).join(' ')}`;
  const dbg = { debug: values.map((v) => `${v.key}=${v.value}`).join('\n') };
  const missing = values.filter((v) => v.value !== 'y' && v.value !== 'm');
  const xdpMissing = missing.filter((v) => v.xdp);
  if (xdpMissing.length > 0) {
    return check('kernel_config', 'fail', `${found}: no ${xdpMissing.map((v) => v.what).join(' or ')}`, {
      ...dbg, code: 'E_XDP_UNAVAILABLE', remedy: `use a kernel built with ${xdpMissing.map((v) => `${v.key}=y`).join(' ')}, or transport = "udp"`,
    }, ctx.debug);
  }
  if (missing.length > 0) {
    return check('kernel_config', 'warn', `${found}: no io_uring; the fs backend is used`, { ...dbg, remedy: 'use a kernel built with CONFIG_IO_URING=y for the faster file I/O' }, ctx.debug);
  }
  return check('kernel_config', 'ok', found, dbg, ctx.debug);
}
