/** virtualization, security_modules (SELinux / AppArmor) and udp_port. */
import { classifyErrno } from '../errno.js';
import { check, type DoctorContext } from './context.js';
import type { Check } from '../types.js';
import { byHolders } from '../../node/port-holder.js';

const CONTAINERS = new Set(['docker', 'podman', 'lxc', 'lxc-libvirt', 'systemd-nspawn', 'rkt', 'wsl', 'openvz', 'proot', 'pouch', 'container-other']);

export function virtualizationCheck(ctx: DoctorContext): Check {
  const r = ctx.sys.run('systemd-detect-virt', []);
  let kind: string | null = null;
  let source = '';
  let raw = '';
  if (r !== null) {
    kind = r.stdout.trim() || 'none';
    source = 'systemd-detect-virt';
    raw = `$ systemd-detect-virt\n${r.stdout}${r.stderr}(exit ${r.code})`;
  } else {
    const product = ctx.sys.readText('/sys/class/dmi/id/product_name')?.trim();
    const hypervisor = /^flags\s*:.*\bhypervisor\b/m.test(ctx.sys.readText('/proc/cpuinfo') ?? '');
    source = 'DMI product name and the cpuinfo hypervisor flag';
    kind = hypervisor ? `vm${product !== undefined ? ` (${product})` : ''}` : product !== undefined ? `none? (product ${product})` : 'none';
    raw = `product_name: ${product ?? '(absent)'}\nhypervisor flag: ${hypervisor}`;
  }
  const dbg = { debug: raw };
  if (CONTAINERS.has(kind)) {
    return check('virtualization', 'ok', `container: ${kind} (${source}); AF_XDP needs the capabilities inside it and works on the interfaces of its network namespace`, dbg, ctx.debug);
  }
  if (kind === 'none') return check('virtualization', 'ok', `bare metal (${source})`, dbg, ctx.debug);
  return check('virtualization', 'ok', `virtual machine: ${kind} (${source}); zero-copy depends on the virtual NIC (virtio_net, ena, gve)`, dbg, ctx.debug);
}

export function securityModulesCheck(ctx: DoctorContext): Check {
  const selinux = ctx.sys.readText('/sys/fs/selinux/enforce')?.trim();
  const apparmor = ctx.sys.readText('/sys/module/apparmor/parameters/enabled')?.trim();
  const parts: string[] = [];
  parts.push(selinux === undefined ? 'SELinux off' : selinux === '1' ? 'SELinux enforcing' : 'SELinux permissive');
  parts.push(apparmor === undefined ? 'AppArmor off' : apparmor === 'Y' ? 'AppArmor enabled' : 'AppArmor disabled');
  const dbg = { debug: `/sys/fs/selinux/enforce: ${selinux ?? '(absent)'}\n/sys/module/apparmor/parameters/enabled: ${apparmor ?? '(absent)'}` };
  if (selinux === '1') {
    return check('security_modules', 'warn', `${parts.join(', ')}: a policy may deny bpf() or AF_XDP (EACCES) even with the capabilities`, {
      ...dbg, remedy: 'if AF_XDP fails with EACCES, check the audit log (ausearch -m avc) and allow bpf/xdp_socket for the service',
    }, ctx.debug);
  }
  if (apparmor === 'Y') {
    return check('security_modules', 'ok', `${parts.join(', ')}: a profile confining the service must allow capability bpf, net_admin, net_raw and ipc_lock`, dbg, ctx.debug);
  }
  return check('security_modules', 'ok', parts.join(', '), dbg, ctx.debug);
}

export async function udpPortCheck(ctx: DoctorContext): Promise<Check> {
  if (ctx.port === 0) return check('udp_port', 'ok', 'port 0: a free port is picked at start');
  let host = ctx.host;
  let err = await ctx.sys.bindUdp(ctx.port, host);
  // As the node does where IPv6 is off at boot: [::] becomes 0.0.0.0.
  if (err === 'EAFNOSUPPORT' && host === '::') err = await ctx.sys.bindUdp(ctx.port, (host = '0.0.0.0'));
  const where = host.includes(':') ? `[${host}]:${ctx.port}` : `${host}:${ctx.port}`;
  if (err === null) return check('udp_port', 'ok', `UDP port ${ctx.port} is free (bound and released ${where})`);
  const c = classifyErrno(err);
  if (c.kind === 'in_use') {
    return check('udp_port', 'fail', `UDP port ${ctx.port} is in use: ${err}${byHolders(ctx.sys.udpPortHolders(ctx.port))}`, {
      code: 'E_ADDR_IN_USE', remedy: `stop what holds it (ss -ulpn sport = :${ctx.port}), or choose another [network] listen_addr / --bind`,
    });
  }
  if (c.kind === 'capability') {
    return check('udp_port', 'fail', `binding UDP port ${ctx.port}: ${err}: ${c.meaning}`, {
      code: 'E_PERMISSION', remedy: 'ports below 1024 need CAP_NET_BIND_SERVICE; choose a higher port',
    });
  }
  if (err === 'EADDRNOTAVAIL') {
    return check('udp_port', 'fail', `binding UDP ${where}: ${err}: no interface of this host has ${host}`, {
      code: 'E_ADDR_INVALID', remedy: 'set [network] listen_addr / --bind to an address of this host, or [::]',
    });
  }
  return check('udp_port', 'fail', `binding UDP ${where}: ${err}`, { code: 'E_SOCKET' });
}
