/** The doctor's checks and verdicts on made-up machines (deterministic; no root needed). */
import { describe, expect, it } from 'vitest';
import { blockingChecks, gatherChecks, runDoctor } from '../../src/doctor/run.js';
import { CHECK_NAMES, type Check } from '../../src/doctor/types.js';
import { MemStream } from '../helpers.js';
import { fakeSys, healthy, type FakeMachine } from './fake-sys.js';

type Machine = ReturnType<typeof healthy>;

async function checksOf(m: FakeMachine, opts: { interface?: string; port?: number; host?: string; debug?: boolean } = {}): Promise<Record<string, Check>> {
  const list = await gatherChecks({ sys: fakeSys(m), ...opts });
  expect(list.map((c) => c.name)).toEqual([...CHECK_NAMES]);
  return Object.fromEntries(list.map((c) => [c.name, c]));
}

function withFiles(m: Machine, files: Record<string, string | undefined>): Machine {
  const next = { ...m.files, ...files };
  for (const [k, v] of Object.entries(files)) if (v === undefined) delete next[k];
  return { ...m, files: next as Record<string, string> };
}

describe('a healthy root machine', () => {
  it('every check is ok, the default-route interface is used, and xdp can run', async () => {
    const c = await checksOf(healthy());
    for (const check of Object.values(c)) expect(check.status, `${check.name}: ${check.found}`).toBe('ok');
    expect(c.interface!.found).toContain('eth0 (from the default route)');
    expect(c.interface_driver!.found).toBe('driver virtio_net (sysfs)');
    expect(c.interface_queues!.found).toMatch(/^2 RX queues, 2 TX/);
    expect(c.huge_pages!.found).toContain('4 of 4 huge pages of 2 MiB free');
    expect(c.virtualization!.found).toContain('kvm');
    const out = new MemStream();
    const r = await runDoctor({ json: true, transport: 'xdp', sys: fakeSys(healthy()), out });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(out.text)).toMatchObject({ transport: 'xdp', transport_ok: true });
  });

  it('--debug adds the raw output; without it there is none', async () => {
    const plain = await checksOf(healthy());
    expect(Object.values(plain).some((c) => c.debug !== undefined)).toBe(false);
    const dbg = await checksOf(healthy(), { debug: true });
    expect(dbg.interface!.debug).toContain('$ ip -j -d link show dev eth0');
    expect(dbg.capabilities!.debug).toBe('CapEff: 000001fffeffffff');
  });
});

describe('kernel', () => {
  it('4.14: no AF_XDP (fail); 5.4: AF_XDP but no XDP links (fail); unparsable: warn', async () => {
    expect((await checksOf({ ...healthy(), release: '4.14.0' })).kernel_version).toMatchObject({ status: 'fail', code: 'E_XDP_UNAVAILABLE' });
    const k54 = (await checksOf({ ...healthy(), release: '5.4.0-100-generic' })).kernel_version!;
    expect(k54.status).toBe('fail');
    expect(k54.found).toContain('BPF links');
    expect((await checksOf({ ...healthy(), release: 'weird' })).kernel_version!.status).toBe('warn');
  });

  it('no /proc/config.gz and no /boot/config: skipped naming both', async () => {
    const c = (await checksOf({ ...healthy(), gzip: {}, release: '6.1.0-x' })).kernel_config!;
    expect(c.status).toBe('skipped');
    expect(c.found).toContain('/proc/config.gz');
    expect(c.found).toContain('/boot/config-6.1.0-x');
  });

  it('/boot/config is read when /proc/config.gz is absent; missing XDP sockets fail, missing io_uring warns', async () => {
    const m = withFiles({ ...healthy(), gzip: {}, release: '6.1.0-x' }, { '/boot/config-6.1.0-x': 'CONFIG_BPF_SYSCALL=y\n# CONFIG_XDP_SOCKETS is not set\nCONFIG_IO_URING=y\n' });
    const c = (await checksOf(m)).kernel_config!;
    expect(c).toMatchObject({ status: 'fail', code: 'E_XDP_UNAVAILABLE' });
    expect(c.found).toContain('/boot/config-6.1.0-x');
    expect(c.remedy).toContain('CONFIG_XDP_SOCKETS=y');
    const noUring = (await checksOf({ ...healthy(), gzip: { '/proc/config.gz': 'CONFIG_XDP_SOCKETS=y\nCONFIG_BPF_SYSCALL=y\n' } })).kernel_config!;
    expect(noUring.status).toBe('warn');
  });
});

