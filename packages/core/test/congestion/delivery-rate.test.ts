import { describe, expect, it } from 'vitest';
import { DeliveryRateSampler } from '../../src/congestion/delivery-rate.js';

describe('DeliveryRateSampler (BBR draft §4.1)', () => {
  it('measures a steady 1 MB/s flow', () => {
    const s = new DeliveryRateSampler();
    // 1000-byte packets every 1 ms, each acknowledged 50 ms later: 50 in flight.
    let inflight = 0;
    let rate = 0;
    for (let i = 0; i < 400; i++) {
      const now = i * 1000;
      if (i >= 50) {
        expect(s.onAck(now, i - 50)).toBe(true);
        inflight -= 1000;
        if (s.generate(40_000)) rate = s.rsDeliveryRate;
        if (i > 120) {
          expect(s.rsTxInFlight).toBe(50_000);
          expect(s.rsRtt).toBe(50_000);
          expect(s.rsIsAppLimited).toBe(false);
        }
        s.endAck();
      }
      inflight += 1000;
      s.onSent(now, i, 1000, inflight);
    }
    expect(rate).toBeCloseTo(1_000_000, -3);
    expect(s.delivered).toBe(350 * 1000);
  });

  it('uses the longer of the send and ACK intervals, so compressed ACKs do not inflate the rate', () => {
    const s = new DeliveryRateSampler();
    // 1 MB/s as above, but ACKs are held and released 20 at a time (ACK compression).
    let inflight = 0;
    let maxRate = 0;
    const pending: number[] = [];
    for (let i = 0; i < 600; i++) {
      const now = i * 1000;
      if (i >= 50) pending.push(i - 50);
      if (pending.length === 20) {
        for (const pn of pending) {
          s.onAck(now, pn);
          inflight -= 1000;
        }
        pending.length = 0;
        if (s.generate(40_000)) maxRate = Math.max(maxRate, s.rsDeliveryRate);
        s.endAck();
      }
      inflight += 1000;
      s.onSent(now, i, 1000, inflight);
    }
    // 20 kB acknowledged within 1 µs would be a huge ACK rate; the send interval bounds it.
    expect(maxRate).toBeGreaterThan(900_000);
    expect(maxRate).toBeLessThanOrEqual(1_000_000 * 1.001);
  });

  it('marks app-limited samples until the bubble is delivered', () => {
    const s = new DeliveryRateSampler();
    s.onSent(0, 0, 1000, 1000);
    s.markAppLimited(1000);
    s.onSent(1000, 1, 1000, 2000);
    s.onAck(50_000, 0);
    s.generate(0);
    expect(s.rsIsAppLimited).toBe(false); // sent before the mark
    s.endAck();
    s.onAck(51_000, 1);
    s.generate(0);
    expect(s.rsIsAppLimited).toBe(true);
    expect(s.appLimitedUntil).toBe(0); // delivered past the bubble: cleared
    s.endAck();
  });

  it('counts loss during a packet flight and exposes the lost packet state', () => {
    const s = new DeliveryRateSampler();
    for (let i = 0; i < 4; i++) s.onSent(i, i, 1000, (i + 1) * 1000);
    expect(s.onLost(1)).toBe(true);
    expect(s.lostTxInFlight).toBe(2000);
    expect(s.lostLostAtSend).toBe(0);
    expect(s.onLost(1)).toBe(false);
    s.onAck(100_000, 3);
    s.generate(0);
    expect(s.rsLost).toBe(1000); // lost while packet 3 was in flight
    expect(s.rsNewlyLost).toBe(1000);
    expect(s.rsNewlyAcked).toBe(1000);
    s.endAck();
    expect(s.tracked).toBe(2);
  });

  it('rejects rates over an interval shorter than min_rtt', () => {
    const s = new DeliveryRateSampler();
    s.onSent(0, 0, 1000, 1000);
    s.onAck(10_000, 0);
    expect(s.generate(20_000)).toBe(false);
    expect(s.rsDeliveryRate).toBe(0);
  });
});
