import { describe, expect, it } from 'vitest';
import { Cubic } from '../../src/congestion/cubic.js';
import { NewReno } from '../../src/congestion/new-reno.js';
import { createController } from '../../src/congestion/controller.js';
import { RttEstimator } from '../../src/recovery/rtt.js';

const MTU = 1000;
const rtt = new RttEstimator();
rtt.update(0, 100_000, 0);

/** Acknowledge one window per 100 ms round, packet by packet, from `from` for `rounds` rounds. */
function rounds(cc: Cubic | NewReno, from: number, n: number, onRound?: (t: number, cwnd: number) => void): number {
  let t = from;
  for (let r = 0; r < n; r++) {
    const pkts = Math.floor(cc.window() / MTU);
    for (let k = 0; k < pkts; k++) {
      const now = t + ((k + 1) * 100_000) / pkts;
      cc.onAck(now, 0, now - 100_000, MTU, false, rtt);
    }
    t += 100_000;
    onRound?.(t, cc.window());
  }
  return t;
}

describe('CUBIC (RFC 9438)', () => {
  it('slow-starts from 10 packets and cuts by β = 0.7 once per recovery period', () => {
    const cc = new Cubic({ mtu: MTU });
    expect(cc.window()).toBe(10 * MTU);
    cc.onAck(1000, 0, 0, MTU, false, rtt);
    expect(cc.window()).toBe(11 * MTU);
    cc.onCongestionEvent(50_000, 10_000, false, MTU);
    expect(cc.window()).toBeCloseTo(7.7 * MTU, 6);
    // A loss of a packet sent before the recovery started: same episode, no second cut.
    cc.onCongestionEvent(60_000, 40_000, false, MTU);
    expect(cc.window()).toBeCloseTo(7.7 * MTU, 6);
    // ACKs of packets sent before recovery do not grow the window.
    cc.onAck(70_000, 0, 45_000, MTU, false, rtt);
    expect(cc.window()).toBeCloseTo(7.7 * MTU, 6);
    // A later loss starts a new episode.
    cc.onCongestionEvent(200_000, 100_000, false, MTU);
    expect(cc.window()).toBeCloseTo(7.7 * 0.7 * MTU, 6);
  });

  it('collapses to the minimum window on persistent congestion', () => {
    const cc = new Cubic({ mtu: MTU });
    cc.onCongestionEvent(1000, 500, true, 5 * MTU);
    expect(cc.window()).toBe(2 * MTU);
  });

  it('does not grow while app-limited', () => {
    const cc = new Cubic({ mtu: MTU });
    cc.onAck(1000, 0, 0, MTU, true, rtt);
    expect(cc.window()).toBe(10 * MTU);
  });

  it('follows W_cubic(t) = C(t − K)³ + W_max one RTT ahead after a loss: concave, plateau at W_max, then convex', () => {
    const cc = new Cubic({ mtu: MTU });
    rounds(cc, 0, 4); // slow start: 10 → 160 packets
    const wMax = cc.window();
    expect(wMax).toBe(160 * MTU);
    const t0 = 400_000;
    cc.onCongestionEvent(t0, t0, false, MTU);
    expect(cc.window()).toBeCloseTo(0.7 * wMax, 6);
    const k = Math.cbrt(((wMax / MTU) * 0.3) / 0.4); // ≈ 4.93 s
    const trace: Array<[number, number]> = [];
    rounds(cc, t0 + 1, 90, (t, w) => trace.push([t, w]));
    // The epoch starts with the first ACK of a packet sent after the loss, one RTT later;
    // each ACK aims at the cubic window one RTT ahead.
    const epoch = t0 + 100_000;
    for (const [t, w] of trace) {
      const s = (t - epoch) / 1e6;
      if (s < 0.5) continue;
      const expected = 0.4 * (s + 0.1 - k) ** 3 * MTU + wMax;
      expect(Math.abs(w / expected - 1)).toBeLessThan(0.03);
    }
    const at = (sec: number): number => (trace.find(([t]) => t - t0 >= sec * 1e6) as [number, number])[1];
    expect(at(k) / wMax).toBeGreaterThan(0.995);
    expect(at(k) / wMax).toBeLessThan(1.005);
    expect(at(1.5) - at(0.5)).toBeGreaterThan(at(4) - at(3)); // concave approach
    expect(at(8.5) - at(7.5)).toBeGreaterThan(at(6) - at(5)); // convex probing
  });
});

describe('NewReno (RFC 9002 §7.3)', () => {
  it('halves on loss and adds one datagram per window in congestion avoidance', () => {
    const cc = new NewReno({ mtu: MTU });
    cc.onCongestionEvent(1000, 500, false, MTU);
    expect(cc.window()).toBe(5 * MTU);
    rounds(cc, 200_000, 3);
    expect(cc.window()).toBe(8 * MTU);
  });

  it('is built by the factory, like the others', () => {
    expect(createController('newreno', { mtu: MTU })).toBeInstanceOf(NewReno);
    expect(createController('cubic', { mtu: MTU })).toBeInstanceOf(Cubic);
    expect(createController('bbr', { mtu: MTU }).pacingRate()).toBeGreaterThan(0);
    expect(() => createController('vegas' as 'bbr', { mtu: MTU })).toThrow(/unknown congestion controller/);
  });
});
