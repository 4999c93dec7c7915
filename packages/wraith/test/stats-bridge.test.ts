import { describe, expect, it } from 'vitest';
import type { Endpoint, TransportStats } from '@wraith/core';
import { StatsBridge } from '../src/node/stats-bridge.js';
import { Stats } from '../src/stats.js';

/** An endpoint with nothing to report: only the transport's figures are under test. */
const quietEndpoint = {
  drops: { snapshot: () => ({}) },
  counters: { cookiesSent: 0, versionNegotiations: 0, dhOperations: 0, cookiesValidated: 0, statelessResetsSent: 0, statelessResetsReceived: 0 },
  listSessions: () => [],
} as unknown as Endpoint;

function transport(name: string, extra: Record<string, number>): { name: string; stats: () => TransportStats } {
  return { name, stats: () => ({ txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, txDropped: 0, rxDropped: 0, extra }) };
}

describe('the stats bridge', () => {
  it("files each transport's own figures under its own metric, in snake_case, and drops XDP's after a fallback to UDP", async () => {
    const stats = new Stats();
    const t = transport('udp', { recvBufferBytes: 8_388_608, gso: 1, kernelRxDrops: 3 });
    const bridge = new StatsBridge(stats, quietEndpoint, t);
    bridge.update();
    expect(await stats.read('wraith_udp_socket_stat', { stat: 'recv_buffer_bytes' })).toBe(8_388_608);
    expect(await stats.read('wraith_udp_socket_stat', { stat: 'kernel_rx_drops' })).toBe(3);
    expect(await stats.read('wraith_xdp_ring_stat')).toBe(0);

    const stats2 = new Stats();
    const x = transport('xdp', { rx_dropped: 5, rx_ring_full: 2 });
    const bridge2 = new StatsBridge(stats2, quietEndpoint, x);
    bridge2.update();
    expect(await stats2.read('wraith_xdp_ring_stat', { stat: 'rx_ring_full' })).toBe(2);
    expect(await stats2.read('wraith_udp_socket_stat')).toBe(0);
    // The watchdog swapped the transport: the rings' figures go, the socket's come.
    x.name = 'udp';
    x.stats = transport('udp', { gro: 1 }).stats;
    bridge2.update();
    expect(await stats2.read('wraith_xdp_ring_stat')).toBe(0);
    expect(await stats2.read('wraith_udp_socket_stat', { stat: 'gro' })).toBe(1);
  });
});
