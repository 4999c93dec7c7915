/** The doctor's parsers on real output shapes, and the errno classification. */
import { describe, expect, it } from 'vitest';
import { classifyErrno, errnoName } from '../../src/doctor/errno.js';
import { countRxQueues, defaultRouteInterface, hasCap, parseCapEff, parseIpLink, parseKernelConfig, parseKernelRelease, parseMeminfo, parseMemlock } from '../../src/doctor/parse.js';

describe('parsers', () => {
  it('kernel releases', () => {
    expect(parseKernelRelease('6.18.44-fc-v769')).toEqual({ major: 6, minor: 18, patch: 44 });
    expect(parseKernelRelease('5.10')).toEqual({ major: 5, minor: 10, patch: 0 });
    expect(parseKernelRelease('linux')).toBeNull();
  });

  it('kernel config: set, module, string and "is not set"', () => {
    const cfg = parseKernelConfig('CONFIG_A=y\nCONFIG_B=m\nCONFIG_C="x y"\n# CONFIG_D is not set\n# comment\n');
    expect([...cfg]).toEqual([['CONFIG_A', 'y'], ['CONFIG_B', 'm'], ['CONFIG_C', 'x y'], ['CONFIG_D', 'n']]);
  });

  it('CapEff and capability bits', () => {
    const caps = parseCapEff('Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n')!;
    expect(hasCap(caps, 'CAP_BPF')).toBe(true);
    expect(hasCap(caps, 'CAP_NET_RAW')).toBe(true);
    expect(hasCap(parseCapEff('CapEff:\t0000000000003000\n')!, 'CAP_IPC_LOCK')).toBe(false);
    expect(parseCapEff('nothing')).toBeNull();
  });

  it('memlock limits and huge pages', () => {
    expect(parseMemlock('Max locked memory         8388608              8388608              bytes     \n')).toBe(8388608);
    expect(parseMemlock('Max locked memory         unlimited            unlimited            bytes\n')).toBe(Infinity);
    expect(parseMeminfo('HugePages_Total:       3\nHugePages_Free:        1\nHugepagesize:       2048 kB\n')).toEqual({ total: 3, free: 1, size: 2 * 1024 * 1024 });
  });

  it('ip -j -d link: kind, queues, and an attached program (BPF link, generic mode)', () => {
    const out = JSON.stringify([{
      ifindex: 3, link: 'vd1', ifname: 'vd0', mtu: 1500, operstate: 'UP',
      xdp: { mode: 2, prog: { id: 494, name: 'other_prog', tag: '614b434cd8324ecc', jited: 1 }, attached: [{ mode: 2, prog: { id: 494, name: 'other_prog' } }] },
      linkinfo: { info_kind: 'veth' }, num_tx_queues: 2, num_rx_queues: 2,
    }]);
    expect(parseIpLink(out)).toEqual({
      ifname: 'vd0', kind: 'veth', numRxQueues: 2, numTxQueues: 2, operstate: 'UP', mtu: 1500,
      xdp: { mode: 'generic', progId: 494, progName: 'other_prog' },
    });
    expect(parseIpLink(JSON.stringify([{ ifname: 'lo' }]))?.xdp).toBeNull();
    expect(parseIpLink('not json')).toBeNull();
    expect(parseIpLink('[]')).toBeNull();
  });

  it('default route interface from /proc/net/route', () => {
    const table = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
      'eth1\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
      'eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n';
    expect(defaultRouteInterface(table)).toBe('eth0');
    expect(defaultRouteInterface(table.split('\n').slice(0, 2).join('\n'))).toBeNull();
  });

  it('queue directories', () => {
    expect(countRxQueues(['rx-0', 'rx-1', 'tx-0', 'rx-x'])).toBe(2);
  });
});

describe('errno classification', () => {
  it.each([
    [1, 'capability'], ['EACCES', 'capability'], [2, 'missing'], [22, 'too_old'], [16, 'busy'], ['EEXIST', 'busy'],
    [95, 'unsupported'], [97, 'missing'], [38, 'missing'], ['EADDRINUSE', 'in_use'], [5, 'other'],
  ] as const)('%s -> %s', (errno, kind) => {
    expect(classifyErrno(errno).kind).toBe(kind);
  });

  it('names errno numbers, negative or not', () => {
    expect(errnoName(-1)).toBe('EPERM');
    expect(errnoName(16)).toBe('EBUSY');
    expect(errnoName(200)).toBe('errno 200');
  });
});
