import { describe, expect, it } from 'vitest';
import { RttEstimator } from '../../src/recovery/rtt.js';

describe('RttEstimator (RFC 9002 §5)', () => {
  it('starts from the initial RTT', () => {
    const r = new RttEstimator();
    expect(r.hasSample).toBe(false);
    expect(r.smoothed).toBe(333_000);
    expect(r.rttvar).toBe(166_500);
    // PTO = srtt + max(4·rttvar, 1 ms) + max_ack_delay
    expect(r.pto(25_000)).toBe(333_000 + 4 * 166_500 + 25_000);
    expect(new RttEstimator(100_000).smoothed).toBe(100_000);
  });

  it('takes the first sample as is (§5.3)', () => {
    const r = new RttEstimator();
    r.update(10_000, 80_000, 25_000);
    expect(r.hasSample).toBe(true);
    expect(r.samples).toBe(1);
    expect(r.latest).toBe(80_000);
    expect(r.min).toBe(80_000);
    expect(r.smoothed).toBe(80_000);
    expect(r.rttvar).toBe(40_000);
  });

  it('smooths later samples with 1/8 and 1/4, subtracting a capped ack delay', () => {
    const r = new RttEstimator();
    r.update(0, 100_000, 25_000);
    // ack delay 40 ms is capped to max_ack_delay 25 ms; 150 − 25 = 125 ms ≥ min_rtt + 25 ms.
    r.update(40_000, 150_000, 25_000);
    const adjusted = 125_000;
    expect(r.rttvar).toBeCloseTo(0.75 * 50_000 + 0.25 * Math.abs(100_000 - adjusted), 6);
    expect(r.smoothed).toBeCloseTo(0.875 * 100_000 + 0.125 * adjusted, 6);
    expect(r.min).toBe(100_000);
    expect(r.latest).toBe(150_000);
  });

  it('does not subtract ack delay below min_rtt', () => {
    const r = new RttEstimator();
    r.update(0, 100_000, 25_000);
    // 110 ms − 20 ms would be 90 ms < min_rtt: the raw sample is used.
    r.update(20_000, 110_000, 25_000);
    expect(r.smoothed).toBeCloseTo(0.875 * 100_000 + 0.125 * 110_000, 6);
  });

  it('tracks the minimum and uses the 1 ms granularity floor in the PTO', () => {
    const r = new RttEstimator();
    for (let i = 0; i < 200; i++) r.update(0, 50_000, 0);
    expect(r.min).toBe(50_000);
    expect(r.rttvar).toBeLessThan(1);
    expect(r.pto(0)).toBeCloseTo(50_000 + 1_000, 3);
    r.update(0, 30_000, 0);
    expect(r.min).toBe(30_000);
  });
});
