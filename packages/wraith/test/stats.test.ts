import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/support/prereq.js';
import { DiscardStats, EVENT_LOOP_SAMPLE_MS, Stats } from '../src/stats.js';

describe('stats', () => {
  it('process metrics sample the event loop every 100 ms (their delays include that interval)', async () => {
    const s = new Stats({ processMetrics: true });
    await new Promise((r) => setTimeout(r, 350));
    const text = await s.metrics();
    expect(text).toMatch(/^wraith_process_process_cpu_seconds_total \S+$/m);
    const min = /^wraith_process_nodejs_eventloop_lag_min_seconds (\S+)$/m.exec(text);
    expect(min, text).not.toBeNull();
    // prom-client's default (10 ms) would show ~0.010 here, and wake the process 100 times a second.
    expect(Number(min![1])).toBeGreaterThanOrEqual((EVENT_LOOP_SAMPLE_MS * 0.9) / 1000);
  });

  it('counts per label and sums over labels', async () => {
    const s = new Stats();
    s.packets.inc({ direction: 'tx' }, 3);
    s.packets.inc({ direction: 'rx' });
    s.drop('decrypt');
    s.drop('replay', 2);
    s.handshake('ok');
    s.transferFinished('receive', 'already_present');
    s.fileIo('write', 'fs', 4096);
    s.rtt.observe(0.002);
    s.rtt.observe(0.004);
    expect(await s.read('wraith_packets_total', { direction: 'tx' })).toBe(3);
    expect(await s.read('wraith_packets_total')).toBe(4);
    expect(await s.read('wraith_drops_total', { reason: 'replay' })).toBe(2);
    expect(await s.read('wraith_handshakes_total', { outcome: 'timeout' })).toBe(0);
    expect(await s.read('wraith_transfers_total', { direction: 'receive', outcome: 'already_present' })).toBe(1);
    expect(await s.read('wraith_file_io_bytes_total', { op: 'write' })).toBe(4096);
    expect(await s.readHistogram('wraith_rtt_seconds')).toEqual({ count: 2, sum: 0.006 });
  });

  it('keeps registries apart and sets one transport_info series', async () => {
    const a = new Stats();
    const b = new Stats();
    a.packets.inc({ direction: 'tx' });
    expect(await b.read('wraith_packets_total')).toBe(0);
    a.setTransportInfo({ transport: 'xdp', io_backend: 'fs', crypto_backend: 'node', zero_copy: 'off' });
    a.setTransportInfo({ transport: 'udp', io_backend: 'fs', crypto_backend: 'node', zero_copy: 'off' });
    expect(await a.read('wraith_transport_info')).toBe(1);
    expect(await a.metrics()).toContain('wraith_transport_info{transport="udp"');
  });

  it('DiscardStats takes the writes and keeps nothing', async () => {
    const s = new DiscardStats();
    s.packets.inc({ direction: 'tx' }, 3);
    s.drop('decrypt');
    s.rtt.observe(0.002);
    s.transfersActive.inc({ direction: 'send' });
    s.transfersActive.dec({ direction: 'send' });
    s.setTransportInfo({ transport: 'udp', io_backend: 'fs', crypto_backend: 'node', zero_copy: 'off' });
    expect(s.registry).toBeNull();
    await expect(s.read('wraith_packets_total')).rejects.toThrow(/discard/);
  });

  it('documents every metric in docs/METRICS.md', async () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'METRICS.md'), 'utf8');
    const names = (await new Stats().registry!.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(15);
    for (const n of names) expect(doc, n).toContain(`\`${n}\``);
  });
});
