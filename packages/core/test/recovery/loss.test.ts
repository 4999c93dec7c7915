import { describe, expect, it } from 'vitest';
import type { CongestionController } from '../../src/congestion/controller.js';
import { LossRecovery } from '../../src/recovery/loss.js';
import { RttEstimator } from '../../src/recovery/rtt.js';
import { NEVER } from '../../src/time.js';

/** A controller that records what loss recovery tells it. */
class Recorder implements CongestionController {
  events: string[] = [];
  congestion: Array<{ sentTime: number; persistent: boolean; lostBytes: number }> = [];
  cwnd = 1_000_000;
  onSent(_now: number, pn: number, _bytes: number, inflight: number): void {
    this.events.push(`sent ${pn} ${inflight}`);
  }
  onAck(_now: number, pn: number): void {
    this.events.push(`ack ${pn}`);
  }
  onEndAcks(_now: number, inflight: number, _app: boolean, largest: number): void {
    this.events.push(`end ${inflight} ${largest}`);
  }
  onCongestionEvent(_now: number, sentTime: number, persistent: boolean, lostBytes: number): void {
    this.congestion.push({ sentTime, persistent, lostBytes });
    this.events.push(`congestion ${persistent}`);
  }
  onPacketLost(_now: number, pn: number): void {
    this.events.push(`lost ${pn}`);
  }
  onAppLimited(): void {}
  onMtuUpdate(): void {}
  window(): number {
    return this.cwnd;
  }
  pacingRate(): number | null {
    return null;
  }
  metrics(): Record<string, number> {
    return {};
  }
}

const MAX_ACK_DELAY = 25_000;

function setup(maxPtoInterval?: number) {
  const cc = new Recorder();
  const rtt = new RttEstimator();
  const lr = new LossRecovery<string>({ congestion: cc, rtt, maxAckDelay: MAX_ACK_DELAY, ...(maxPtoInterval !== undefined ? { maxPtoInterval } : {}) });
  return { cc, rtt, lr };
}

describe('LossRecovery: ACK processing', () => {
  it('acknowledges ranges, samples the RTT from the largest, and reports to the controller in order', () => {
    const { cc, rtt, lr } = setup();
    for (let pn = 0; pn < 5; pn++) lr.onPacketSent(pn * 1000, pn, 1200, true, true, `p${pn}`);
    expect(lr.bytesInFlight).toBe(6000);
    const { acked, lost } = lr.onAckReceived(104_000, 4, 2_000, [[3, 4], [0, 1]]);
    expect([...acked]).toEqual(['p0', 'p1', 'p3', 'p4']);
    expect([...lost]).toEqual([]);
    expect(rtt.latest).toBe(100_000);
    expect(lr.bytesInFlight).toBe(1200);
    expect(cc.events.filter((e) => !e.startsWith('sent'))).toEqual(['ack 0', 'ack 1', 'ack 3', 'ack 4', 'end 1200 4']);
  });

  it('ignores already-acknowledged, unknown and never-sent packet numbers', () => {
    const { lr, rtt } = setup();
    for (let pn = 0; pn < 3; pn++) lr.onPacketSent(0, pn, 1000, true, true, `p${pn}`);
    expect(lr.onAckReceived(50_000, 1, 0, [[0, 1]]).acked.length).toBe(2);
    const samples = rtt.samples;
    // Repeat: nothing new, no RTT sample, no controller calls.
    expect(lr.onAckReceived(60_000, 1, 0, [[0, 1]]).acked.length).toBe(0);
    expect(rtt.samples).toBe(samples);
    // A range beyond anything sent is clamped and counted.
    expect([...lr.onAckReceived(70_000, 99, 0, [[2, 99]]).acked]).toEqual(['p2']);
    expect(lr.metrics()['ack_of_unsent']).toBe(1);
  });

  it('rejects packet numbers that do not increase', () => {
    const { lr } = setup();
    lr.onPacketSent(0, 5, 100, true, true, 'a');
    expect(() => lr.onPacketSent(0, 5, 100, true, true, 'b')).toThrow(/packet number 5/);
  });

  it('grows its ring past the initial capacity without losing packets', () => {
    const { lr } = setup();
    const n = 5000;
    for (let pn = 0; pn < n; pn++) lr.onPacketSent(pn, pn, 100, true, true, `p${pn}`);
    expect(lr.bytesInFlight).toBe(n * 100);
    const { acked } = lr.onAckReceived(100_000, n - 1, 0, [[0, n - 1]]);
    expect(acked.length).toBe(n);
    expect(acked[0]).toBe('p0');
    expect(acked[n - 1]).toBe(`p${n - 1}`);
    expect(lr.bytesInFlight).toBe(0);
  });
});

