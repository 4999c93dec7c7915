/** A made-up machine for the doctor's unit tests: files, commands and probe answers in maps. */
import type { NativeModule, RunResult, Sys, UringProbe } from '../../src/doctor/sys.js';

export const ROOT_CAPS = '000001fffeffffff';

export interface FakeMachine {
  release?: string;
  files?: Record<string, string>;
  gzip?: Record<string, string>;
  links?: Record<string, string>;
  dirs?: Record<string, string[]>;
  commands?: Record<string, RunResult>;
  bindError?: string | null;
  /** Pids udpPortHolders reports. */
  portHolders?: number[];
  /** Errors by bound host (before bindError); every host bound is pushed to `bound`. */
  bindErrors?: Record<string, string>;
  bound?: string[];
  native?: NativeModule;
  uring?: UringProbe | null;
}

/** A healthy root machine: kernel 6.18, everything allowed, eth0 on virtio_net. */
export function healthy(): Required<FakeMachine> {
  return {
    release: '6.18.0-test',
    files: {
      '/proc/self/status': `Name:\tnode\nCapEff:\t${ROOT_CAPS}\n`,
      '/proc/self/limits': 'Max open files            20000                20000                files     \nMax locked memory         8388608              8388608              bytes     \n',
      '/proc/meminfo': 'HugePages_Total:       4\nHugePages_Free:        4\nHugepagesize:       2048 kB\n',
      '/proc/sys/vm/nr_hugepages': '4\n',
      '/proc/sys/net/core/bpf_jit_enable': '1\n',
      '/proc/sys/kernel/unprivileged_bpf_disabled': '2\n',
      '/proc/sys/kernel/io_uring_disabled': '0\n',
      '/proc/net/route': 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n',
      '/sys/class/net/eth0/ifindex': '2\n',
      '/sys/class/net/eth0/flags': '0x1003\n',
      '/sys/class/net/eth0/operstate': 'up\n',
      '/sys/class/net/eth0/mtu': '1500\n',
    },
    gzip: { '/proc/config.gz': 'CONFIG_XDP_SOCKETS=y\nCONFIG_BPF_SYSCALL=y\nCONFIG_IO_URING=y\n# CONFIG_FOO is not set\n' },
    links: { '/sys/class/net/eth0/device/driver': '../../../bus/virtio/drivers/virtio_net', '/sys/class/net/eth0/device': '../../../virtio0' },
    dirs: { '/sys/class/net/eth0/queues': ['rx-0', 'rx-1', 'tx-0', 'tx-1'] },
    commands: {
      'ip -j -d link show dev eth0': { code: 0, stdout: JSON.stringify([{ ifname: 'eth0', mtu: 1500, operstate: 'UP', num_rx_queues: 2, num_tx_queues: 2 }]), stderr: '' },
      'systemd-detect-virt': { code: 0, stdout: 'kvm\n', stderr: '' },
    },
    bindError: null,
    native: { native: { abiVersion: 1, xdp: { afXdpErrno: () => 0 }, uringProbe: () => ({ ok: true }) }, loadError: null },
    uring: { ok: true },
  };
}

export function fakeSys(m: FakeMachine): Sys {
  const files = m.files ?? {};
  return {
    readText: (p) => files[p] ?? null,
    readGzip: (p) => m.gzip?.[p] ?? null,
    exists: (p) => p in files || p in (m.dirs ?? {}),
    readlink: (p) => m.links?.[p] ?? null,
    readdir: (p) => m.dirs?.[p] ?? null,
    run: (cmd, args) => m.commands?.[[cmd, ...args].join(' ')] ?? null,
    release: () => m.release ?? '6.18.0',
    udpPortHolders: () => m.portHolders ?? [],
    bindUdp: async (_port, host) => {
      m.bound?.push(host);
      return m.bindErrors?.[host] ?? m.bindError ?? null;
    },
    nativeModule: () => m.native ?? { native: null, loadError: 'not built' },
    ioUringProbe: async () => (m.uring === undefined ? null : m.uring),
  };
}
