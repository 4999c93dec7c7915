/** bpf_jit (net.core.bpf_jit_enable) and unprivileged_bpf (kernel.unprivileged_bpf_disabled). */
import { check, type DoctorContext } from './context.js';
import type { Check } from '../types.js';

export function bpfJitCheck(ctx: DoctorContext): Check {
  const path = '/proc/sys/net/core/bpf_jit_enable';
  const v = ctx.sys.readText(path)?.trim();
  if (v === undefined) {
    return check('bpf_jit', 'warn', `${path} is absent: the kernel has no BPF JIT (CONFIG_BPF_JIT), XDP programs are interpreted`, {
      remedy: 'use a kernel built with CONFIG_BPF_JIT=y',
    });
  }
  if (v === '0') {
    return check('bpf_jit', 'warn', 'net.core.bpf_jit_enable = 0: XDP programs are interpreted (slower)', {
      remedy: 'sysctl -w net.core.bpf_jit_enable=1 (and set it in /etc/sysctl.d/)', debug: `${path}: ${v}`,
    }, ctx.debug);
  }
  return check('bpf_jit', 'ok', `net.core.bpf_jit_enable = ${v}${v === '2' ? ' (JIT with debug output)' : ''}`, { debug: `${path}: ${v}` }, ctx.debug);
}

const UNPRIV: Record<string, string> = {
  '0': 'unprivileged bpf() is allowed',
  '1': 'unprivileged bpf() is disabled until reboot',
  '2': 'unprivileged bpf() is disabled (an admin may re-enable it)',
};

export function unprivilegedBpfCheck(ctx: DoctorContext): Check {
  const path = '/proc/sys/kernel/unprivileged_bpf_disabled';
  const v = ctx.sys.readText(path)?.trim();
  if (v === undefined) {
    return check('unprivileged_bpf', 'warn', `${path} is absent: no bpf() syscall (CONFIG_BPF_SYSCALL) or /proc/sys is not mounted`);
  }
  // wraith never relies on unprivileged bpf(): it runs with CAP_BPF. Reported for context.
  return check('unprivileged_bpf', 'ok', `kernel.unprivileged_bpf_disabled = ${v}: ${UNPRIV[v] ?? 'unknown value'}; wraith uses CAP_BPF either way`, {
    debug: `${path}: ${v}`,
  }, ctx.debug);
}