describe('LossRecovery: loss detection (RFC 9002 §6.1)', () => {
  it('declares a packet lost when 3 later packets are acknowledged (packet threshold)', () => {
    const { lr, cc } = setup();
    for (let pn = 0; pn < 5; pn++) lr.onPacketSent(0, pn, 1000, true, true, `p${pn}`);
    // Two later packets acknowledged: not yet.
    expect([...lr.onAckReceived(10_000, 2, 0, [[1, 2]]).lost]).toEqual([]);
    // The third (pn 3 = 0 + 3) makes pn 0 lost.
    expect([...lr.onAckReceived(10_100, 3, 0, [[1, 3]]).lost]).toEqual(['p0']);
    expect(cc.events).toContain('lost 0');
    expect(cc.congestion).toEqual([{ sentTime: 0, persistent: false, lostBytes: 1000 }]);
    expect(lr.bytesInFlight).toBe(1000);
  });

  it('declares a packet lost after 9/8 × max(srtt, latest_rtt) (time threshold) via the loss timer', () => {
    const { lr, rtt } = setup();
    lr.onPacketSent(0, 0, 1000, true, true, 'p0');
    lr.onPacketSent(1_000, 1, 1000, true, true, 'p1');
    const r = lr.onAckReceived(101_000, 1, 0, [[1, 1]]);
    expect([...r.lost]).toEqual([]);
    expect(rtt.latest).toBe(100_000);
    // Loss delay = 9/8 × 100 ms = 112.5 ms after p0 was sent.
    expect(lr.timeout()).toBe(112_500);
    expect([...lr.onTimeout(112_499).lost]).toEqual([]);
    expect([...lr.onTimeout(112_500).lost]).toEqual(['p0']);
    expect(lr.timeout()).toBe(NEVER);
    expect(lr.bytesInFlight).toBe(0);
  });

  it('never re-arms the loss timer at or before the instant it fired (float-exact deadlines)', () => {
    const { lr } = setup();
    // Odd times so the 9/8 products are not exact in binary.
    for (let pn = 0; pn < 50; pn++) lr.onPacketSent(pn * 333.3, pn, 1000, true, true, `p${pn}`);
    lr.onAckReceived(77_777.7, 49, 0, [[48, 49]]);
    for (let i = 0; i < 100 && lr.timeout() !== NEVER; i++) {
      const t = lr.timeout();
      lr.onTimeout(t);
      expect(lr.timeout()).toBeGreaterThan(t);
    }
  });
});

describe('LossRecovery: probe timeout (RFC 9002 §6.2)', () => {
  it('arms the PTO from the last ack-eliciting packet, backs off exponentially, and caps at maxPtoInterval', () => {
    const { lr, rtt } = setup(1_000_000);
    lr.onPacketSent(0, 0, 1000, true, true, 'p0');
    lr.onAckReceived(100_000, 0, 0, [[0, 0]]);
    expect(rtt.smoothed).toBe(100_000);
    const base = 100_000 + 4 * 50_000 + MAX_ACK_DELAY; // 325 ms
    expect(lr.ptoPeriod()).toBe(base);

    let t = 200_000;
    lr.onPacketSent(t, 1, 1000, true, true, 'p1');
    expect(lr.timeout()).toBe(t + base);
    const periods: number[] = [];
    for (let i = 0; i < 6; i++) {
      const deadline = lr.timeout();
      expect(lr.onTimeout(deadline - 1).probes).toBe(0); // early: nothing
      const r = lr.onTimeout(deadline);
      expect(r.probes).toBe(2);
      expect([...r.lost]).toEqual([]); // a PTO declares nothing lost
      t = deadline;
      lr.onPacketSent(t, 2 + i, 1000, true, true, `probe${i}`);
      periods.push(lr.timeout() - t);
    }
    // 2×, 4×, then capped at 1 s (3.25 × 4 > 1 s).
    expect(periods).toEqual([2 * base, Math.min(4 * base, 1_000_000), 1_000_000, 1_000_000, 1_000_000, 1_000_000]);
    expect(lr.metrics()['pto_count']).toBe(6);
    // An ACK resets the backoff.
    lr.onAckReceived(t + 10_000, 7, 0, [[7, 7]]);
    expect(lr.ptoPeriod()).toBeLessThan(1_000_000);
    expect(lr.metrics()['pto_count']).toBe(0);
  });

  it('never caps below the base PTO', () => {
    const { lr } = setup(10_000);
    lr.onPacketSent(0, 0, 1000, true, true, 'p0');
    lr.onAckReceived(100_000, 0, 0, [[0, 0]]);
    lr.onPacketSent(100_000, 1, 1000, true, true, 'p1');
    const base = lr.ptoPeriod();
    expect(base).toBeGreaterThan(10_000);
    lr.onTimeout(lr.timeout());
    expect(lr.ptoPeriod()).toBe(base);
  });

  it('keeps moving forward when the caller sends no probe', () => {
    const { lr } = setup();
    lr.onPacketSent(0, 0, 1000, true, true, 'p0');
    let last = 0;
    for (let i = 0; i < 20; i++) {
      const t = lr.timeout();
      expect(t).toBeGreaterThan(last);
      expect(lr.onTimeout(t).probes).toBe(2);
      last = t;
    }
  });

  it('has no timer with nothing ack-eliciting in flight', () => {
    const { lr } = setup();
    lr.onPacketSent(0, 0, 50, false, false, 'ack-only');
    expect(lr.timeout()).toBe(NEVER);
    expect(lr.bytesInFlight).toBe(0);
  });
});

