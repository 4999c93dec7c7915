/**
 * The doctor on this machine: as root in-process, as an unprivileged user (a child under
 * setpriv), and inside a network namespace with a veth pair (created and deleted here).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeIf, needRoot } from '../../../../test/support/prereq.js';
import { createNetns, type Netns } from '../../../../test/support/netns.js';
import { runDoctor } from '../../src/doctor/run.js';
import { CHECK_NAMES, type Check } from '../../src/doctor/types.js';
import { MemStream } from '../helpers.js';
import { buildDoctorEntry, builtEntryMissing, type BuiltEntry } from './build-entry.js';

interface Report {
  checks: Check[];
  transport: string;
  transport_ok: boolean;
}

function byName(r: Report): Record<string, Check> {
  return Object.fromEntries(r.checks.map((c) => [c.name, c]));
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const require = createRequire(import.meta.url);

function hasCommand(name: string): boolean {
  return ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(`${d}/${name}`));
}

describeIf(needRoot(), 'doctor as root on this machine', () => {
  it('kernel, bpf, io_uring, memlock and capabilities are ok; every check has a status', async () => {
    const out = new MemStream();
    const r = await runDoctor({ json: true, port: 0, out });
    const report = JSON.parse(out.text) as Report;
    expect(report.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    const c = byName(report);
    for (const name of ['kernel_version', 'bpf_jit', 'unprivileged_bpf', 'capabilities', 'memlock', 'io_uring']) {
      expect(c[name]!.status, `${name}: ${c[name]!.found}`).toBe('ok');
    }
    for (const check of report.checks) {
      expect(['ok', 'warn', 'fail', 'skipped']).toContain(check.status);
      expect(check.found.length).toBeGreaterThan(0);
      if (check.status === 'skipped') expect(check.found).toMatch(/^needs /);
    }
    expect(report.transport_ok).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(r.checks).toEqual(report.checks);
  });
});

const unprivReason = needRoot() ?? (hasCommand('setpriv') ? null : 'setpriv (util-linux) is not installed') ?? builtEntryMissing();
const nsReason = needRoot() ?? builtEntryMissing();

let entry: BuiltEntry | null = null;
beforeAll(() => {
  if (unprivReason === null || nsReason === null) entry = buildDoctorEntry();
});
afterAll(() => {
  entry?.remove();
});

describeIf(unprivReason, 'doctor as an unprivileged user (setpriv to nobody)', () => {
  const asNobody = (args: string[]) =>
    run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, entry!.main, ...args]);

  it('names the missing capabilities with the unit lines; xdp cannot run (exit 5), udp can (exit 0)', async () => {
    const xdp = await asNobody(['--json', '--transport', 'xdp', '--port', '0']);
    expect(xdp.stderr).toBe('');
    const report = JSON.parse(xdp.stdout) as Report;
    const c = byName(report);
    expect(c.capabilities!.status).toBe('fail');
    expect(c.capabilities!.found).toContain('missing CAP_NET_RAW CAP_NET_ADMIN CAP_BPF');
    expect(c.capabilities!.remedy).toContain('AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN CAP_BPF CAP_IPC_LOCK');
    expect(c.capabilities!.remedy).toContain('LimitMEMLOCK=infinity');
    expect(c.capabilities!.remedy).toContain('config/wraith.service');
    // RLIMIT_MEMLOCK here is 8 MiB, below the default 64 MiB UMEM, and nobody has no CAP_IPC_LOCK.
    expect(c.memlock!.status).toBe('fail');
    expect(c.af_xdp_socket).toMatchObject({ status: 'fail', found: expect.stringContaining('EPERM') });
    expect(report.transport_ok).toBe(false);
    expect(xdp.code).toBe(5);

    const udp = await asNobody(['--json', '--transport', 'udp', '--port', '0']);
    expect(JSON.parse(udp.stdout)).toMatchObject({ transport: 'udp', transport_ok: true });
    expect(udp.code).toBe(0);
  });

  it('the human table says the same', async () => {
    const r = await asNobody(['--transport', 'xdp', '--port', '0']);
    expect(r.stdout).toMatch(/^FAIL\s+capabilities\s+missing CAP_NET_RAW CAP_NET_ADMIN CAP_BPF/m);
    expect(r.stdout).toMatch(/transport xdp: cannot run here/);
  });
});

describeIf(nsReason, 'doctor in a network namespace with a veth pair', () => {
  let ns: Netns | null = null;
  beforeAll(async () => {
    ns = await createNetns();
    await ns.ip(['link', 'add', 'vdoc0', 'type', 'veth', 'peer', 'name', 'vdoc1']);
    await ns.ip(['link', 'set', 'dev', 'vdoc0', 'up']);
    await ns.ip(['link', 'set', 'dev', 'vdoc1', 'up']);
  });
  afterAll(async () => {
    await ns?.destroy();
  });

  it('reports driver veth, its queue count, no XDP attached, copy mode only', async () => {
    const r = await ns!.exec(process.execPath, [entry!.main, '--json', '--interface', 'vdoc0', '--port', '40000', '--debug']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as Report;
    const c = byName(report);
    expect(c.interface).toMatchObject({ status: 'ok', found: expect.stringMatching(/^vdoc0 \(from --interface\), up/) });
    expect(c.interface_driver).toMatchObject({ status: 'ok', found: 'driver veth (ip link kind)' });
    expect(c.interface_queues!.status).toBe('ok');
    expect(c.interface_queues!.found).toMatch(/^\d+ RX queues?/);
    expect(c.interface_numa!.status).toBe('ok');
    expect(c.xdp_attached).toMatchObject({ status: 'ok', found: 'no XDP program attached to vdoc0' });
    expect(c.xdp_attached!.debug).toContain('"ifname":"vdoc0"');
    expect(c.zero_copy!.status).toBe('warn');
    expect(c.zero_copy!.found).toContain('veth');
    // The namespace has its own ports: 40000 is free in it whatever the host runs.
    expect(c.udp_port!.status).toBe('ok');
    expect(report.transport_ok).toBe(true);
    expect(r.code).toBe(0);
  });

  it('another XDP program attached to the veth is reported as EBUSY (E_XDP_BUSY) and stops xdp', async () => {
    // A child in the namespace loads "return XDP_PASS" and attaches it with a BPF link, which
    // goes away with the child: nothing is left behind even if the test fails.
    const holder = ns!.spawnNode('-', [], {});
    holder.proc.stdin!.end(`
      const x = require(${JSON.stringify(require.resolve('@wraith/native'))}).native.xdp;
      const fd = x.progLoadXdp(Uint8Array.from([0xb7,0,0,0,2,0,0,0, 0x95,0,0,0,0,0,0,0]), 'other_prog');
      x.linkCreateXdp(fd, x.ifIndex('vdoc0'), 'generic');
      console.log(JSON.stringify({ attached: true }));
      setInterval(() => {}, 1000);
    `);
    try {
      await holder.waitFor((m) => m.attached === true);
      const r = await ns!.exec(process.execPath, [entry!.main, '--json', '--interface', 'vdoc0', '--port', '0', '--transport', 'xdp']);
      const c = byName(JSON.parse(r.stdout) as Report);
      expect(c.xdp_attached).toMatchObject({ status: 'fail', code: 'E_XDP_BUSY' });
      expect(c.xdp_attached!.found).toContain('"other_prog"');
      expect(c.xdp_attached!.found).toContain('generic mode');
      expect(r.code).toBe(5);
    } finally {
      await holder.kill();
    }
  });
});
