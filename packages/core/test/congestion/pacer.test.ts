import { describe, expect, it } from 'vitest';
import type { CongestionController } from '../../src/congestion/controller.js';
import { Pacer } from '../../src/congestion/pacer.js';
import { RttEstimator } from '../../src/recovery/rtt.js';

function fixed(window: number, rate: number | null): CongestionController {
  return {
    onSent() {},
    onAck() {},
    onEndAcks() {},
    onCongestionEvent() {},
    onPacketLost() {},
    onAppLimited() {},
    onMtuUpdate() {},
    window: () => window,
    pacingRate: () => rate,
    metrics: () => ({}),
  };
}

const MTU = 1000;

/** Send as fast as the pacer allows from t=0 to `until`; returns send times. */
function drive(p: Pacer, until: number): number[] {
  const times: number[] = [];
  let now = 0;
  while (now <= until) {
    const t = p.nextSendTime(now, MTU);
    if (t > now) {
      now = t;
      continue;
    }
    p.onSent(now, MTU);
    times.push(now);
  }
  return times;
}

describe('Pacer', () => {
  const rtt = new RttEstimator();
  rtt.update(0, 100_000, 0);

  it('lets a bounded burst leave at once, then spaces packets at the rate', () => {
    // 10 MB/s: 2 ms of rate = 20 kB = 20 packets of burst (within 10..64).
    const p = new Pacer(fixed(1e6, 10e6), rtt, { mtu: MTU });
    expect(p.capacity(10e6)).toBe(20_000);
    const times = drive(p, 100_000);
    const burst = times.filter((t) => t === 0).length;
    expect(burst).toBe(20);
    // After the burst, one packet per 100 µs.
    const gaps = times.slice(burst + 1).map((t, i) => t - (times[burst + i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(99);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(101);
    // Long-run: rate × time + burst.
    expect(times.length).toBeGreaterThanOrEqual(20 + 999);
    expect(times.length).toBeLessThanOrEqual(20 + 1001);
  });

  it('maxRate caps the controller rate (a user rate limit) and leaves a slower controller alone', () => {
    // Controller 10 MB/s, cap 2 MB/s: one 1000-byte packet per 500 µs after a 10-packet burst.
    const capped = new Pacer(fixed(1e6, 10e6), rtt, { mtu: MTU, maxRate: 2e6 });
    expect(capped.rate()).toBe(2e6);
    const times = drive(capped, 1_000_000);
    expect(times.filter((t) => t === 0).length).toBe(10);
    expect(times.length).toBeGreaterThanOrEqual(10 + 1999);
    expect(times.length).toBeLessThanOrEqual(10 + 2001);
    // A cap above the controller's rate changes nothing.
    expect(new Pacer(fixed(1e6, 10e6), rtt, { mtu: MTU, maxRate: 50e6 }).rate()).toBe(10e6);
    expect(new Pacer(fixed(1e6, 10e6), rtt, { mtu: MTU, maxRate: null }).rate()).toBe(10e6);
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => new Pacer(fixed(1e6, 10e6), rtt, { mtu: MTU, maxRate: bad })).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
    }
  });

  it('bounds the burst between 10 and 1024 datagrams', () => {
    const p = new Pacer(fixed(1e6, 1e3), rtt, { mtu: MTU });
    expect(p.capacity(1e3)).toBe(10 * MTU);
    expect(p.capacity(1e12)).toBe(1024 * MTU);
  });

  it('wakes a held-back sender for a batch of 64 datagrams, or the whole bucket when smaller', () => {
    // 100 MB/s: bucket 200 kB; empty it, then a batch (64 kB) takes 640 µs to refill.
    const p = new Pacer(fixed(1e7, 100e6), rtt, { mtu: MTU });
    while (p.nextSendTime(0, MTU) <= 0) p.onSent(0, MTU);
    expect(p.nextSendTime(0, MTU)).toBe(10);
    expect(p.wakeTime(0)).toBe(640);
    // 1 MB/s: bucket 10 packets (the minimum), smaller than two batches: wake when half full.
    const q = new Pacer(fixed(1e7, 1e6), rtt, { mtu: MTU });
    while (q.nextSendTime(0, MTU) <= 0) q.onSent(0, MTU);
    expect(q.wakeTime(0)).toBe(5_000);
  });

  it('holds its rate for a sender whose timer fires up to 1 ms late', () => {
    // A host's timer wakes the sender `late` µs after wakeTime; it then sends all it may. Tokens
    // that refill past a full bucket are lost, so the wake must leave room for the lateness.
    for (const rate of [1e6, 5e6, 10e6, 40e6, 100e6]) {
      for (const late of [0, 500, 990]) {
        const p = new Pacer(fixed(1e9, rate), rtt, { mtu: MTU });
        let now = 0;
        let sent = 0;
        const until = 1_000_000;
        while (now < until) {
          while (p.nextSendTime(now, MTU) <= now) {
            p.onSent(now, MTU);
            sent += MTU;
          }
          now = Math.max(p.wakeTime(now), now + 1) + late;
        }
        // What left past the first full bucket, as a share of the rate over the second.
        const share = Math.round(((sent - p.capacity(rate)) / rate) * 100);
        expect({ rate, late, ok: share >= 98 && share <= 100 }).toEqual({ rate, late, ok: true });
      }
    }
  });

  it('refills after idle only up to the burst', () => {
    const p = new Pacer(fixed(1e6, 1e6), rtt, { mtu: MTU });
    for (let i = 0; i < 10; i++) p.onSent(0, MTU);
    expect(p.nextSendTime(0, MTU)).toBe(1000);
    // A long idle period: still only the burst (10 packets) at once.
    let n = 0;
    while (p.nextSendTime(10_000_000, MTU) <= 10_000_000) {
      p.onSent(10_000_000, MTU);
      n++;
    }
    expect(n).toBe(10);
  });

  it('paces at 1.25 × cwnd / srtt without a controller rate, and cwnd / initial RTT before any sample', () => {
    const p = new Pacer(fixed(100_000, null), rtt, { mtu: MTU });
    expect(p.rate()).toBeCloseTo((1.25 * 100_000) / 0.1, 3);
    const fresh = new Pacer(fixed(14_520, 5e9), new RttEstimator(), { mtu: MTU });
    expect(fresh.rate()).toBeCloseTo(14_520 / 0.333, 3);
  });
});
