import { describe, expect, it } from 'vitest';
import { Bbr } from '../../src/congestion/bbr/bbr.js';
import { runFlows, type FlowSimConfig } from '../../src/sim/flow.js';

// A 50 Mbit/s, 40 ms path: BDP = 250 kB ≈ 172 datagrams of 1452 bytes.
const BW = 50e6;
const RTT = 40_000;
const BDP = (BW / 8) * (RTT / 1e6);
const MTU = 1452;
const SEED = 7;

const MODE = ['startup', 'drain', 'probe_bw', 'probe_rtt'];
const PHASE = ['down', 'cruise', 'refill', 'up'];
const label = (m: Record<string, number>): string =>
  m['bbr_mode'] === 2 ? `probe_bw/${PHASE[m['bbr_phase'] as number]}` : (MODE[m['bbr_mode'] as number] as string);

interface Sample {
  t: number;
  mode: string;
  m: Record<string, number>;
}

function traced(cfg: Partial<FlowSimConfig> & { duration: number; buffer: number; lossRate?: number }): { samples: Sample[]; result: ReturnType<typeof runFlows> } {
  const samples: Sample[] = [];
  const result = runFlows({
    seed: SEED,
    flows: [{ controller: 'bbr' }],
    bottleneck: { bandwidthBps: BW, delay: RTT / 2, queueBytes: cfg.buffer * BDP, ...(cfg.lossRate !== undefined ? { lossRate: cfg.lossRate } : {}) },
    reverseDelay: RTT / 2,
    duration: cfg.duration,
    traceInterval: 2_000,
    trace: (t, _i, m) => samples.push({ t, mode: label(m), m }),
  });
  return { samples, result };
}

describe(`BBRv3 state machine (seed ${SEED}, 50 Mbit/s, 40 ms, 2-BDP buffer)`, () => {
  const { samples } = traced({ duration: 12_000_000, buffer: 2 });
  const runs: Array<{ mode: string; from: number; to: number }> = [];
  for (const s of samples) {
    const last = runs[runs.length - 1];
    if (last && last.mode === s.mode) last.to = s.t;
    else runs.push({ mode: s.mode, from: s.t, to: s.t });
  }

  it('goes Startup → Drain → ProbeBW and then cycles DOWN, CRUISE, REFILL, UP', () => {
    console.log(`[bbr modes] ${runs.map((r) => `${r.mode}@${(r.from / 1e6).toFixed(2)}`).join(' ')}`);
    expect(runs[0]?.mode).toBe('startup');
    expect(runs[1]?.mode).toBe('drain');
    expect(runs[2]?.mode.startsWith('probe_bw')).toBe(true);
    const seen = new Set(runs.map((r) => r.mode));
    for (const p of PHASE) expect(seen.has(`probe_bw/${p}`)).toBe(true);
    // Every UP is preceded by REFILL, and followed by DOWN (or ProbeRTT).
    runs.forEach((r, i) => {
      if (r.mode !== 'probe_bw/up') return;
      expect(runs[i - 1]?.mode).toBe('probe_bw/refill');
      if (i + 1 < runs.length) expect(['probe_bw/down', 'probe_rtt']).toContain(runs[i + 1]?.mode);
    });
    // A probe starts 2–3 s after the cycle began (the wall-clock bound dominates on this path). A
    // cycle begins with DOWN: on entering ProbeBW, after UP, and on leaving ProbeRTT (which passes
    // through DOWN into CRUISE at once, as does Drain when the queue is already gone).
    const downs = runs
      .map((r, i) => (r.mode === 'probe_bw/down' || (r.mode.startsWith('probe_bw') && !runs[i - 1]?.mode.startsWith('probe_bw')) ? r.from : -1))
      .filter((t) => t >= 0);
    const refills = runs.filter((r) => r.mode === 'probe_bw/refill').map((r) => r.from);
    for (const rf of refills) {
      const prev = downs.filter((d) => d < rf).pop();
      if (prev === undefined) continue;
      expect(rf - prev).toBeGreaterThanOrEqual(2_000_000 - 2 * 2_000);
      expect(rf - prev).toBeLessThanOrEqual(3_000_000 + 200_000);
    }
  });

  it('paces at the draft gains × (1 − 1 % margin) in every mode', () => {
    const expected: Record<string, number> = {
      startup: 4 * Math.LN2,
      drain: 0.35,
      'probe_bw/down': 0.9,
      'probe_bw/cruise': 1,
      'probe_bw/refill': 1,
      'probe_bw/up': 1.25,
      probe_rtt: 1,
    };
    for (const [mode, gain] of Object.entries(expected)) {
      const ratios = samples.filter((s) => s.mode === mode && (s.m['bbr_bw'] as number) > 0).map((s) => (s.m['pacing_rate_bps'] as number) / 8 / (s.m['bbr_bw'] as number));
      expect(ratios.length, mode).toBeGreaterThan(5);
      ratios.sort((a, b) => a - b);
      const median = ratios[Math.floor(ratios.length / 2)] as number;
      expect(median, mode).toBeCloseTo(gain * 0.99, 3);
    }
  });

  it('enters ProbeRTT every ~5 s, holds inflight at ≤ half a BDP for ≥ 200 ms, then resumes', () => {
    const probes = runs.filter((r) => r.mode === 'probe_rtt');
    expect(probes.length).toBeGreaterThanOrEqual(1);
    for (const p of probes) {
      expect(p.to - p.from).toBeGreaterThanOrEqual(200_000);
      expect(p.to - p.from).toBeLessThan(200_000 + 3 * RTT);
      const cwnds = samples.filter((s) => s.t > p.from + RTT && s.t <= p.to).map((s) => s.m['cwnd'] as number);
      expect(Math.max(...cwnds)).toBeLessThanOrEqual(Math.max(0.5 * BDP, 4 * MTU) * 1.02);
    }
    for (let i = 1; i < probes.length; i++) expect((probes[i] as { from: number }).from - (probes[i - 1] as { to: number }).to).toBeGreaterThanOrEqual(5_000_000);
  });
});