describe('LossRecovery: persistent congestion (RFC 9002 §7.6)', () => {
  const rttSample = (lr: LossRecovery<string>) => {
    lr.onPacketSent(0, 0, 1000, true, true, 'p0');
    lr.onAckReceived(100_000, 0, 0, [[0, 0]]);
  };

  it('is declared when lost ack-eliciting packets span more than 3 × PTO', () => {
    const { lr, cc } = setup();
    rttSample(lr);
    // After the second 100 ms sample: srtt 100 ms, rttvar 37.5 ms, so the period is 825 ms.
    const period = 3 * (100_000 + 4 * 37_500 + MAX_ACK_DELAY);
    // Packets 1..12 sent 100 ms apart (1.1 s span), all lost; 13..15 acknowledged 100 ms after
    // they left, so the RTT estimate (and the period) stays put.
    for (let pn = 1; pn <= 12; pn++) lr.onPacketSent(100_000 * pn, pn, 1000, true, true, `p${pn}`);
    for (let pn = 13; pn <= 15; pn++) lr.onPacketSent(1_300_000, pn, 1000, true, true, `p${pn}`);
    const r = lr.onAckReceived(1_400_000, 15, 0, [[13, 15]]);
    expect(r.lost.length).toBe(12);
    expect(cc.congestion).toHaveLength(1);
    expect(cc.congestion[0]?.persistent).toBe(true);
    expect(1_200_000 - 100_000 > period).toBe(true);
    expect(lr.metrics()['persistent_congestion']).toBe(1);
  });

  it('is not declared when an acknowledged packet breaks the run', () => {
    const { lr, cc } = setup();
    rttSample(lr);
    for (let pn = 1; pn <= 12; pn++) lr.onPacketSent(100_000 * pn, pn, 1000, true, true, `p${pn}`);
    for (let pn = 13; pn <= 15; pn++) lr.onPacketSent(1_300_000, pn, 1000, true, true, `p${pn}`);
    const r = lr.onAckReceived(1_400_000, 15, 0, [[13, 15], [6, 6]]);
    expect(r.lost.length).toBe(11);
    expect(cc.congestion[0]?.persistent).toBe(false);
  });

  it('is not declared for a span shorter than 3 × PTO', () => {
    const { lr, cc } = setup();
    rttSample(lr);
    // 12 lost packets 70 ms apart: a 770 ms span, under the 825 ms period.
    for (let pn = 1; pn <= 12; pn++) lr.onPacketSent(100_000 + 70_000 * pn, pn, 1000, true, true, `p${pn}`);
    for (let pn = 13; pn <= 15; pn++) lr.onPacketSent(1_300_000, pn, 1000, true, true, `p${pn}`);
    expect(lr.onAckReceived(1_400_000, 15, 0, [[13, 15]]).lost.length).toBe(12);
    expect(cc.congestion[0]?.persistent).toBe(false);
  });

  it('ignores packets sent before the first RTT sample', () => {
    const { lr, cc } = setup();
    for (let pn = 0; pn <= 12; pn++) lr.onPacketSent(100_000 * pn, pn, 1000, true, true, `p${pn}`);
    lr.onPacketSent(1_300_000, 13, 1000, true, true, 'p13');
    lr.onPacketSent(1_300_000, 14, 1000, true, true, 'p14');
    lr.onPacketSent(1_300_000, 15, 1000, true, true, 'p15');
    lr.onAckReceived(1_400_000, 15, 0, [[13, 15]]);
    expect(cc.congestion[0]?.persistent).toBe(false);
  });
});

describe('LossRecovery: window and app-limited state', () => {
  it('checks the congestion window and passes app-limited state to the controller', () => {
    const { lr, cc } = setup();
    cc.cwnd = 3000;
    lr.onPacketSent(0, 0, 2000, true, true, 'a');
    expect(lr.canSend(1000)).toBe(true);
    expect(lr.canSend(1001)).toBe(false);
    let seen: boolean | undefined;
    cc.onAck = (_n: number, _pn: number, _s: number, _b: number, app: boolean) => {
      seen = app;
    };
    lr.onAppLimited(10);
    lr.onAckReceived(100_000, 0, 0, [[0, 0]]);
    expect(seen).toBe(true);
    lr.onPacketSent(100_000, 1, 3000, true, true, 'b');
    expect(lr.canSend(1)).toBe(false); // window-limited again
    lr.onAckReceived(200_000, 1, 0, [[1, 1]]);
    expect(seen).toBe(false);
  });
});