describe('privileges', () => {
  it('no capabilities: capabilities fail naming them with the systemd unit lines, never setcap', async () => {
    const m = withFiles(healthy(), { '/proc/self/status': 'CapEff:\t0000000000000000\n' });
    const c = await checksOf(m);
    expect(c.capabilities!.status).toBe('fail');
    expect(c.capabilities!.found).toContain('missing CAP_NET_RAW CAP_NET_ADMIN CAP_BPF');
    expect(c.capabilities!.remedy).toContain('AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN CAP_BPF CAP_IPC_LOCK');
    expect(c.capabilities!.remedy).toContain('LimitMEMLOCK=infinity');
    expect(c.capabilities!.remedy).toMatch(/never setcap/);
    expect(c.capabilities!.remedy).not.toMatch(/^\s*setcap /m);
    expect(c.memlock).toMatchObject({ status: 'fail', code: 'E_XDP_UNAVAILABLE' });
  });

  it('CAP_SYS_ADMIN stands in for CAP_BPF; before 5.8 CAP_BPF alone is not enough', async () => {
    // NET_ADMIN(12) NET_RAW(13) IPC_LOCK(14) SYS_ADMIN(21)
    const sysAdmin = (0x7000n | (1n << 21n)).toString(16);
    expect((await checksOf(withFiles(healthy(), { '/proc/self/status': `CapEff:\t${sysAdmin}\n` }))).capabilities!.status).toBe('ok');
    const bpfOnly = (0x7000n | (1n << 39n)).toString(16);
    expect((await checksOf(withFiles(healthy(), { '/proc/self/status': `CapEff:\t${bpfOnly}\n` }))).capabilities!.status).toBe('ok');
    const old = await checksOf({ ...withFiles(healthy(), { '/proc/self/status': `CapEff:\t${bpfOnly}\n` }), release: '5.4.0' });
    expect(old.capabilities!.found).toContain('missing CAP_SYS_ADMIN');
    expect(old.capabilities!.remedy).toContain('CAP_SYS_ADMIN');
  });

  it('open_files: how many files a receiver takes at once under RLIMIT_NOFILE; a low limit warns with LimitNOFILE', async () => {
    const ok = await checksOf(healthy());
    expect(ok.open_files).toMatchObject({ status: 'ok', found: expect.stringContaining('up to 6581 files received at once') });
    const low = await checksOf(withFiles(healthy(), { '/proc/self/limits': 'Max open files            256                  256                  files     \n' }));
    expect(low.open_files).toMatchObject({ status: 'warn', found: expect.stringContaining('up to 16 files received at once') });
    expect(low.open_files!.remedy).toContain('LimitNOFILE=65536');
  });

  it('without CAP_IPC_LOCK: capabilities warn, and memlock decides by the limit', async () => {
    const noLock = (0x3000n | (1n << 39n)).toString(16);
    const m = withFiles(healthy(), { '/proc/self/status': `CapEff:\t${noLock}\n` });
    const c = await checksOf(m);
    expect(c.capabilities!.status).toBe('warn');
    expect(c.memlock!.status).toBe('fail');
    const unlimited = await checksOf(withFiles(m, { '/proc/self/limits': 'Max locked memory         unlimited            unlimited            bytes\n' }));
    expect(unlimited.memlock).toMatchObject({ status: 'ok', found: 'RLIMIT_MEMLOCK unlimited' });
  });

  it('checks whose inputs are missing are skipped naming them', async () => {
    const c = await checksOf(withFiles(healthy(), { '/proc/self/status': undefined, '/proc/self/limits': undefined, '/proc/meminfo': undefined }));
    expect(c.capabilities).toMatchObject({ status: 'skipped', found: expect.stringContaining('CapEff') });
    expect(c.memlock).toMatchObject({ status: 'skipped', found: expect.stringContaining('/proc/self/limits') });
    expect(c.huge_pages).toMatchObject({ status: 'skipped', found: expect.stringContaining('/proc/meminfo') });
  });
});