describe('BBRv3 loss response', () => {
  it('leaves Startup on excessive loss in a shallow (0.1 BDP) buffer, bounds inflight, and keeps loss under 2 %', () => {
    const { samples, result } = traced({ duration: 10_000_000, buffer: 0.1 });
    const f = result.flows[0];
    if (f === undefined) throw new Error('no flow');
    const lossRate = f.packetsLost / f.packetsSent;
    console.log(`[bbr shallow buffer seed ${SEED}] goodput ${(f.goodputBps / 1e6).toFixed(1)} Mbit/s, loss ${(100 * lossRate).toFixed(2)} %`);
    const firstFull = samples.find((s) => s.m['bbr_full_bw_reached'] === 1);
    expect(firstFull?.t).toBeLessThan(1_000_000);
    expect(samples.some((s) => (s.m['bbr_inflight_longterm'] as number) > 0)).toBe(true);
    expect(lossRate).toBeLessThan(0.02);
    expect(f.goodputBps).toBeGreaterThan(0.85 * BW);
  });

  it('never lets cwnd fall below 4 packets, even at 10 % loss', () => {
    const { samples } = traced({ duration: 6_000_000, buffer: 2, lossRate: 0.1 });
    const minCwnd = Math.min(...samples.map((s) => s.m['cwnd'] as number));
    expect(minCwnd).toBeGreaterThanOrEqual(4 * MTU);
    expect(samples.some((s) => s.m['cwnd'] === 4 * MTU)).toBe(true); // it does get there
  });

  it('collapses to the minimum pipe cwnd on persistent congestion and restores the saved cwnd when recovery ends', () => {
    const bbr = new Bbr({ mtu: MTU });
    const before = bbr.window();
    bbr.onCongestionEvent(1_000_000, 900_000, true, 10 * MTU);
    expect(bbr.window()).toBe(4 * MTU);
    expect(bbr.metrics()['bbr_in_recovery']).toBe(1);
    // An ACK of a packet sent after the episode began ends it.
    const rtt = { hasSample: true, smoothed: 40_000 } as never;
    bbr.onSent(1_100_000, 0, MTU, MTU);
    bbr.onAck(1_140_000, 0, 1_100_000, MTU, false, rtt);
    bbr.onEndAcks(1_140_000, 0, false, 0);
    expect(bbr.metrics()['bbr_in_recovery']).toBe(0);
    expect(bbr.window()).toBeGreaterThanOrEqual(before);
  });
});