describe('interface', () => {
  it('no interface and no default route: the interface checks are skipped naming --interface', async () => {
    const c = await checksOf(withFiles(healthy(), { '/proc/net/route': 'Iface\tDestination\n' }));
    for (const n of ['interface', 'interface_driver', 'interface_queues', 'interface_numa', 'xdp_attached', 'zero_copy']) {
      expect(c[n]!.status, n).toBe('skipped');
      expect(c[n]!.found).toContain('--interface');
    }
  });

  it('an interface that does not exist: interface fails, the rest skipped naming it', async () => {
    const c = await checksOf(healthy(), { interface: 'nope0' });
    expect(c.interface).toMatchObject({ status: 'fail', code: 'E_CONFIG' });
    expect(c.interface_driver).toMatchObject({ status: 'skipped', found: expect.stringContaining('nope0 does not exist') });
  });

  it('another XDP program attached: xdp_attached fails with E_XDP_BUSY (EBUSY) and blocks xdp only', async () => {
    const m = healthy();
    m.commands['ip -j -d link show dev eth0'] = { code: 0, stdout: JSON.stringify([{ ifname: 'eth0', xdp: { mode: 1, prog: { id: 77, name: 'xdp_fw' } } }]), stderr: '' };
    const c = await checksOf(m);
    expect(c.xdp_attached).toMatchObject({ status: 'fail', code: 'E_XDP_BUSY' });
    expect(c.xdp_attached!.found).toContain('program 77 "xdp_fw"');
    expect(c.xdp_attached!.found).toContain('native mode');
    expect(c.xdp_attached!.remedy).toContain('ip link set dev eth0 xdp off');
    const list = Object.values(c);
    expect(blockingChecks(list, 'xdp').map((b) => b.name)).toEqual(['xdp_attached']);
    expect(blockingChecks(list, 'udp')).toEqual([]);
    expect(blockingChecks(list, 'auto')).toEqual([]);
  });

  it("wraith's own program attached is reported, not a failure", async () => {
    const m = healthy();
    m.commands['ip -j -d link show dev eth0'] = { code: 0, stdout: JSON.stringify([{ ifname: 'eth0', xdp: { mode: 2, prog: { id: 5, name: 'wraith_xdp' } } }]), stderr: '' };
    expect((await checksOf(m)).xdp_attached).toMatchObject({ status: 'ok', found: expect.stringContaining("wraith's own") });
  });

  it('a down interface fails; veth: zero_copy warns (copy mode)', async () => {
    const m = withFiles(healthy(), { '/sys/class/net/eth0/flags': '0x1002\n' });
    m.links = {};
    m.commands['ip -j -d link show dev eth0'] = { code: 0, stdout: JSON.stringify([{ ifname: 'eth0', operstate: 'DOWN', linkinfo: { info_kind: 'veth' } }]), stderr: '' };
    const c = await checksOf(m);
    expect(c.interface!.status).toBe('fail');
    expect(c.interface_driver!.found).toBe('driver veth (ip link kind)');
    expect(c.zero_copy!.status).toBe('warn');
    expect(c.interface_numa!.found).toContain('virtual device');
  });
});

describe('runtime', () => {
  it('no addon: native warns, af_xdp_socket skipped naming it, io_uring warns; udp runs, xdp does not', async () => {
    const m: Machine = { ...healthy(), native: { native: null, loadError: 'build/Release/wraith.node: cannot open' }, uring: null };
    const c = await checksOf(m);
    expect(c.native_addon).toMatchObject({ status: 'warn', code: 'E_NATIVE_UNAVAILABLE', found: expect.stringContaining('cannot open') });
    expect(c.af_xdp_socket).toMatchObject({ status: 'skipped', found: expect.stringContaining('native addon') });
    expect(c.io_uring).toMatchObject({ status: 'warn', code: 'E_IO_URING_UNAVAILABLE' });
    const udp = await runDoctor({ json: true, transport: 'udp', sys: fakeSys(m), out: new MemStream() });
    expect(udp.exitCode).toBe(0);
    const xdp = await runDoctor({ json: true, transport: 'xdp', sys: fakeSys(m), out: new MemStream() });
    expect(xdp.transportOk).toBe(false);
    expect(xdp.exitCode).toBe(1); // E_NATIVE_UNAVAILABLE is an internal-category code
  });

  it('AF_XDP socket errors are classified: EPERM capability, EAFNOSUPPORT missing feature', async () => {
    const perm: Machine = { ...healthy(), native: { native: { xdp: { afXdpErrno: () => 1 } }, loadError: null } };
    const c1 = (await checksOf(perm)).af_xdp_socket!;
    expect(c1.status).toBe('fail');
    expect(c1.found).toContain('EPERM');
    expect(c1.remedy).toContain('AmbientCapabilities=');
    const afno: Machine = { ...healthy(), native: { native: { xdp: { afXdpErrno: () => 97 } }, loadError: null } };
    expect((await checksOf(afno)).af_xdp_socket!.remedy).toContain('CONFIG_XDP_SOCKETS');
  });

  it('io_uring refused by the sysctl: warn with the sysctl remedy and the errno meaning', async () => {
    const m: Machine = { ...withFiles(healthy(), { '/proc/sys/kernel/io_uring_disabled': '2\n' }), uring: { ok: false, errno: 1, reason: 'io_uring_setup: EPERM' } };
    const c = (await checksOf(m)).io_uring!;
    expect(c.status).toBe('warn');
    expect(c.found).toContain('kernel.io_uring_disabled = 2 (disabled)');
    expect(c.found).toContain('EPERM');
    expect(c.remedy).toContain('kernel.io_uring_disabled=0');
  });

  it('a taken UDP port fails udp_port and every transport, exit code 5 (network)', async () => {
    const m: Machine = { ...healthy(), bindError: 'EADDRINUSE' };
    const c = (await checksOf(m, { port: 40000 })).udp_port!;
    expect(c).toMatchObject({ status: 'fail', code: 'E_ADDR_IN_USE' });
    expect(c.found).toContain('40000');
    expect(c.found).not.toContain('by pid');
    const held = (await checksOf({ ...m, portHolders: [process.pid] }, { port: 40000 })).udp_port!;
    expect(held.found).toMatch(new RegExp(`in use: EADDRINUSE, by pid ${process.pid}: \\S`));
    for (const transport of ['udp', 'auto', 'xdp'] as const) {
      const r = await runDoctor({ json: false, transport, sys: fakeSys(m), out: new MemStream() });
      expect(r.exitCode, transport).toBe(5);
    }
  });

  it('udp_port binds what the node binds: [::] by default, 0.0.0.0 where IPv6 is off, an address the host lacks fails', async () => {
    const m: Machine = { ...healthy(), bound: [] };
    expect((await checksOf(m, { port: 40000 })).udp_port).toMatchObject({ status: 'ok', found: 'UDP port 40000 is free (bound and released [::]:40000)' });
    expect(m.bound).toEqual(['::']);

    const noV6: Machine = { ...healthy(), bound: [], bindErrors: { '::': 'EAFNOSUPPORT' } };
    expect((await checksOf(noV6, { port: 40000 })).udp_port).toMatchObject({ status: 'ok', found: 'UDP port 40000 is free (bound and released 0.0.0.0:40000)' });
    expect(noV6.bound).toEqual(['::', '0.0.0.0']);

    const elsewhere: Machine = { ...healthy(), bound: [], bindErrors: { '192.0.2.77': 'EADDRNOTAVAIL' } };
    const c = (await checksOf(elsewhere, { port: 40000, host: '192.0.2.77' })).udp_port!;
    expect(c).toMatchObject({ status: 'fail', code: 'E_ADDR_INVALID' });
    expect(c.found).toContain('no interface of this host has 192.0.2.77');
  });

  it('security modules: SELinux enforcing warns', async () => {
    const c = await checksOf(withFiles(healthy(), { '/sys/fs/selinux/enforce': '1\n' }));
    expect(c.security_modules!.status).toBe('warn');
    const aa = await checksOf(withFiles(healthy(), { '/sys/module/apparmor/parameters/enabled': 'Y\n' }));
    expect(aa.security_modules).toMatchObject({ status: 'ok', found: expect.stringContaining('AppArmor enabled') });
  });

  it('without systemd-detect-virt: the cpuinfo hypervisor flag and DMI name', async () => {
    const m = withFiles(healthy(), { '/proc/cpuinfo': 'flags\t\t: fpu vme hypervisor\n', '/sys/class/dmi/id/product_name': 'Standard PC\n' });
    delete m.commands['systemd-detect-virt'];
    expect((await checksOf(m)).virtualization!.found).toContain('vm (Standard PC)');
  });
});

describe('output', () => {
  it('the table names every check, indents remedies and ends with the verdict', async () => {
    const m = withFiles(healthy(), { '/proc/self/status': 'CapEff:\t0000000000000000\n' });
    const out = new MemStream();
    const r = await runDoctor({ json: false, transport: 'xdp', sys: fakeSys(m), out });
    expect(r.exitCode).toBe(5);
    for (const n of CHECK_NAMES) expect(out.text).toMatch(new RegExp(`^\\S+\\s+${n}\\s`, 'm'));
    expect(out.text).toMatch(/^FAIL\s+capabilities\s+missing/m);
    expect(out.text).toMatch(/^\s+AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN CAP_BPF CAP_IPC_LOCK$/m);
    expect(out.text.trimEnd().split('\n').at(-1)).toBe('transport xdp: cannot run here (see the FAIL lines)');
  });
});
